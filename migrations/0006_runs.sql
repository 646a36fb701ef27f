-- Runs: executions, spans, decisions, inter-agent messages, model prices, the
-- cost ledger and the ingestion keys that make batch ingestion idempotent.
-- See docs/design-runs.md for the decisions behind this schema.
--
-- Token conventions (OpenAI/OTel usage semantics), used by the cost code:
--   prompt_tokens      all input tokens, cached_tokens and cache_write_tokens included
--   completion_tokens  all output tokens, reasoning_tokens included
--   total_tokens       prompt_tokens + completion_tokens

-- One run of one agent version: seed 002 executions, seed 000 agent_executions
-- and seed 001 execution_traces merged. Ids are UUIDv7 from the service.
-- agent_id carries no foreign key: telemetry must outlive what it describes,
-- and foreign keys out of a partitioned history table would block deletes.
CREATE TABLE executions (
  id uuid NOT NULL,
  org_id uuid NOT NULL,
  agent_id uuid NOT NULL,
  agent_version_id uuid,
  user_id uuid,
  session_id text CHECK (length(session_id) <= 255),
  parent_execution_id uuid,
  plan_id uuid,
  model_provider varchar(50),
  model_name varchar(100),
  input jsonb NOT NULL DEFAULT '{}',
  output jsonb,
  status varchar(20) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'queued', 'running', 'completed', 'failed', 'timeout', 'cancelled')),
  error_code varchar(100),
  error_message text,
  retry_count integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
  max_retries integer NOT NULL DEFAULT 3 CHECK (max_retries >= 0),
  queue_time_ms integer CHECK (queue_time_ms >= 0),
  execution_time_ms integer CHECK (execution_time_ms >= 0),
  latency_ms integer CHECK (latency_ms >= 0),
  started_at timestamptz,
  completed_at timestamptz,
  prompt_tokens integer NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
  completion_tokens integer NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
  cached_tokens integer NOT NULL DEFAULT 0 CHECK (cached_tokens >= 0),
  cache_write_tokens integer NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
  reasoning_tokens integer NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
  total_tokens integer NOT NULL DEFAULT 0 CHECK (total_tokens >= 0),
  cost_usd numeric(12, 6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
  result_quality_score numeric(3, 2) CHECK (result_quality_score >= 0 AND result_quality_score <= 1),
  user_satisfaction_score integer CHECK (user_satisfaction_score >= 1 AND user_satisfaction_score <= 5),
  tool_calls jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tool_calls) = 'array'),
  trace_id char(32) CHECK (trace_id ~ '^[0-9a-f]{32}$'),
  span_id char(16) CHECK (span_id ~ '^[0-9a-f]{16}$'),
  parent_span_id char(16) CHECK (parent_span_id ~ '^[0-9a-f]{16}$'),
  correlation_id varchar(100),
  request_id varchar(100),
  client_id text CHECK (length(client_id) <= 255),
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  PRIMARY KEY (id, created_at),
  CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_executions_org_created ON executions (org_id, created_at DESC, id DESC);
CREATE INDEX idx_executions_agent ON executions (org_id, agent_id, created_at DESC);
CREATE INDEX idx_executions_status ON executions (org_id, status, created_at DESC);
CREATE INDEX idx_executions_session ON executions (org_id, session_id) WHERE session_id IS NOT NULL;
CREATE INDEX idx_executions_trace ON executions (org_id, trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX idx_executions_id ON executions (org_id, id);

-- The status lifecycle, enforced here as well as in src/runs/status.ts (the
-- same table), so ingestion and the runtime cannot disagree. A failed or timed
-- out execution may be queued again (a retry); the other final states are final.
CREATE FUNCTION execution_status_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT (OLD.status, NEW.status) IN (
    ('pending', 'queued'), ('pending', 'running'), ('pending', 'failed'), ('pending', 'cancelled'),
    ('queued', 'running'), ('queued', 'failed'), ('queued', 'timeout'), ('queued', 'cancelled'),
    ('running', 'completed'), ('running', 'failed'), ('running', 'timeout'), ('running', 'cancelled'),
    ('failed', 'queued'), ('timeout', 'queued')
  ) THEN
    RAISE EXCEPTION 'an execution cannot go from % to %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER executions_status_transition BEFORE UPDATE OF status ON executions
  FOR EACH ROW EXECUTE FUNCTION execution_status_transition();

-- The tree of work under an execution: seed 002 execution_logs, seed 001
-- reasoning_steps and the steps of execution_traces. Kind-specific columns
-- are nullable. Children carry the execution's id and time so joins prune.
CREATE TABLE spans (
  id uuid NOT NULL,
  org_id uuid NOT NULL,
  execution_id uuid NOT NULL,
  execution_created_at timestamptz NOT NULL,
  kind varchar(20) NOT NULL
    CHECK (kind IN ('llm_call', 'tool_call', 'memory_access', 'agent_call', 'reasoning_step', 'other')),
  trace_id char(32) CHECK (trace_id ~ '^[0-9a-f]{32}$'),
  span_id char(16) NOT NULL CHECK (span_id ~ '^[0-9a-f]{16}$'),
  parent_span_id char(16) CHECK (parent_span_id ~ '^[0-9a-f]{16}$'),
  name varchar(255) NOT NULL,
  model varchar(100),
  provider varchar(50),
  prompt_tokens integer CHECK (prompt_tokens >= 0),
  completion_tokens integer CHECK (completion_tokens >= 0),
  cached_tokens integer CHECK (cached_tokens >= 0),
  cache_write_tokens integer CHECK (cache_write_tokens >= 0),
  reasoning_tokens integer CHECK (reasoning_tokens >= 0),
  total_tokens integer CHECK (total_tokens >= 0),
  cost_usd numeric(12, 6) CHECK (cost_usd >= 0),
  tool_name varchar(100),
  tool_status varchar(20),
  step_number integer CHECK (step_number >= 0),
  reasoning text,
  confidence numeric(4, 3) CHECK (confidence >= 0 AND confidence <= 1),
  input jsonb,
  output jsonb,
  status varchar(20) NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'error', 'unset')),
  error_message text,
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  duration_ms integer CHECK (duration_ms >= 0),
  attributes jsonb NOT NULL DEFAULT '{}',
  client_id text CHECK (length(client_id) <= 255),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, started_at),
  CHECK (ended_at IS NULL OR ended_at >= started_at)
) PARTITION BY RANGE (started_at);
CREATE INDEX idx_spans_execution ON spans (org_id, execution_id, started_at);
CREATE INDEX idx_spans_trace ON spans (org_id, trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX idx_spans_kind ON spans (org_id, kind, started_at DESC);

-- Prices per token. org_id NULL = a shipped default every tenant reads; an
-- organization's own row overrides it. model_pattern is a POSIX regular
-- expression over model names; the longest matching pattern is the most
-- specific. reasoning_price defaults to the output price where a provider
-- bills reasoning tokens as output.
CREATE TABLE model_prices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
  provider varchar(50) NOT NULL,
  model_pattern varchar(200) NOT NULL CHECK (length(model_pattern) > 0),
  effective_from timestamptz NOT NULL,
  effective_to timestamptz,
  input_price numeric(20, 12) NOT NULL CHECK (input_price >= 0),
  output_price numeric(20, 12) NOT NULL CHECK (output_price >= 0),
  cached_input_price numeric(20, 12) CHECK (cached_input_price >= 0),
  cache_write_price numeric(20, 12) CHECK (cache_write_price >= 0),
  reasoning_price numeric(20, 12) CHECK (reasoning_price >= 0),
  currency char(3) NOT NULL DEFAULT 'USD',
  tier varchar(20),
  tiers jsonb,
  source text,
  source_read_on date,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (effective_to IS NULL OR effective_to > effective_from)
);
CREATE INDEX idx_model_prices_org ON model_prices (org_id, provider, effective_from DESC);

-- Shipped defaults. Prices in USD per token as the providers' public price
-- pages listed them when this was written. They were NOT fetched live (this
-- machine has no access), so source_read_on is left empty: check them against
-- the source before billing from them, and add an organization row to
-- override. Effective from 2024-01-01 so historic spans price too.
INSERT INTO model_prices (provider, model_pattern, effective_from, input_price, output_price, cached_input_price, cache_write_price, reasoning_price, tier, source, source_read_on) VALUES
  ('openai', '^gpt-4o(-[0-9]{4}-[0-9]{2}-[0-9]{2})?$', '2024-01-01', 0.0000025, 0.00001, 0.00000125, NULL, 0.00001, 'tier2', 'https://openai.com/api/pricing/', NULL),
  ('openai', '^gpt-4o-mini(-[0-9]{4}-[0-9]{2}-[0-9]{2})?$', '2024-01-01', 0.00000015, 0.0000006, 0.000000075, NULL, 0.0000006, 'tier3', 'https://openai.com/api/pricing/', NULL),
  ('openai', '^gpt-4\.1(-[0-9]{4}-[0-9]{2}-[0-9]{2})?$', '2024-01-01', 0.000002, 0.000008, 0.0000005, NULL, 0.000008, 'tier2', 'https://openai.com/api/pricing/', NULL),
  ('openai', '^o3-mini(-[0-9]{4}-[0-9]{2}-[0-9]{2})?$', '2024-01-01', 0.0000011, 0.0000044, 0.00000055, NULL, 0.0000044, 'tier2', 'https://openai.com/api/pricing/', NULL),
  ('openai', '^o1(-[0-9]{4}-[0-9]{2}-[0-9]{2})?$', '2024-01-01', 0.000015, 0.00006, 0.0000075, NULL, 0.00006, 'tier1', 'https://openai.com/api/pricing/', NULL),
  ('anthropic', '^claude-(3-5-sonnet|3-7-sonnet|sonnet-4)', '2024-01-01', 0.000003, 0.000015, 0.0000003, 0.00000375, 0.000015, 'tier2', 'https://www.anthropic.com/pricing#api', NULL),
  ('anthropic', '^claude-3-5-haiku', '2024-01-01', 0.0000008, 0.000004, 0.00000008, 0.000001, 0.000004, 'tier3', 'https://www.anthropic.com/pricing#api', NULL),
  ('anthropic', '^claude-(3-opus|opus-4)', '2024-01-01', 0.000015, 0.000075, 0.0000015, 0.00001875, 0.000075, 'tier1', 'https://www.anthropic.com/pricing#api', NULL);

-- The cost ledger (seed 000 cost_tracking): one row per priced llm span, with
-- the prices used. Unique per span, so a repeated span replaces its own row
-- and execution totals (sums of the ledger) never count a span twice.
CREATE TABLE cost_ledger (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  span_ref uuid NOT NULL,
  span_started_at timestamptz NOT NULL,
  span_id char(16) NOT NULL,
  execution_id uuid NOT NULL,
  execution_created_at timestamptz NOT NULL,
  user_id uuid,
  agent_id uuid,
  session_id text,
  plan_id uuid,
  model_provider varchar(50) NOT NULL,
  model_name varchar(100) NOT NULL,
  model_tier varchar(20),
  price_id uuid,
  prompt_tokens integer NOT NULL DEFAULT 0,
  completion_tokens integer NOT NULL DEFAULT 0,
  cached_tokens integer NOT NULL DEFAULT 0,
  cache_write_tokens integer NOT NULL DEFAULT 0,
  reasoning_tokens integer NOT NULL DEFAULT 0,
  total_tokens integer NOT NULL DEFAULT 0,
  prompt_cost_per_token numeric(20, 12),
  completion_cost_per_token numeric(20, 12),
  cached_cost_per_token numeric(20, 12),
  cache_write_cost_per_token numeric(20, 12),
  reasoning_cost_per_token numeric(20, 12),
  total_cost_usd numeric(12, 6) NOT NULL CHECK (total_cost_usd >= 0),
  currency char(3) NOT NULL DEFAULT 'USD',
  billing_date date NOT NULL,
  usage_category varchar(50),
  usage_type varchar(50),
  alternative_model varchar(100),
  alternative_cost_usd numeric(12, 6),
  savings_usd numeric(12, 6),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT cost_ledger_one_per_span UNIQUE (org_id, execution_id, span_id)
);
CREATE INDEX idx_cost_ledger_execution ON cost_ledger (org_id, execution_id);
CREATE INDEX idx_cost_ledger_billing ON cost_ledger (org_id, billing_date);
CREATE INDEX idx_cost_ledger_model ON cost_ledger (org_id, model_name, billing_date);
CREATE INDEX idx_cost_ledger_agent ON cost_ledger (org_id, agent_id, billing_date);
CREATE INDEX idx_cost_ledger_user ON cost_ledger (org_id, user_id, billing_date);
CREATE TRIGGER cost_ledger_touch BEFORE UPDATE ON cost_ledger FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Idempotent ingestion: one row per (organization, kind, client id), inserted
-- first in the batch transaction; only keys that were new proceed.
CREATE TABLE ingest_keys (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  kind varchar(20) NOT NULL CHECK (kind IN ('execution', 'span', 'decision', 'message')),
  client_id text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 255),
  id uuid NOT NULL,
  item_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, kind, client_id)
);
CREATE INDEX idx_ingest_keys_created ON ingest_keys (org_id, created_at);

-- Seed 001 agent_decisions: the audit trail of an agent's decisions.
-- decision_id is the caller's id, unique per organization.
CREATE TABLE agent_decisions (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  decision_id varchar(255) NOT NULL,
  agent_id uuid,
  execution_id uuid,
  execution_created_at timestamptz,
  session_id text,
  decided_at timestamptz NOT NULL,
  decision_type varchar(100) NOT NULL,
  reasoning_chain jsonb NOT NULL,
  data_sources jsonb NOT NULL DEFAULT '[]',
  confidence_score numeric(4, 3) NOT NULL CHECK (confidence_score >= 0 AND confidence_score <= 1),
  decision_metadata jsonb,
  model_used varchar(100),
  latency_ms double precision CHECK (latency_ms >= 0),
  error_message text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT unique_decision_per_org UNIQUE (org_id, decision_id)
);
CREATE INDEX idx_agent_decisions_session ON agent_decisions (org_id, session_id);
CREATE INDEX idx_agent_decisions_type_time ON agent_decisions (org_id, decision_type, decided_at DESC);
CREATE INDEX idx_agent_decisions_execution ON agent_decisions (org_id, execution_id);

-- Seed 000 agent_communications: messages between agents.
CREATE TABLE agent_communications (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  plan_id uuid,
  execution_id uuid,
  execution_created_at timestamptz,
  session_id text,
  from_agent_id uuid,
  to_agent_id uuid,
  from_agent varchar(100),
  to_agent varchar(100),
  message_type varchar(50) NOT NULL,
  message_data jsonb NOT NULL,
  priority integer NOT NULL DEFAULT 5 CHECK (priority >= 1 AND priority <= 10),
  response_data jsonb NOT NULL DEFAULT '{}',
  response_time_ms integer CHECK (response_time_ms >= 0),
  status varchar(20) NOT NULL DEFAULT 'sent'
    CHECK (status IN ('sent', 'delivered', 'received', 'processed', 'failed', 'timeout')),
  error_message text,
  retry_count integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
  sent_at timestamptz NOT NULL,
  delivered_at timestamptz,
  received_at timestamptz,
  processed_at timestamptz,
  trace_id char(32) CHECK (trace_id ~ '^[0-9a-f]{32}$'),
  correlation_id varchar(100),
  client_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_agent_communications_sent ON agent_communications (org_id, sent_at DESC);
CREATE INDEX idx_agent_communications_execution ON agent_communications (org_id, execution_id);
CREATE INDEX idx_agent_communications_session ON agent_communications (org_id, session_id);
CREATE INDEX idx_agent_communications_trace ON agent_communications (org_id, trace_id) WHERE trace_id IS NOT NULL;

GRANT SELECT, INSERT, UPDATE ON executions, cost_ledger, agent_communications TO agentbase_app;
GRANT SELECT, INSERT ON spans, ingest_keys, agent_decisions TO agentbase_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON model_prices TO agentbase_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['executions', 'spans', 'cost_ledger', 'ingest_keys', 'agent_decisions', 'agent_communications'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

-- Shipped default prices are visible to every tenant and writable by none.
ALTER TABLE model_prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE model_prices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON model_prices FOR SELECT TO agentbase_app USING (org_id IS NULL OR org_id = app_current_org());
CREATE POLICY tenant_insert ON model_prices FOR INSERT TO agentbase_app WITH CHECK (org_id = app_current_org());
CREATE POLICY tenant_update ON model_prices FOR UPDATE TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org());
CREATE POLICY tenant_delete ON model_prices FOR DELETE TO agentbase_app USING (org_id = app_current_org());

SELECT ensure_monthly_partitions('executions', now() - interval '1 month', 4);
SELECT ensure_monthly_partitions('spans', now() - interval '1 month', 4);
