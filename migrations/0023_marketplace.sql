-- 0023: platform administrators and the marketplace (issue 14). Seed 002
-- marketplace_listings, marketplace_installs, marketplace_reviews.
--
-- Platform administrators are the operator's staff, not members of any
-- organization role: they review marketplace listings and read operational
-- endpoints. They are granted from the command line (agentbase admin grant),
-- which runs as the owner; the app role reads nothing of platform_admins but
-- the one boolean platform_admin_check() answers.
--
-- Their actions are audited in platform_audit, not in audit_logs: the audit
-- log is one hash chain per organization, and granting staff rights belongs
-- to no organization (an admin may be a member of several, or of none that
-- matters). platform_audit is its own append-only chain, hashed by the
-- database itself (a trigger), so the CLI (owner role) and the service (app
-- role) append to one chain without sharing code. A review of a listing also
-- writes an audit row into the listing organization's own chain, so the
-- publisher sees the decision in its audit log.

-- -------------------------------------------------------- platform admins
CREATE TABLE platform_admins (
  user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  granted_at timestamptz NOT NULL DEFAULT now(),
  -- who granted it, as the CLI knows them (the operating-system user, or what --by said)
  granted_by text NOT NULL CHECK (length(btrim(granted_by)) > 0 AND length(granted_by) <= 255),
  note text CHECK (length(note) <= 1000)
);
-- Not a tenant table: no org_id. The app role has no privilege on it at all;
-- agentbase_auth may read user_id, and only through platform_admin_check().
ALTER TABLE platform_admins ENABLE ROW LEVEL SECURITY;
CREATE POLICY admin_check ON platform_admins FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT (user_id) ON platform_admins TO agentbase_auth;

-- Whether a user is a platform administrator; the only read of
-- platform_admins the service has (as plan_share_find in 0018).
CREATE FUNCTION platform_admin_check(p_user_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM platform_admins WHERE user_id = p_user_id)
$$;
ALTER FUNCTION platform_admin_check(uuid) OWNER TO agentbase_auth;
REVOKE ALL ON FUNCTION platform_admin_check(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_admin_check(uuid) TO agentbase_app;

-- --------------------------------------------------------- platform audit
-- Row n stores hash = SHA-256(prev_hash || '\n' || canonical content of row n),
-- computed by the trigger below from the row as stored; writers serialize on
-- the single platform_audit_head row, so the chain cannot fork.
CREATE TABLE platform_audit (
  seq bigint PRIMARY KEY CHECK (seq > 0),
  id uuid NOT NULL UNIQUE,
  -- 'cli:<name>' for the command line, 'user:<uuid>' for a platform admin over the API
  actor varchar(300) NOT NULL,
  actor_user_id uuid,
  action varchar(100) NOT NULL,
  resource_type varchar(100) NOT NULL,
  resource_id varchar(255),
  -- the organization the action touched, if any (a listing's publisher). Not
  -- named org_id: this is the operator's table, not tenant data, and the app
  -- role may only append to it (no SELECT), so it carries no tenant policy.
  subject_org_id uuid,
  details jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
  prev_hash char(64) NOT NULL,
  hash char(64) NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX idx_platform_audit_action ON platform_audit (action, created_at DESC);
CREATE INDEX idx_platform_audit_resource ON platform_audit (resource_type, resource_id);

CREATE TABLE platform_audit_head (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  seq bigint NOT NULL DEFAULT 0,
  last_hash char(64) NOT NULL DEFAULT repeat('0', 64)
);
INSERT INTO platform_audit_head DEFAULT VALUES;

-- The canonical content of a row: a jsonb object (its text form is
-- deterministic: keys sorted) with the time in UTC whatever the session zone.
CREATE FUNCTION platform_audit_hash(p_prev text, p platform_audit) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(p_prev || E'\n' || jsonb_build_object(
    'seq', p.seq, 'id', p.id, 'actor', p.actor, 'actorUserId', p.actor_user_id, 'action', p.action,
    'resourceType', p.resource_type, 'resourceId', p.resource_id, 'orgId', p.subject_org_id, 'details', p.details,
    'createdAt', to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, 'UTF8')), 'hex')
$$;

-- SECURITY DEFINER: the app role may insert rows but holds nothing on the head.
CREATE FUNCTION platform_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  prev text;
BEGIN
  UPDATE platform_audit_head SET seq = seq + 1 RETURNING seq, last_hash INTO NEW.seq, prev;
  NEW.created_at := clock_timestamp();
  NEW.prev_hash := prev;
  NEW.hash := platform_audit_hash(prev, NEW);
  UPDATE platform_audit_head SET last_hash = NEW.hash;
  RETURN NEW;
END $$;
CREATE TRIGGER platform_audit_chain BEFORE INSERT ON platform_audit
  FOR EACH ROW EXECUTE FUNCTION platform_audit_chain();

-- Append-only for everyone, owner included (as audit_logs, 0003).
CREATE FUNCTION platform_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'platform_audit is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER platform_audit_append_only BEFORE UPDATE OR DELETE ON platform_audit
  FOR EACH ROW EXECUTE FUNCTION platform_audit_append_only();
CREATE TRIGGER platform_audit_no_truncate BEFORE TRUNCATE ON platform_audit
  FOR EACH STATEMENT EXECUTE FUNCTION platform_audit_append_only();

-- The first row whose hash or link does not hold (NULL: the chain is intact).
CREATE FUNCTION platform_audit_first_break() RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT min(seq) FROM (
    SELECT p.seq, p.hash, p.prev_hash,
      lag(p.hash, 1, repeat('0', 64)::bpchar) OVER (ORDER BY p.seq) AS expected_prev,
      row_number() OVER (ORDER BY p.seq) AS n,
      platform_audit_hash(p.prev_hash, p) AS recomputed
    FROM platform_audit p
  ) x WHERE x.seq <> x.n OR x.prev_hash <> x.expected_prev OR x.hash <> x.recomputed
$$;

-- The app role appends (a listing review), never reads or changes.
GRANT INSERT (id, actor, actor_user_id, action, resource_type, resource_id, subject_org_id, details) ON platform_audit TO agentbase_app;

-- ------------------------------------------------------------ listings
-- The words of the tags, for the search vector (array_to_string is only STABLE).
CREATE FUNCTION marketplace_tags_text(p_tags text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(array_to_string(p_tags, ' '), '') $$;

-- Seed 002 marketplace_listings. Reconciled: org_id (seed organization_id);
-- a listing publishes one immutable agent version (agent_version_id) and
-- keeps what it publishes as `config` (the version's configuration with
-- secret references stripped, see src/platform/marketplace/strip-secrets.ts),
-- so installs never read the publisher's tables. Seed price_usd DECIMAL is
-- price_cents (integer cents, no float) plus price_usd generated from it.
-- rating_average is generated from rating_sum / rating_count, which the
-- review triggers keep exact. status 'pending_review' is the seed's name.
CREATE TABLE marketplace_listings (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  agent_version_id uuid NOT NULL REFERENCES agent_versions (id),
  -- the semver of agent_version_id; an install publishes its clone under the same number
  agent_version varchar(50) NOT NULL,
  slug varchar(100) NOT NULL CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$'),
  title varchar(255) NOT NULL CHECK (length(btrim(title)) > 0),
  short_description varchar(500) NOT NULL CHECK (length(btrim(short_description)) > 0),
  long_description text CHECK (length(long_description) <= 20000),
  category varchar(100) NOT NULL CHECK (category ~ '^[a-z0-9][a-z0-9_-]{0,99}$'),
  tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
  icon_url text CHECK (length(icon_url) <= 2000),
  screenshots text[] NOT NULL DEFAULT '{}' CHECK (cardinality(screenshots) <= 10),
  demo_video_url text CHECK (length(demo_video_url) <= 2000),
  pricing_model varchar(50) NOT NULL DEFAULT 'free' CHECK (pricing_model IN ('free', 'one_time', 'subscription', 'usage_based')),
  price_cents integer CHECK (price_cents > 0 AND price_cents <= 100000000),
  price_usd numeric(10, 2) GENERATED ALWAYS AS (price_cents / 100.0) STORED,
  -- what an install clones: the version's configuration, secrets stripped
  config jsonb NOT NULL CHECK (jsonb_typeof(config) = 'object'),
  -- where secrets and credentials were removed from config (paths such as tools[0].config.headers.Authorization)
  stripped_secrets jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(stripped_secrets) = 'array'),
  -- what browsing shows of the tools: [{name, description, toolType}]
  tool_summary jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tool_summary) = 'array'),
  install_count integer NOT NULL DEFAULT 0 CHECK (install_count >= 0),
  rating_sum bigint NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
  rating_count integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
  rating_average numeric(3, 2) GENERATED ALWAYS AS (
    CASE WHEN rating_count = 0 THEN 0 ELSE round(rating_sum::numeric / rating_count, 2) END
  ) STORED,
  status varchar(50) NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'pending_review', 'approved', 'rejected', 'suspended')),
  -- the reviewer's reason for the last decision
  review_notes text CHECK (length(review_notes) <= 5000),
  submitted_at timestamptz,
  reviewed_at timestamptz,
  reviewed_by uuid REFERENCES users (id) ON DELETE SET NULL,
  is_featured boolean NOT NULL DEFAULT false,
  featured_at timestamptz,
  search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A')
    || setweight(to_tsvector('english', short_description || ' ' || marketplace_tags_text(tags)), 'B')
    || setweight(to_tsvector('english', coalesce(long_description, '')), 'C')
  ) STORED,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- first approval
  published_at timestamptz,
  deleted_at timestamptz,
  CONSTRAINT marketplace_listings_price CHECK ((pricing_model = 'free') = (price_cents IS NULL)),
  CONSTRAINT marketplace_listings_published CHECK (status <> 'approved' OR published_at IS NOT NULL)
);
-- The organization's own listings (GET /v1/marketplace/listings), keyset newest first.
CREATE INDEX idx_marketplace_listings_org ON marketplace_listings (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_marketplace_listings_agent ON marketplace_listings (org_id, agent_id);
-- The marketplace's namespace is global: one live listing per slug across
-- organizations (under Citus this table would be a reference table).
CREATE UNIQUE INDEX idx_marketplace_listings_slug ON marketplace_listings (slug) WHERE deleted_at IS NULL;
-- Browsing is the one deliberate cross-tenant read (marketplace_browse
-- below), so these lead with what it filters on, not org_id. Seed
-- idx_marketplace_listings_category / _status / _rating:
CREATE INDEX idx_marketplace_listings_category ON marketplace_listings (category, published_at DESC, id DESC)
  WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX idx_marketplace_listings_status ON marketplace_listings (status, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX idx_marketplace_listings_rating ON marketplace_listings (rating_average DESC)
  WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX idx_marketplace_listings_published ON marketplace_listings (published_at DESC, id DESC)
  WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX idx_marketplace_listings_search ON marketplace_listings USING gin (search_vector)
  WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX idx_marketplace_listings_tags ON marketplace_listings USING gin (tags)
  WHERE status = 'approved' AND deleted_at IS NULL;

-- -------------------------------------------------------------- installs
-- Seed 002 marketplace_installs. installed_by is nullable (the seed's
-- NOT NULL … ON DELETE SET NULL contradicts itself). unique_install_per_org
-- leads with org_id; it also serves seed idx_marketplace_installs_organization_id.
CREATE TABLE marketplace_installs (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  listing_id uuid NOT NULL REFERENCES marketplace_listings (id) ON DELETE CASCADE,
  installed_by uuid REFERENCES users (id) ON DELETE SET NULL,
  cloned_agent_id uuid REFERENCES agents (id) ON DELETE SET NULL,
  -- what was installed: the listing's agent version and price at the time
  agent_version varchar(50) NOT NULL,
  price_cents integer,
  installed_at timestamptz NOT NULL DEFAULT now(),
  uninstalled_at timestamptz,
  CONSTRAINT unique_install_per_org UNIQUE (org_id, listing_id)
);
-- seed idx_marketplace_installs_listing_id: the listing's cascade path
CREATE INDEX idx_marketplace_installs_listing_id ON marketplace_installs (listing_id);
CREATE INDEX idx_marketplace_installs_installed ON marketplace_installs (org_id, installed_at DESC, id DESC);

-- --------------------------------------------------------------- reviews
-- Seed 002 marketplace_reviews. One review per organization and listing
-- (seed: per user): an organization installs, so an organization reviews;
-- a second review from it replaces its first. user_id is nullable (seed's
-- NOT NULL … ON DELETE SET NULL again).
CREATE TABLE marketplace_reviews (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  listing_id uuid NOT NULL REFERENCES marketplace_listings (id) ON DELETE CASCADE,
  user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  rating smallint NOT NULL CHECK (rating >= 1 AND rating <= 5),
  title varchar(255),
  body text CHECK (length(body) <= 5000),
  is_verified_install boolean NOT NULL DEFAULT false,
  is_hidden boolean NOT NULL DEFAULT false,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT unique_review_per_org UNIQUE (org_id, listing_id)
);
-- seed idx_marketplace_reviews_listing_id: a listing's reviews, newest first (public read)
CREATE INDEX idx_marketplace_reviews_listing_id ON marketplace_reviews (listing_id, created_at DESC, id DESC) WHERE NOT is_hidden;
-- seed idx_marketplace_reviews_rating
CREATE INDEX idx_marketplace_reviews_rating ON marketplace_reviews (org_id, rating);

-- ---------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT, UPDATE ON marketplace_listings TO agentbase_app;
GRANT SELECT, INSERT, UPDATE ON marketplace_installs TO agentbase_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON marketplace_reviews TO agentbase_app;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['marketplace_listings', 'marketplace_installs', 'marketplace_reviews'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

-- ------------------------------------------------- counters across tenants
-- An install or review is written in the installer's tenant; the counters
-- live on the publisher's listing. These triggers run as agentbase_auth,
-- whose policy and column grants allow exactly the counter updates. Each is
-- an increment under the listing's row lock, so concurrent reviews and
-- installs add up exactly (a recount would miss rows not yet committed).
CREATE POLICY counters ON marketplace_listings FOR UPDATE TO agentbase_auth USING (true) WITH CHECK (true);
GRANT UPDATE (install_count, rating_sum, rating_count) ON marketplace_listings TO agentbase_auth;

CREATE FUNCTION marketplace_install_count() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE marketplace_listings SET install_count = install_count + 1 WHERE id = NEW.listing_id;
  RETURN NULL;
END $$;
ALTER FUNCTION marketplace_install_count() OWNER TO agentbase_auth;
CREATE TRIGGER marketplace_install_count AFTER INSERT ON marketplace_installs
  FOR EACH ROW EXECUTE FUNCTION marketplace_install_count();

-- A hidden review counts for nothing; a review moves its rating in and out.
CREATE FUNCTION marketplace_review_stats() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.is_hidden THEN
    UPDATE marketplace_listings SET rating_sum = rating_sum - OLD.rating, rating_count = rating_count - 1 WHERE id = OLD.listing_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NOT NEW.is_hidden THEN
    UPDATE marketplace_listings SET rating_sum = rating_sum + NEW.rating, rating_count = rating_count + 1 WHERE id = NEW.listing_id;
  END IF;
  RETURN NULL;
END $$;
ALTER FUNCTION marketplace_review_stats() OWNER TO agentbase_auth;
CREATE TRIGGER marketplace_review_stats AFTER INSERT OR UPDATE OF rating, is_hidden, listing_id OR DELETE ON marketplace_reviews
  FOR EACH ROW EXECUTE FUNCTION marketplace_review_stats();

-- ----------------------------------------------------- the cross-tenant reads
-- Browsing, reading, installing and reviewing across organizations, and the
-- admins' queue, go through SECURITY DEFINER functions owned by
-- agentbase_auth (the pattern of 0016/0019: under RLS the GIN indexes are
-- unusable for the app role, as @@ and @> are not leakproof). Its policy
-- reads every listing, but its column grants stop at the listing's own
-- fields: no prompt or tool configuration is readable except `config`, which
-- only the install and admin-review functions return. Each function filters
-- by status itself; none returns org_id.
CREATE POLICY marketplace_read ON marketplace_listings FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT (id, org_id, slug, title, short_description, long_description, category, tags, icon_url, screenshots, rating_sum,
  demo_video_url, pricing_model, price_cents, price_usd, agent_version, tool_summary, config, stripped_secrets, install_count, rating_average,
  rating_count, status, review_notes, submitted_at, reviewed_at, is_featured, published_at, created_at, updated_at,
  deleted_at, search_vector) ON marketplace_listings TO agentbase_auth;
CREATE POLICY marketplace_read ON marketplace_reviews FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT (id, listing_id, rating, title, body, is_verified_install, is_hidden, created_at, updated_at) ON marketplace_reviews TO agentbase_auth;

-- The approved listings matching the filters, a page at a time. With a query:
-- best match first (ts_rank, then id), keyset (rank, id); without: newest
-- first, keyset (published_at, id). EXECUTE … USING: nothing interpolated.
CREATE FUNCTION marketplace_browse(p_query text, p_category text, p_tag text, p_after_rank real,
                                   p_after_published timestamptz, p_after_id uuid, p_limit integer)
RETURNS TABLE (id uuid, slug text, title text, short_description text, long_description text, category text,
               tags text[], icon_url text, screenshots text[], demo_video_url text, pricing_model text,
               price_cents integer, agent_version text, tool_summary jsonb, install_count integer,
               rating_average numeric, rating_count integer, is_featured boolean, published_at timestamptz,
               updated_at timestamptz, rank real)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  RETURN QUERY EXECUTE
    'SELECT * FROM (SELECT l.id, l.slug::text, l.title::text, l.short_description::text, l.long_description, l.category::text,
            l.tags, l.icon_url, l.screenshots, l.demo_video_url, l.pricing_model::text, l.price_cents, l.agent_version::text,
            l.tool_summary, l.install_count, l.rating_average, l.rating_count, l.is_featured, l.published_at, l.updated_at, '
    || CASE WHEN p_query IS NULL THEN '0::real' ELSE 'ts_rank(l.search_vector, websearch_to_tsquery(''english'', $1))' END
    || ' AS rank FROM marketplace_listings l WHERE l.status = ''approved'' AND l.deleted_at IS NULL'
    || CASE WHEN p_query IS NULL THEN '' ELSE ' AND l.search_vector @@ websearch_to_tsquery(''english'', $1)' END
    || CASE WHEN p_category IS NULL THEN '' ELSE ' AND l.category = $2' END
    || CASE WHEN p_tag IS NULL THEN '' ELSE ' AND l.tags @> ARRAY[$3]' END
    || ') s'
    || CASE
         WHEN p_after_id IS NULL THEN ''
         WHEN p_query IS NULL THEN ' WHERE (s.published_at, s.id) < ($5, $6)'
         ELSE ' WHERE (s.rank < $4 OR (s.rank = $4 AND s.id > $6))' END
    || CASE WHEN p_query IS NULL THEN ' ORDER BY s.published_at DESC, s.id DESC' ELSE ' ORDER BY s.rank DESC, s.id' END
    || ' LIMIT $7'
    USING p_query, p_category, p_tag, p_after_rank, p_after_published, p_after_id, p_limit;
END $$;

-- One approved listing by id or slug (the same fields as browsing).
CREATE FUNCTION marketplace_listing_public(p_id uuid, p_slug text)
RETURNS TABLE (id uuid, slug text, title text, short_description text, long_description text, category text,
               tags text[], icon_url text, screenshots text[], demo_video_url text, pricing_model text,
               price_cents integer, agent_version text, tool_summary jsonb, install_count integer,
               rating_average numeric, rating_count integer, is_featured boolean, published_at timestamptz,
               updated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT l.id, l.slug, l.title, l.short_description, l.long_description, l.category, l.tags, l.icon_url, l.screenshots,
         l.demo_video_url, l.pricing_model, l.price_cents, l.agent_version, l.tool_summary, l.install_count,
         l.rating_average, l.rating_count, l.is_featured, l.published_at, l.updated_at
  FROM marketplace_listings l
  WHERE l.status = 'approved' AND l.deleted_at IS NULL
    AND ((p_id IS NOT NULL AND l.id = p_id) OR (p_slug IS NOT NULL AND l.slug = p_slug))
  LIMIT 1
$$;

-- What an install clones from an approved listing, and whether the caller's
-- organization (the transaction's tenant) is its publisher.
CREATE FUNCTION marketplace_install_source(p_id uuid)
RETURNS TABLE (id uuid, slug text, title text, agent_version text, config jsonb, stripped_secrets jsonb,
               pricing_model text, price_cents integer, own boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT l.id, l.slug, l.title, l.agent_version, l.config, l.stripped_secrets, l.pricing_model, l.price_cents,
         l.org_id IS NOT DISTINCT FROM app_current_org()
  FROM marketplace_listings l
  WHERE l.id = p_id AND l.status = 'approved' AND l.deleted_at IS NULL
$$;

-- A listing's visible reviews, newest first, without who wrote them.
CREATE FUNCTION marketplace_listing_reviews(p_listing uuid, p_after_created timestamptz, p_after_id uuid, p_limit integer)
RETURNS TABLE (id uuid, rating smallint, title text, body text, is_verified_install boolean,
               created_at timestamptz, updated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.id, r.rating, r.title, r.body, r.is_verified_install, r.created_at, r.updated_at
  FROM marketplace_reviews r
  WHERE r.listing_id = p_listing AND NOT r.is_hidden
    AND (p_after_id IS NULL OR (r.created_at, r.id) < (p_after_created, p_after_id))
  ORDER BY r.created_at DESC, r.id DESC
  LIMIT p_limit
$$;

-- The platform admins' review queue: listings in one status, oldest first,
-- with what they would publish (config) but nothing of the organization.
-- The service calls it only for a platform admin (src/platform/admins).
CREATE FUNCTION marketplace_admin_listings(p_status text, p_after_created timestamptz, p_after_id uuid, p_limit integer)
RETURNS TABLE (id uuid, slug text, title text, short_description text, long_description text, category text,
               tags text[], icon_url text, screenshots text[], demo_video_url text, pricing_model text,
               price_cents integer, agent_version text, tool_summary jsonb, config jsonb, status text,
               review_notes text, submitted_at timestamptz, reviewed_at timestamptz, published_at timestamptz,
               created_at timestamptz, updated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT l.id, l.slug, l.title, l.short_description, l.long_description, l.category, l.tags, l.icon_url, l.screenshots,
         l.demo_video_url, l.pricing_model, l.price_cents, l.agent_version, l.tool_summary, l.config, l.status,
         l.review_notes, l.submitted_at, l.reviewed_at, l.published_at, l.created_at, l.updated_at
  FROM marketplace_listings l
  WHERE l.status = p_status AND l.deleted_at IS NULL
    AND (p_after_id IS NULL OR (l.created_at, l.id) > (p_after_created, p_after_id))
  ORDER BY l.created_at, l.id
  LIMIT p_limit
$$;

-- The publisher of a live listing: a platform admin's review then runs in
-- that organization's tenant, under its RLS, like any change of its rows.
CREATE FUNCTION marketplace_listing_org(p_id uuid) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT l.org_id FROM marketplace_listings l WHERE l.id = p_id AND l.deleted_at IS NULL
$$;

DO $$
DECLARE f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['marketplace_browse(text, text, text, real, timestamptz, uuid, integer)',
                           'marketplace_listing_public(uuid, text)', 'marketplace_install_source(uuid)',
                           'marketplace_listing_reviews(uuid, timestamptz, uuid, integer)',
                           'marketplace_admin_listings(text, timestamptz, uuid, integer)',
                           'marketplace_listing_org(uuid)'] LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO agentbase_auth', f);
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO agentbase_app', f);
  END LOOP;
END $$;

-- ---------------------------------------------------------------- permissions
INSERT INTO permissions (resource, action, description) VALUES
  ('marketplace', 'read', 'Browse and search the marketplace, read its listings and reviews, and the organization''s own listings and installs'),
  ('marketplace', 'write', 'Publish, edit, submit and delete the organization''s listings; install listings; review installed listings');
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
  (r.name = 'viewer' AND (p.resource, p.action) IN (('marketplace', 'read')))
  OR (r.name = 'member' AND (p.resource, p.action) IN (('marketplace', 'write')))
WHERE r.org_id IS NULL;
