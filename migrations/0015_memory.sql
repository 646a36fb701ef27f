-- 0015: memory and knowledge (issue 12). Seeds 001 agent_memory/agent_learnings,
-- 002 agent_memories, 003 knowledge_items/knowledge_transfers/patterns/
-- pattern_metrics/learning_sessions/knowledge_metrics/pattern_usage, reconciled
-- (docs/schema.md, "Migration 0015").
--
-- Vectors are a capability, not a requirement: a PostgreSQL without pgvector
-- still stores and searches memories by full text. So the `embedding` columns
-- are not created here: memory_enable_vectors() adds them (and the extension)
-- when pgvector is installed; the service calls it at start-up, so a server
-- that gains pgvector later gains vector search at its next start. Everything
-- else about an embedding (its model and dimensions) is plain columns.
--
-- Embedding spaces: several embedding models may coexist in one table. A row's
-- vector is compared only with vectors of the same (embedding_model,
-- embedding_dims); each space gets its own partial HNSW index over
-- `embedding::vector(N)` (halfvec(N) above 2,000 dimensions, HNSW's limit for
-- vector), made by memory_ensure_vector_index() the first time a space is used.

-- ------------------------------------------------------------ memory_configs
-- How an organization's memories are embedded and ranked; a row with an
-- agent_id overrides the organization's row (agent_id NULL) for that agent.
-- Only the fields set on the override apply; the rest come from the org row,
-- then from the service's defaults.
CREATE TABLE memory_configs (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  agent_id uuid REFERENCES agents (id) ON DELETE CASCADE,
  embedder varchar(20) CHECK (embedder IN ('bundled', 'openai', 'hashed', 'none')),
  embedding_model varchar(200) CHECK (length(embedding_model) > 0),
  embedding_dims integer CHECK (embedding_dims BETWEEN 1 AND 4000),
  base_url text CHECK (length(base_url) <= 2000),
  secret_name varchar(100),
  recency_half_life_days real CHECK (recency_half_life_days > 0),
  inject_token_budget integer CHECK (inject_token_budget BETWEEN 0 AND 100000),
  extract_after_run boolean,
  dedupe_threshold real CHECK (dedupe_threshold > 0 AND dedupe_threshold <= 1),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX unique_memory_config_org ON memory_configs (org_id) WHERE agent_id IS NULL;
CREATE UNIQUE INDEX unique_memory_config_agent ON memory_configs (org_id, agent_id) WHERE agent_id IS NOT NULL;
CREATE TRIGGER memory_configs_versioned BEFORE UPDATE ON memory_configs
  FOR EACH ROW EXECUTE FUNCTION touch_versioned();

-- ----------------------------------------------------------- knowledge_items
-- Seed 003 REQ-T114. content is a JSON object with at least a title; the
-- search vector covers title and description (as the seed's). version is the
-- optimistic lock: an update names the version it read.
CREATE TABLE knowledge_items (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  domain varchar(100) NOT NULL CHECK (length(btrim(domain)) > 0),
  content jsonb NOT NULL CHECK (jsonb_typeof(content) = 'object' AND jsonb_typeof(content -> 'title') = 'string'),
  source_agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  confidence numeric(3, 2) CHECK (confidence >= 0 AND confidence <= 1),
  tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
  embedding_model varchar(200),
  embedding_dims integer CHECK (embedding_dims BETWEEN 1 AND 4000),
  embedded_at timestamptz,
  version integer NOT NULL DEFAULT 1,
  search_vector tsvector GENERATED ALWAYS AS (
    to_tsvector('english', coalesce(content ->> 'title', '') || ' ' || coalesce(content ->> 'description', ''))
  ) STORED,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  CHECK ((embedding_model IS NULL) = (embedding_dims IS NULL))
);
CREATE INDEX idx_knowledge_domain ON knowledge_items (org_id, domain) WHERE deleted_at IS NULL;
CREATE INDEX idx_knowledge_source_agent ON knowledge_items (org_id, source_agent_id) WHERE deleted_at IS NULL;
CREATE INDEX idx_knowledge_tags ON knowledge_items USING gin (tags);
CREATE INDEX idx_knowledge_search ON knowledge_items USING gin (search_vector);
CREATE INDEX idx_knowledge_content ON knowledge_items USING gin (content jsonb_path_ops);
CREATE INDEX idx_knowledge_org_created ON knowledge_items (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- ------------------------------------------------------------ agent_memories
-- Seeds 001 agent_memory and 002 agent_memories. memory_id (001) is id.
-- relevance_decay (001) scales how fast the row's recency factor decays: 1
-- decays at the agent's half-life, 0 never, 2 twice as fast. A PATCH of the
-- content supersedes: a new row is written and the old one gets superseded_by
-- and superseded_at (hidden from search, kept for history). knowledge_id marks
-- a memory made by a knowledge transfer.
CREATE TABLE agent_memories (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  session_id uuid REFERENCES user_sessions (id) ON DELETE SET NULL,
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  execution_id uuid,
  knowledge_id uuid REFERENCES knowledge_items (id) ON DELETE CASCADE,
  memory_type varchar(20) NOT NULL DEFAULT 'conversation'
    CHECK (memory_type IN ('conversation', 'fact', 'preference', 'task', 'learning', 'insight')),
  content text NOT NULL CHECK (length(content) BETWEEN 1 AND 32768),
  context jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(context) = 'object'),
  tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
  metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  importance_score real NOT NULL DEFAULT 0.5 CHECK (importance_score >= 0 AND importance_score <= 1),
  relevance_decay real NOT NULL DEFAULT 1.0 CHECK (relevance_decay >= 0 AND relevance_decay <= 100),
  access_count integer NOT NULL DEFAULT 0 CHECK (access_count >= 0),
  last_accessed_at timestamptz,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  superseded_by uuid REFERENCES agent_memories (id) ON DELETE SET NULL,
  superseded_at timestamptz,
  embedding_model varchar(200),
  embedding_dims integer CHECK (embedding_dims BETWEEN 1 AND 4000),
  search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((embedding_model IS NULL) = (embedding_dims IS NULL))
);
-- The seeds' two composites (001), org-scoped; the live filter is part of each.
CREATE INDEX idx_agent_memories_agent_type_importance
  ON agent_memories (org_id, agent_id, memory_type, importance_score DESC) WHERE superseded_at IS NULL;
CREATE INDEX idx_agent_memories_session_created ON agent_memories (session_id, created_at) WHERE session_id IS NOT NULL;
-- Listing an agent's memories newest first (cursor pagination).
CREATE INDEX idx_agent_memories_agent_created ON agent_memories (org_id, agent_id, created_at DESC, id DESC);
CREATE INDEX idx_agent_memories_search ON agent_memories USING gin (search_vector) WHERE superseded_at IS NULL;
CREATE INDEX idx_agent_memories_tags ON agent_memories USING gin (tags) WHERE cardinality(tags) > 0;
CREATE INDEX idx_agent_memories_expires ON agent_memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX idx_agent_memories_user ON agent_memories (org_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX idx_agent_memories_knowledge ON agent_memories (knowledge_id) WHERE knowledge_id IS NOT NULL;
-- Re-embedding finds the rows not yet in the target space.
CREATE INDEX idx_agent_memories_space ON agent_memories (org_id, agent_id, embedding_model, embedding_dims);

-- ------------------------------------------------------- knowledge_transfers
-- Seed 003 REQ-T115. A successful transfer puts the item into the target
-- agent's memory (agent_memories.knowledge_id); a failed one records why.
CREATE TABLE knowledge_transfers (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  knowledge_id uuid NOT NULL REFERENCES knowledge_items (id) ON DELETE CASCADE,
  source_agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  target_agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  transfer_method varchar(50) NOT NULL CHECK (transfer_method IN ('direct', 'adaptive', 'gradual', 'copy')),
  success boolean NOT NULL DEFAULT false,
  error_message text,
  memory_id uuid REFERENCES agent_memories (id) ON DELETE SET NULL,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_knowledge_transfers_knowledge ON knowledge_transfers (knowledge_id);
CREATE INDEX idx_knowledge_transfers_source ON knowledge_transfers (source_agent_id);
CREATE INDEX idx_knowledge_transfers_target ON knowledge_transfers (target_agent_id);
CREATE INDEX idx_knowledge_transfers_created_at ON knowledge_transfers (org_id, created_at DESC);

-- ----------------------------------------------------------- agent_learnings
-- Seed 001. success_rate = success_count / applied_count, kept in the same
-- UPDATE that records an application so concurrent recordings never lose one.
CREATE TABLE agent_learnings (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  source_type varchar(50) NOT NULL CHECK (length(btrim(source_type)) > 0),
  source_id varchar(255),
  learning_category varchar(100) NOT NULL CHECK (length(btrim(learning_category)) > 0),
  finding text NOT NULL CHECK (length(finding) BETWEEN 1 AND 32768),
  evidence jsonb NOT NULL DEFAULT '{}',
  confidence real NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
  impact_score real CHECK (impact_score >= 0 AND impact_score <= 1),
  applied_count integer NOT NULL DEFAULT 0 CHECK (applied_count >= 0),
  success_count integer NOT NULL DEFAULT 0 CHECK (success_count >= 0 AND success_count <= applied_count),
  success_rate real CHECK (success_rate >= 0 AND success_rate <= 1),
  last_applied_at timestamptz,
  tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_agent_learnings_agent ON agent_learnings (org_id, agent_id, created_at DESC, id DESC);
CREATE INDEX idx_agent_learnings_category ON agent_learnings (org_id, learning_category);

-- ------------------------------------------------------------------ patterns
-- Seed 003 REQ-T116, per organization. accuracy = success_count / usage_count,
-- kept by the same UPDATE that records a use (pattern_usage).
CREATE TABLE patterns (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  type varchar(20) NOT NULL,
  name varchar(100) NOT NULL CHECK (length(btrim(name)) > 0),
  pattern_data jsonb NOT NULL CHECK (jsonb_typeof(pattern_data) = 'object'),
  accuracy numeric(3, 2) CHECK (accuracy >= 0 AND accuracy <= 1),
  usage_count integer NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
  success_count integer NOT NULL DEFAULT 0 CHECK (success_count >= 0 AND success_count <= usage_count),
  metadata jsonb NOT NULL DEFAULT '{}',
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  CONSTRAINT valid_pattern_type CHECK (type IN ('convergent', 'divergent', 'lateral', 'systems', 'critical', 'adaptive'))
);
CREATE INDEX idx_patterns_type ON patterns (org_id, type) WHERE deleted_at IS NULL;
CREATE INDEX idx_patterns_accuracy ON patterns (org_id, accuracy DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_patterns_usage ON patterns (org_id, usage_count DESC);
CREATE UNIQUE INDEX unique_pattern_name_per_org ON patterns (org_id, name) WHERE deleted_at IS NULL;

-- Seed 003 REQ-T117: one row per timed application, partitioned by month.
CREATE TABLE pattern_metrics (
  id uuid NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  pattern_id uuid NOT NULL REFERENCES patterns (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  execution_time_ms integer NOT NULL CHECK (execution_time_ms >= 0),
  success boolean NOT NULL,
  error_type varchar(50),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_pattern_metrics_pattern ON pattern_metrics (org_id, pattern_id, created_at DESC);

-- Seed 003 REQ-T133: every recorded use, partitioned by week.
CREATE TABLE pattern_usage (
  id uuid NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  pattern_id uuid NOT NULL REFERENCES patterns (id) ON DELETE CASCADE,
  agent_id uuid REFERENCES agents (id) ON DELETE CASCADE,
  execution_id uuid,
  success boolean NOT NULL,
  context jsonb NOT NULL DEFAULT '{}',
  used_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, used_at)
) PARTITION BY RANGE (used_at);
CREATE INDEX idx_pattern_usage_pattern ON pattern_usage (org_id, pattern_id, used_at DESC);
CREATE INDEX idx_pattern_usage_agent ON pattern_usage (org_id, agent_id, used_at DESC) WHERE agent_id IS NOT NULL;

-- --------------------------------------------------------- learning_sessions
-- Seed 003 REQ-T120.
CREATE TABLE learning_sessions (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  source_domain varchar(100) NOT NULL CHECK (length(btrim(source_domain)) > 0),
  target_domain varchar(100) NOT NULL CHECK (length(btrim(target_domain)) > 0),
  transfer_mode varchar(50) NOT NULL DEFAULT 'adaptive',
  session_metrics jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(session_metrics) = 'object'),
  improvement_score numeric(3, 2) CHECK (improvement_score >= -1 AND improvement_score <= 1),
  started_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  CONSTRAINT valid_transfer_mode CHECK (transfer_mode IN ('adaptive', 'direct', 'gradual')),
  CHECK (completed_at IS NULL OR completed_at >= started_at)
);
CREATE INDEX idx_learning_sessions_agent ON learning_sessions (org_id, agent_id, started_at DESC);
CREATE INDEX idx_learning_sessions_domains ON learning_sessions (org_id, source_domain, target_domain);
CREATE INDEX idx_learning_sessions_started_at ON learning_sessions (org_id, started_at DESC, id DESC);

-- --------------------------------------------------------- knowledge_metrics
-- Seed 003 REQ-T132: knowledge usage events (read, search_hit, transfer),
-- partitioned by day; `count` lets a batched writer fold repeats into one row.
CREATE TABLE knowledge_metrics (
  id uuid NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  knowledge_id uuid NOT NULL REFERENCES knowledge_items (id) ON DELETE CASCADE,
  agent_id uuid REFERENCES agents (id) ON DELETE CASCADE,
  event varchar(20) NOT NULL CHECK (event IN ('read', 'search_hit', 'transfer', 'transfer_failed')),
  count integer NOT NULL DEFAULT 1 CHECK (count > 0),
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);
CREATE INDEX idx_knowledge_metrics_item ON knowledge_metrics (org_id, knowledge_id, recorded_at);

-- ---------------------------------------------------------------- vectors
-- Adds pgvector and the embedding columns when the server has pgvector;
-- returns whether vectors are available. Idempotent; run by the owner.
CREATE FUNCTION memory_enable_vectors() RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
      RETURN false;
    END IF;
    CREATE EXTENSION vector;
  END IF;
  -- Untyped: each row's dimensions are its embedding_dims; the HNSW indexes
  -- cast per space (memory_ensure_vector_index).
  ALTER TABLE agent_memories ADD COLUMN IF NOT EXISTS embedding vector
    CHECK (embedding IS NULL OR vector_dims(embedding) = embedding_dims);
  ALTER TABLE knowledge_items ADD COLUMN IF NOT EXISTS embedding vector
    CHECK (embedding IS NULL OR vector_dims(embedding) = embedding_dims);
  RETURN true;
END $$;

-- The HNSW index of one embedding space of one table, made if missing;
-- returns its name. Cosine distance, the measure every embedder here is made for.
CREATE FUNCTION memory_ensure_vector_index(p_table text, p_model text, p_dims integer) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  idx text;
  cast_type text;
  ops text;
BEGIN
  IF p_table NOT IN ('agent_memories', 'knowledge_items') THEN
    RAISE EXCEPTION 'no vector index for table %', p_table;
  END IF;
  IF p_dims < 1 OR p_dims > 4000 THEN
    RAISE EXCEPTION 'embedding dimensions must be 1..4000, got %', p_dims;
  END IF;
  IF p_dims <= 2000 THEN
    cast_type := format('vector(%s)', p_dims); ops := 'vector_cosine_ops';
  ELSE
    cast_type := format('halfvec(%s)', p_dims); ops := 'halfvec_cosine_ops';
  END IF;
  idx := format('%s_hnsw_%s', p_table, substr(md5(p_model || ':' || p_dims), 1, 12));
  IF to_regclass(quote_ident(idx)) IS NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext('agentbase.vector_index'));
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I USING hnsw ((embedding::%s) %s) WHERE embedding_model = %L AND embedding_dims = %s',
      idx, p_table, cast_type, ops, p_model, p_dims);
  END IF;
  RETURN idx;
END $$;
REVOKE EXECUTE ON FUNCTION memory_enable_vectors(), memory_ensure_vector_index(text, text, integer) FROM PUBLIC;

-- ---------------------------------------------------------------- permissions
INSERT INTO permissions (resource, action, description) VALUES
  ('memory', 'read', 'Search and read agent memories, knowledge, learnings, patterns and learning sessions'),
  ('memory', 'write', 'Save, change and delete memories and knowledge, record learnings, pattern uses and transfers'),
  ('memory', 'admin', 'Change how memories are embedded and ranked, and re-embed them');
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
  (r.name = 'viewer' AND (p.resource, p.action) IN (('memory', 'read')))
  OR (r.name = 'member' AND (p.resource, p.action) IN (('memory', 'write')))
  OR (r.name = 'admin' AND (p.resource, p.action) IN (('memory', 'admin')))
WHERE r.org_id IS NULL;

-- ---------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT, UPDATE, DELETE ON memory_configs, knowledge_items, agent_memories, knowledge_transfers,
  agent_learnings, patterns, pattern_metrics, pattern_usage, learning_sessions, knowledge_metrics TO agentbase_app;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['memory_configs', 'knowledge_items', 'agent_memories', 'knowledge_transfers',
                           'agent_learnings', 'patterns', 'pattern_metrics', 'pattern_usage', 'learning_sessions',
                           'knowledge_metrics'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

SELECT ensure_monthly_partitions('pattern_metrics', now() - interval '1 month', 4);
SELECT ensure_weekly_partitions('pattern_usage', now() - interval '1 week', 5);
SELECT ensure_daily_partitions('knowledge_metrics', now() - interval '1 day', 9);
