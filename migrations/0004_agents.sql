-- Agents (seeds 002 and 003 reconciled into one table), their immutable
-- versions, tools, capabilities and state checkpoints. See docs/schema.md.

CREATE TABLE agents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  name varchar(255) NOT NULL CHECK (length(btrim(name)) > 0),
  slug varchar(100) NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  description text,
  avatar_url text,
  type varchar(50) NOT NULL DEFAULT 'general',
  system_prompt text NOT NULL DEFAULT '',
  model varchar(100) NOT NULL DEFAULT 'gpt-4o',
  model_settings jsonb NOT NULL DEFAULT '{}',
  temperature numeric(3, 2) NOT NULL DEFAULT 0.7 CHECK (temperature >= 0 AND temperature <= 2),
  max_tokens integer NOT NULL DEFAULT 4096 CHECK (max_tokens > 0),
  tools jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tools) = 'array'),
  memory_enabled boolean NOT NULL DEFAULT true,
  memory_type varchar(50) NOT NULL DEFAULT 'conversation' CHECK (memory_type IN ('conversation', 'long_term', 'hybrid')),
  status varchar(20) NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'active', 'paused', 'stopped', 'learning', 'archived')),
  is_public boolean NOT NULL DEFAULT false,
  cognitive_pattern varchar(20) NOT NULL DEFAULT 'adaptive'
    CHECK (cognitive_pattern IN ('convergent', 'divergent', 'lateral', 'systems', 'critical', 'adaptive')),
  learning_rate numeric(3, 2) CHECK (learning_rate >= 0 AND learning_rate <= 1),
  performance_score numeric(3, 2) CHECK (performance_score >= 0 AND performance_score <= 1),
  metadata jsonb NOT NULL DEFAULT '{}',
  marketplace_listing_id uuid,
  current_version_id uuid,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  deleted_at timestamptz
);
CREATE UNIQUE INDEX unique_agent_slug_per_org ON agents (org_id, slug) WHERE deleted_at IS NULL;
CREATE INDEX idx_agents_org_created ON agents (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_agents_status ON agents (org_id, status) WHERE deleted_at IS NULL;
CREATE INDEX idx_agents_type ON agents (org_id, type) WHERE deleted_at IS NULL;
CREATE INDEX idx_agents_created_by ON agents (created_by);
CREATE INDEX idx_agents_is_public ON agents (is_public) WHERE is_public = true AND deleted_at IS NULL;
CREATE INDEX idx_agents_metadata ON agents USING gin (metadata);
CREATE TRIGGER agents_touch BEFORE UPDATE ON agents FOR EACH ROW EXECUTE FUNCTION touch_versioned();

-- A version is a frozen copy of the agent's configuration (tool definitions
-- included), so what ran under version 1.2.0 can always be read back exactly.
CREATE TABLE agent_versions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  version varchar(50) NOT NULL
    CHECK (version ~ '^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'),
  changelog text,
  system_prompt text NOT NULL,
  model varchar(100) NOT NULL,
  temperature numeric(3, 2) NOT NULL,
  max_tokens integer NOT NULL,
  tools jsonb NOT NULL,
  config jsonb NOT NULL,
  is_published boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  CONSTRAINT unique_version_per_agent UNIQUE (agent_id, version)
);
CREATE INDEX idx_agent_versions_agent ON agent_versions (org_id, agent_id, created_at DESC);

ALTER TABLE agents ADD CONSTRAINT agents_current_version_fk
  FOREIGN KEY (current_version_id) REFERENCES agent_versions (id);

CREATE FUNCTION agent_versions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'agent versions are immutable: publish a new version instead'
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER agent_versions_immutable BEFORE UPDATE ON agent_versions
  FOR EACH ROW EXECUTE FUNCTION agent_versions_immutable();

CREATE TABLE agent_tools (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name varchar(100) NOT NULL CHECK (name ~ '^[a-zA-Z][a-zA-Z0-9_-]*$'),
  description text NOT NULL,
  tool_type varchar(50) NOT NULL CHECK (tool_type IN ('function', 'api', 'integration', 'mcp')),
  config jsonb NOT NULL DEFAULT '{}',
  input_schema jsonb NOT NULL,
  output_schema jsonb,
  is_active boolean NOT NULL DEFAULT true,
  version integer NOT NULL DEFAULT 1,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE UNIQUE INDEX idx_agent_tools_org_name ON agent_tools (org_id, name) WHERE deleted_at IS NULL;
CREATE INDEX idx_agent_tools_tool_type ON agent_tools (org_id, tool_type);
CREATE TRIGGER agent_tools_touch BEFORE UPDATE ON agent_tools FOR EACH ROW EXECUTE FUNCTION touch_versioned();

CREATE TABLE agent_capabilities (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  capability varchar(100) NOT NULL CHECK (length(btrim(capability)) > 0),
  proficiency_level numeric(3, 2) NOT NULL DEFAULT 0.5 CHECK (proficiency_level >= 0 AND proficiency_level <= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (agent_id, capability)
);
CREATE INDEX idx_agent_capabilities_agent_id ON agent_capabilities (org_id, agent_id);
CREATE INDEX idx_agent_capabilities_capability ON agent_capabilities (org_id, capability);
CREATE TRIGGER agent_capabilities_touch BEFORE UPDATE ON agent_capabilities FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Checkpoints of an agent's working state (seed 003), partitioned by month.
-- Restoring appends a new checkpoint that copies an old one: history stays.
CREATE TABLE agent_states (
  id uuid NOT NULL,
  org_id uuid NOT NULL,
  agent_id uuid NOT NULL,
  state_data jsonb NOT NULL,
  checkpoint_type varchar(50) NOT NULL CHECK (length(btrim(checkpoint_type)) > 0),
  restored_from_id uuid,
  created_by uuid,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_agent_states_agent_id ON agent_states (org_id, agent_id, created_at DESC);

GRANT SELECT, INSERT, UPDATE ON agents, agent_tools, agent_capabilities TO agentbase_app;
GRANT DELETE ON agent_capabilities TO agentbase_app;
GRANT SELECT, INSERT ON agent_versions, agent_states TO agentbase_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['agents', 'agent_versions', 'agent_tools', 'agent_capabilities', 'agent_states'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

SELECT ensure_monthly_partitions('agent_states', now() - interval '1 month', 4);
