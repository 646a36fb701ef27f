-- Agent metrics (partitioned by day), agent decisions partitioned by month with
-- their retention, and indexes for the inter-agent message reads.

-- -------------------------------------------------------------- agent_metrics
-- Seed 003 agent_metrics, partitioned by day as the seed asks. The seed's
-- "timestamp" column is recorded_at here, like every other time column.
CREATE TABLE agent_metrics (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  metric_type varchar(50) NOT NULL CHECK (metric_type ~ '^[a-z][a-z0-9_.]{0,49}$'),
  value numeric(10, 4) NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);
CREATE INDEX idx_agent_metrics_agent_time ON agent_metrics (org_id, agent_id, recorded_at DESC);
CREATE INDEX idx_agent_metrics_type ON agent_metrics (org_id, metric_type, recorded_at DESC);

-- Daily partitions, named <table>_pYYYYMMDD; drop_partitions_before (0001)
-- drops them by upper bound like the monthly ones.
CREATE FUNCTION ensure_daily_partitions(p_parent regclass, p_from timestamptz, p_days integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  parent_name text := (SELECT relname FROM pg_class WHERE oid = p_parent);
  day_start timestamp;
  part_name text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('agentbase.partitions'));
  FOR i IN 0 .. p_days - 1 LOOP
    day_start := date_trunc('day', p_from AT TIME ZONE 'UTC') + make_interval(days => i);
    part_name := format('%s_p%s', parent_name, to_char(day_start, 'YYYYMMDD'));
    IF to_regclass(quote_ident(part_name)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
        part_name, parent_name,
        day_start AT TIME ZONE 'UTC', (day_start + interval '1 day') AT TIME ZONE 'UTC');
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END $$;

-- ------------------------------------------------------------ agent_decisions
-- Partitioned by month on decided_at (seed 001 §8.3) with 90-day retention
-- (§7.3), so the table is recreated. A partitioned table's unique keys must
-- hold the partition key: one decision id per organization is kept by
-- ingest_keys (kind 'decision'), and the unique index includes decided_at.
ALTER TABLE agent_decisions RENAME TO agent_decisions_unpartitioned;
-- Index-backed names are schema-wide: free them for the new table.
ALTER TABLE agent_decisions_unpartitioned DROP CONSTRAINT agent_decisions_pkey, DROP CONSTRAINT unique_decision_per_org;
DROP INDEX idx_agent_decisions_session, idx_agent_decisions_type_time, idx_agent_decisions_execution;
CREATE TABLE agent_decisions (
  id uuid NOT NULL,
  org_id uuid NOT NULL,
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
  PRIMARY KEY (id, decided_at),
  CONSTRAINT unique_decision_per_org UNIQUE (org_id, decision_id, decided_at)
) PARTITION BY RANGE (decided_at);
CREATE INDEX idx_agent_decisions_session_time ON agent_decisions (org_id, session_id, decided_at DESC);
CREATE INDEX idx_agent_decisions_type_time ON agent_decisions (org_id, decision_type, decided_at DESC);
CREATE INDEX idx_agent_decisions_time ON agent_decisions (org_id, decided_at DESC);
CREATE INDEX idx_agent_decisions_execution ON agent_decisions (org_id, execution_id);

-- Partitions for every month the old table holds, and for the retention window and three months ahead.
DO $$
DECLARE
  first_month timestamptz := date_trunc('month', least(
    (SELECT min(decided_at) FROM agent_decisions_unpartitioned), now() - interval '3 months'));
  months integer := (extract(year FROM age(date_trunc('month', now()), first_month)) * 12
    + extract(month FROM age(date_trunc('month', now()), first_month)))::int + 4;
BEGIN
  PERFORM ensure_monthly_partitions('agent_decisions', first_month, months);
END $$;
INSERT INTO agent_decisions SELECT id, org_id, decision_id, agent_id, execution_id, execution_created_at, session_id,
  decided_at, decision_type, reasoning_chain, data_sources, confidence_score, decision_metadata, model_used,
  latency_ms, error_message, created_at
FROM agent_decisions_unpartitioned;
DROP TABLE agent_decisions_unpartitioned;

-- ------------------------------------------------------ agent_communications
-- Indexes for the message list's filters (GET /v1/messages): by agent id or
-- name on either side, and by plan, newest first.
CREATE INDEX idx_agent_communications_from_agent_id ON agent_communications (org_id, from_agent_id, sent_at DESC) WHERE from_agent_id IS NOT NULL;
CREATE INDEX idx_agent_communications_to_agent_id ON agent_communications (org_id, to_agent_id, sent_at DESC) WHERE to_agent_id IS NOT NULL;
CREATE INDEX idx_agent_communications_from_agent ON agent_communications (org_id, from_agent, sent_at DESC) WHERE from_agent IS NOT NULL;
CREATE INDEX idx_agent_communications_to_agent ON agent_communications (org_id, to_agent, sent_at DESC) WHERE to_agent IS NOT NULL;
CREATE INDEX idx_agent_communications_plan ON agent_communications (org_id, plan_id, sent_at DESC) WHERE plan_id IS NOT NULL;

-- Seed 001 appendix A3, decision analytics over the last 30 days.
CREATE VIEW v_decision_analytics WITH (security_invoker = true) AS
SELECT org_id, decision_type, count(*) AS total_decisions, avg(confidence_score) AS avg_confidence,
  avg(latency_ms) AS avg_latency_ms
FROM agent_decisions
WHERE decided_at >= now() - interval '30 days'
GROUP BY org_id, decision_type;

-- ---------------------------------------------------------- privileges + RLS
GRANT SELECT, INSERT ON agent_metrics, agent_decisions TO agentbase_app;
GRANT SELECT ON v_decision_analytics TO agentbase_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['agent_metrics', 'agent_decisions'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

SELECT ensure_daily_partitions('agent_metrics', now() - interval '1 day', 9);
