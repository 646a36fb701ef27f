-- The agent runtime and durable workflows (issue 4): stored secrets for http
-- tools, conversation sessions (seed 000 user_sessions), workflow definitions
-- and their executions (seed 003 workflows, workflow_executions, weekly), the
-- persisted result of every workflow step, user notifications (seed 003
-- REQ-T140, monthly), and an organization's monthly cost budget.
-- Reconciliation with the seeds is in docs/schema.md.

-- ----------------------------------------------------------- weekly partitions
-- Weeks start on Monday 00:00 UTC; partitions are named <table>_wYYYYMMDD after
-- their first day. drop_partitions_before (0001) drops them by upper bound.
CREATE FUNCTION ensure_weekly_partitions(p_parent regclass, p_from timestamptz, p_weeks integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  parent_name text := (SELECT relname FROM pg_class WHERE oid = p_parent);
  week_start timestamp;
  part_name text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('agentbase.partitions'));
  FOR i IN 0 .. p_weeks - 1 LOOP
    week_start := date_trunc('week', p_from AT TIME ZONE 'UTC') + make_interval(weeks => i);
    part_name := format('%s_w%s', parent_name, to_char(week_start, 'YYYYMMDD'));
    IF to_regclass(quote_ident(part_name)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
        part_name, parent_name,
        week_start AT TIME ZONE 'UTC', (week_start + interval '1 week') AT TIME ZONE 'UTC');
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END $$;
-- Partition DDL is the owner's: maintenance calls these as the owner (src/db/partitions.ts)
-- and no other role needs them. A new function is executable by PUBLIC unless taken back;
-- 0001 and 0008 left that default on theirs, so it is taken back from all of them here.
REVOKE EXECUTE ON FUNCTION ensure_weekly_partitions(regclass, timestamptz, integer),
  ensure_monthly_partitions(regclass, timestamptz, integer), ensure_daily_partitions(regclass, timestamptz, integer),
  drop_partitions_before(regclass, timestamptz) FROM PUBLIC;

-- --------------------------------------------------------------------- quotas
-- max_executions_per_month is already on organizations (0002). NULL budget: none.
ALTER TABLE organizations
  ADD COLUMN monthly_cost_budget_usd numeric(12, 2) CHECK (monthly_cost_budget_usd >= 0);

-- -------------------------------------------------------------------- secrets
-- Values an http tool sends (API keys in headers). Sealed with AES-256-GCM
-- under a key derived from AGENTBASE_SECRET (src/identity/secrets.ts); the
-- plaintext is never returned by the API and never logged. allowed_hosts
-- binds the value to where it may be sent: a tool or model endpoint on any
-- other host is refused before the value is opened (src/secrets). Entries are
-- exact lower-case host names or *.domain (sub-domains of domain, not domain
-- itself); the API checks their exact form, this CHECK their count and case.
CREATE TABLE secrets (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name varchar(100) NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
  description text CHECK (length(description) <= 1000),
  ciphertext text NOT NULL,
  allowed_hosts text[] NOT NULL CHECK (
    array_ndims(allowed_hosts) = 1 AND cardinality(allowed_hosts) BETWEEN 1 AND 50
    AND array_position(allowed_hosts, NULL) IS NULL
    AND array_to_string(allowed_hosts, ',') ~ '^(\*\.)?[a-z0-9.:\[\]-]+(,(\*\.)?[a-z0-9.:\[\]-]+)*$'
  ),
  version integer NOT NULL DEFAULT 1,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  CONSTRAINT unique_secret_name_per_org UNIQUE (org_id, name)
);
CREATE TRIGGER secrets_versioned BEFORE UPDATE OF ciphertext, description, allowed_hosts ON secrets
  FOR EACH ROW EXECUTE FUNCTION touch_versioned();

-- -------------------------------------------------------------- user_sessions
-- Seed 000: a conversation carried across executions. user_id is an agentbase
-- user when one is known; the application's own end user (who usually has no
-- account here) is external_user_id. session_token is the application's
-- identifier for the conversation, unique per organization: it names the
-- session, it grants nothing (every call is authenticated as the org).
-- conversation_history holds the most recent turns only (the runtime trims it;
-- the full transcript is in the session's executions and spans).
CREATE TABLE user_sessions (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  external_user_id varchar(255),
  session_token varchar(255) NOT NULL CHECK (length(session_token) > 0),
  plan_id uuid,
  agent_id uuid REFERENCES agents (id) ON DELETE SET NULL,
  context_data jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(context_data) = 'object'),
  conversation_history jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(conversation_history) = 'array'),
  user_preferences jsonb NOT NULL DEFAULT '{}',
  agent_states jsonb NOT NULL DEFAULT '{}',
  device_info jsonb NOT NULL DEFAULT '{}',
  ip_address inet,
  user_agent text,
  location_data jsonb NOT NULL DEFAULT '{}',
  page_views integer NOT NULL DEFAULT 0 CHECK (page_views >= 0),
  actions_count integer NOT NULL DEFAULT 0 CHECK (actions_count >= 0),
  last_activity_type varchar(50),
  execution_count integer NOT NULL DEFAULT 0 CHECK (execution_count >= 0),
  total_tokens bigint NOT NULL DEFAULT 0 CHECK (total_tokens >= 0),
  total_cost_usd numeric(14, 6) NOT NULL DEFAULT 0 CHECK (total_cost_usd >= 0),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_activity timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  is_active boolean NOT NULL DEFAULT true,
  ended_at timestamptz,
  CONSTRAINT unique_session_token_per_org UNIQUE (org_id, session_token),
  CHECK (is_active OR ended_at IS NOT NULL)
);
CREATE INDEX idx_user_sessions_user_id ON user_sessions (org_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX idx_user_sessions_external_user ON user_sessions (org_id, external_user_id) WHERE external_user_id IS NOT NULL;
CREATE INDEX idx_user_sessions_active ON user_sessions (org_id, last_activity DESC) WHERE is_active;
CREATE INDEX idx_user_sessions_last_activity ON user_sessions (last_activity);
CREATE INDEX idx_user_sessions_expires ON user_sessions (expires_at) WHERE is_active AND expires_at IS NOT NULL;
CREATE INDEX idx_user_sessions_plan_id ON user_sessions (org_id, plan_id) WHERE plan_id IS NOT NULL;
CREATE TRIGGER user_sessions_versioned BEFORE UPDATE ON user_sessions
  FOR EACH ROW EXECUTE FUNCTION touch_versioned();

-- ------------------------------------------------------------------ workflows
-- Seed 003. The row is the current definition; every saved definition is also
-- kept in workflow_versions, and an execution runs the version it started on.
CREATE TABLE workflows (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name varchar(100) NOT NULL CHECK (length(btrim(name)) > 0),
  description text,
  steps jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
  dependencies jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(dependencies) = 'object'),
  status varchar(20) NOT NULL DEFAULT 'draft',
  version integer NOT NULL DEFAULT 1,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  CONSTRAINT valid_workflow_status CHECK (status IN ('draft', 'active', 'archived'))
);
CREATE UNIQUE INDEX idx_workflows_name ON workflows (org_id, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX idx_workflows_status ON workflows (org_id, status) WHERE deleted_at IS NULL;
CREATE INDEX idx_workflows_created_by ON workflows (created_by);
CREATE TRIGGER workflows_touch BEFORE UPDATE ON workflows FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE workflow_versions (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  workflow_id uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  version integer NOT NULL CHECK (version >= 1),
  steps jsonb NOT NULL,
  dependencies jsonb NOT NULL DEFAULT '{}',
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, workflow_id, version)
);

-- Seed 003, partitioned by week on started_at. agent_id (NOT NULL in the seed)
-- is the agent that started the run when one did; a workflow usually has
-- several agents, named by its steps. 'waiting' is added: a run parked on an
-- event or approval holds no worker.
CREATE TABLE workflow_executions (
  id uuid NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  workflow_id uuid NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
  workflow_version integer NOT NULL,
  agent_id uuid REFERENCES agents (id) ON DELETE SET NULL,
  status varchar(20) NOT NULL DEFAULT 'pending',
  input jsonb NOT NULL DEFAULT '{}',
  output jsonb,
  execution_data jsonb NOT NULL DEFAULT '{}',
  error_message text,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (id, started_at),
  CONSTRAINT valid_execution_status CHECK (status IN ('pending', 'running', 'waiting', 'completed', 'failed', 'cancelled')),
  CHECK ((status IN ('completed', 'failed', 'cancelled')) = (completed_at IS NOT NULL))
) PARTITION BY RANGE (started_at);
CREATE INDEX idx_workflow_executions_id ON workflow_executions (org_id, id);
CREATE INDEX idx_workflow_executions_workflow ON workflow_executions (org_id, workflow_id, started_at DESC);
CREATE INDEX idx_workflow_executions_status ON workflow_executions (org_id, status, started_at DESC);
CREATE TRIGGER workflow_executions_touch BEFORE UPDATE ON workflow_executions FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- One row per step of a run, written before the step starts and given its
-- result before any step after it is scheduled: the unique key is what makes a
-- completed step never run twice, whatever crashes. Partitioned like its run
-- (same key, same weeks), so retention drops both together; no foreign key to
-- the partitioned parent, which would block dropping its partitions.
CREATE TABLE workflow_step_runs (
  id uuid NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  workflow_execution_id uuid NOT NULL,
  workflow_started_at timestamptz NOT NULL,
  step_key varchar(100) NOT NULL,
  step_type varchar(20) NOT NULL CHECK (step_type IN ('agent', 'tool', 'wait', 'approval', 'fan_out', 'fan_in')),
  status varchar(20) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'waiting', 'completed', 'failed', 'skipped', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  input jsonb,
  output jsonb,
  error_message text,
  execution_id uuid,
  job_id uuid,
  waiting_for jsonb,
  decided_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, workflow_started_at),
  CONSTRAINT unique_step_per_run UNIQUE (workflow_execution_id, workflow_started_at, step_key)
) PARTITION BY RANGE (workflow_started_at);
CREATE INDEX idx_workflow_step_runs_waiting ON workflow_step_runs (org_id, status) WHERE status = 'waiting';
CREATE TRIGGER workflow_step_runs_touch BEFORE UPDATE ON workflow_step_runs FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- -------------------------------------------------------------- notifications
-- Seed 003 REQ-T140, partitioned by month on created_at. One row per recipient.
CREATE TABLE notifications (
  id uuid NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind varchar(50) NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]*$'),
  title varchar(255) NOT NULL,
  body text,
  data jsonb NOT NULL DEFAULT '{}',
  resource_type varchar(50),
  resource_id uuid,
  read_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_notifications_user ON notifications (org_id, user_id, created_at DESC, id DESC);
CREATE INDEX idx_notifications_unread ON notifications (org_id, user_id, created_at DESC) WHERE read_at IS NULL;

-- ---------------------------------------------------------------- permissions
INSERT INTO permissions (resource, action, description) VALUES
  ('workflows', 'read', 'Read workflows and their executions'),
  ('workflows', 'write', 'Create and change workflows, start, cancel and resume their executions'),
  ('secrets', 'read', 'List the names of stored secrets (never their values)'),
  ('secrets', 'write', 'Create, replace and delete stored secrets');
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
  (r.name = 'viewer' AND (p.resource, p.action) IN (('workflows', 'read')))
  OR (r.name = 'member' AND (p.resource, p.action) IN (('workflows', 'write'), ('secrets', 'read')))
  OR (r.name = 'admin' AND (p.resource, p.action) IN (('secrets', 'write')))
WHERE r.org_id IS NULL;

-- ---------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT, UPDATE, DELETE ON secrets, user_sessions, workflows, workflow_versions,
  workflow_executions, workflow_step_runs, notifications TO agentbase_app;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['secrets', 'user_sessions', 'workflows', 'workflow_versions', 'workflow_executions',
                           'workflow_step_runs', 'notifications'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

SELECT ensure_weekly_partitions('workflow_executions', now() - interval '1 week', 5);
SELECT ensure_weekly_partitions('workflow_step_runs', now() - interval '1 week', 5);
SELECT ensure_monthly_partitions('notifications', now() - interval '1 month', 4);
