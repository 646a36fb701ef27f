-- 0026: the query cache (issue 15; seed 004 query_cache). A read-through cache
-- of expensive reads (cost reports, the marketplace catalogue, campaign
-- templates) in PostgreSQL, per organization, invalidated by tag in the same
-- transaction as the write that changes the data (src/cache).
--
-- Why the invalidation markers: a reader that missed computes from its
-- snapshot and stores the answer; a writer committing between that snapshot
-- and the store would leave a stale entry behind the writer's DELETE. So every
-- invalidation also records its transaction id (query_cache_invalidations), and
-- an entry remembers the snapshot it was computed under: a hit whose tags were
-- invalidated by a transaction its snapshot could not see is a miss. The
-- writer's DELETE keeps the table small; the markers make it exact. Markers
-- are inserted, never updated, so concurrent writers of one organization never
-- wait on each other.

-- ---------------------------------------------------------------- entries
CREATE TABLE query_cache (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  -- the key as text (namespace:stable JSON of the parameters), cut to 255
  -- characters as in seed 004; cache_key_hash (SHA-256 of the whole key) is the identity
  cache_key varchar(255) NOT NULL,
  cache_key_hash varchar(64) NOT NULL CHECK (cache_key_hash ~ '^[0-9a-f]{64}$'),
  cached_data jsonb NOT NULL,
  -- bytes of cached_data's JSON text, what the size cap counts
  data_size integer NOT NULL CHECK (data_size >= 0),
  -- SHA-256 of the namespace (which read this is, e.g. runs.costs)
  query_hash varchar(64),
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  tags text[] NOT NULL DEFAULT '{}',
  -- the snapshot the answer was computed under (see above)
  snapshot pg_snapshot NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  last_accessed timestamptz NOT NULL DEFAULT now(),
  access_count integer NOT NULL DEFAULT 1,
  generation_time_ms integer NOT NULL CHECK (generation_time_ms >= 0),
  hit_count integer NOT NULL DEFAULT 0,
  CONSTRAINT query_cache_key UNIQUE (org_id, cache_key_hash)
);
-- seed 004 idx_query_cache_key_hash is the unique key above (per tenant)
CREATE INDEX idx_query_cache_expires_at ON query_cache (expires_at);
CREATE INDEX idx_query_cache_tags ON query_cache USING gin (tags);
CREATE INDEX idx_query_cache_user_id ON query_cache (user_id) WHERE user_id IS NOT NULL;
-- LRU eviction walks this, newest first
CREATE INDEX idx_query_cache_last_accessed ON query_cache (last_accessed);

-- ---------------------------------------------------------------- invalidations
-- org_id NULL: an invalidation of every organization's entries with these tags
-- (the marketplace catalogue lists every organization's approved listings).
CREATE TABLE query_cache_invalidations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
  tags text[] NOT NULL CHECK (cardinality(tags) >= 1),
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_query_cache_invalidations_org ON query_cache_invalidations (org_id, xid);

-- ---------------------------------------------------------------- hit ratio
-- Hits and misses per organization and UTC day, folded in memory by the
-- service and added here about once a second (never a write per read).
CREATE TABLE query_cache_stats (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  day date NOT NULL,
  hits bigint NOT NULL DEFAULT 0,
  misses bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, day)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON query_cache TO agentbase_app;
GRANT SELECT, INSERT ON query_cache_invalidations TO agentbase_app;
GRANT SELECT, INSERT, UPDATE ON query_cache_stats TO agentbase_app;

ALTER TABLE query_cache ENABLE ROW LEVEL SECURITY;
ALTER TABLE query_cache FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON query_cache TO agentbase_app
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());

ALTER TABLE query_cache_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE query_cache_stats FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON query_cache_stats TO agentbase_app
  USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());

-- A tenant sees (and may write) its own markers and the global ones: a global
-- marker carries no data, only tags, and at worst costs other tenants a miss.
ALTER TABLE query_cache_invalidations ENABLE ROW LEVEL SECURITY;
ALTER TABLE query_cache_invalidations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON query_cache_invalidations TO agentbase_app
  USING (org_id = app_current_org() OR org_id IS NULL)
  WITH CHECK (org_id = app_current_org() OR (org_id IS NULL AND app_current_org() IS NOT NULL));
