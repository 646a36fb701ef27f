-- Pre-aggregated cost and performance, the price-in-force function, and the
-- rest of seed 000's cost_tracking columns. See docs/design-runs.md
-- ("Roll-ups") for why the aggregates are kept by triggers with sharded rows.

-- OTLP telemetry may name an agent this organization never registered; it is
-- kept (agent_id NULL, the agent as reported in metadata) rather than dropped.
ALTER TABLE executions ALTER COLUMN agent_id DROP NOT NULL;

-- Seed 000 cost_tracking columns the ledger did not have yet.
ALTER TABLE cost_ledger
  ADD COLUMN billing_period varchar(20) NOT NULL DEFAULT 'monthly',
  ADD COLUMN invoice_id varchar(100),
  ADD COLUMN cost_efficiency_score numeric(4, 2),
  ADD COLUMN tags jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN request_id varchar(100);
CREATE INDEX idx_cost_ledger_plan ON cost_ledger (org_id, plan_id) WHERE plan_id IS NOT NULL;

-- The price in force for a model at an instant: the organization's own row
-- beats a shipped default, then the longest (most specific) pattern, then the
-- latest effective_from. provider NULL matches any provider. Inlined by the
-- planner into the ledger's set-based pricing (SQL, STABLE, SETOF).
CREATE FUNCTION model_price_for(p_model text, p_provider text, p_at timestamptz) RETURNS SETOF model_prices
LANGUAGE sql STABLE AS $$
  SELECT mp.* FROM model_prices mp
  WHERE p_model ~ mp.model_pattern AND (p_provider IS NULL OR mp.provider = p_provider)
    AND mp.effective_from <= p_at AND (mp.effective_to IS NULL OR mp.effective_to > p_at)
  ORDER BY (mp.org_id IS NOT NULL) DESC, length(mp.model_pattern) DESC, mp.effective_from DESC
  LIMIT 1
$$;

-- ---------------------------------------------------------------- cost_daily
-- Ledger sums per UTC day along one dimension at a time: 'total' (key ''),
-- 'model', 'agent', 'user', 'session', 'plan', and 'user_plan' (key
-- user/plan, so plans worked on per user is a count of rows). A missing key
-- (no agent, no user) is ''. Concurrent writers add to different shards
-- (backend pid mod 4), so two ingest transactions of one organization do not
-- queue on the same row; readers sum the shards.
CREATE TABLE cost_daily (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  dimension varchar(10) NOT NULL CHECK (dimension IN ('total', 'model', 'agent', 'user', 'session', 'plan', 'user_plan')),
  day date NOT NULL,
  key text NOT NULL,
  shard smallint NOT NULL,
  cost_usd numeric(18, 6) NOT NULL DEFAULT 0,
  alternative_cost_usd numeric(18, 6) NOT NULL DEFAULT 0,
  savings_usd numeric(18, 6) NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  cached_tokens bigint NOT NULL DEFAULT 0,
  cache_write_tokens bigint NOT NULL DEFAULT 0,
  reasoning_tokens bigint NOT NULL DEFAULT 0,
  total_tokens bigint NOT NULL DEFAULT 0,
  spans bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, dimension, day, key, shard)
);

-- Adds the new rows and takes away the old ones of one ledger statement.
-- Rows are upserted in key order so two writers on one shard never deadlock.
-- PL/pgSQL rather than SQL: its statement plans are cached per connection,
-- where a SQL function's are made again on every call.
CREATE FUNCTION cost_daily_apply(old_rows cost_ledger[], new_rows cost_ledger[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  -- Sum per distinct key combination first (a batch has few), then fan out to the dimensions.
  WITH l AS (
    SELECT r.org_id, r.billing_date, r.model_name, r.agent_id, r.user_id, r.session_id, r.plan_id,
      sum(r.sign * r.total_cost_usd) AS cost, sum(r.sign * coalesce(r.alternative_cost_usd, 0)) AS alt,
      sum(r.sign * coalesce(r.savings_usd, 0)) AS savings, sum(r.sign * r.prompt_tokens) AS prompt,
      sum(r.sign * r.completion_tokens) AS completion, sum(r.sign * r.cached_tokens) AS cached,
      sum(r.sign * r.cache_write_tokens) AS cache_write, sum(r.sign * r.reasoning_tokens) AS reasoning,
      sum(r.sign * r.total_tokens) AS total, sum(r.sign) AS spans
    FROM (
      SELECT -1 AS sign, o.* FROM unnest(old_rows) o
      UNION ALL
      SELECT 1 AS sign, n.* FROM unnest(new_rows) n
    ) r
    GROUP BY 1, 2, 3, 4, 5, 6, 7
  )
  INSERT INTO cost_daily AS d (org_id, dimension, day, key, shard, cost_usd, alternative_cost_usd, savings_usd,
    prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens, spans)
  SELECT l.org_id, k.dimension, l.billing_date, k.key, (pg_backend_pid() % 4)::smallint,
    sum(l.cost), sum(l.alt), sum(l.savings), sum(l.prompt), sum(l.completion), sum(l.cached),
    sum(l.cache_write), sum(l.reasoning), sum(l.total), sum(l.spans)
  FROM l
  CROSS JOIN LATERAL (VALUES
    ('total', ''),
    ('model', l.model_name),
    ('agent', coalesce(l.agent_id::text, '')),
    ('user', coalesce(l.user_id::text, '')),
    ('session', coalesce(l.session_id, '')),
    ('plan', coalesce(l.plan_id::text, '')),
    ('user_plan', CASE WHEN l.plan_id IS NULL THEN NULL ELSE coalesce(l.user_id::text, '') || '/' || l.plan_id END)
  ) AS k(dimension, key)
  WHERE k.key IS NOT NULL
  GROUP BY l.org_id, k.dimension, l.billing_date, k.key
  ORDER BY l.org_id, k.dimension, l.billing_date, k.key
  ON CONFLICT (org_id, dimension, day, key, shard) DO UPDATE SET
    cost_usd = d.cost_usd + EXCLUDED.cost_usd,
    alternative_cost_usd = d.alternative_cost_usd + EXCLUDED.alternative_cost_usd,
    savings_usd = d.savings_usd + EXCLUDED.savings_usd,
    prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens,
    completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
    cached_tokens = d.cached_tokens + EXCLUDED.cached_tokens,
    cache_write_tokens = d.cache_write_tokens + EXCLUDED.cache_write_tokens,
    reasoning_tokens = d.reasoning_tokens + EXCLUDED.reasoning_tokens,
    total_tokens = d.total_tokens + EXCLUDED.total_tokens,
    spans = d.spans + EXCLUDED.spans;
END
$$;

-- One trigger function for every roll-up: it hands the statement's old and
-- new rows (transition tables) to the apply function named in its argument.
-- The SQL is built per operation because a transition table exists only for
-- the operations that have it; it runs once per statement, not per row.
CREATE FUNCTION rollup_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_rows_sql text := CASE WHEN TG_OP IN ('UPDATE', 'DELETE')
    THEN format('ARRAY(SELECT (o.*)::%I FROM old_rows o)', TG_TABLE_NAME) ELSE quote_literal('{}') END;
  new_rows_sql text := CASE WHEN TG_OP IN ('INSERT', 'UPDATE')
    THEN format('ARRAY(SELECT (n.*)::%I FROM new_rows n)', TG_TABLE_NAME) ELSE quote_literal('{}') END;
BEGIN
  EXECUTE format('SELECT %I(%s, %s)', TG_ARGV[0], old_rows_sql, new_rows_sql);
  RETURN NULL;
END $$;
CREATE TRIGGER cost_ledger_daily_insert AFTER INSERT ON cost_ledger
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_statement('cost_daily_apply');
CREATE TRIGGER cost_ledger_daily_update AFTER UPDATE ON cost_ledger
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_statement('cost_daily_apply');
CREATE TRIGGER cost_ledger_daily_delete AFTER DELETE ON cost_ledger
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_statement('cost_daily_apply');

-- ------------------------------------------------------- execution_stats_daily
-- Executions per UTC day (of created_at), agent, model and status, with a
-- latency histogram: latency_bucket b holds latencies in
-- [1.25^(b-1), 1.25^b) ms (b = 0 for under 1 ms, -1 for unknown), so a p95
-- read from the buckets is within 25 % above the true value, from a few
-- thousand rows instead of every execution. The nil UUID and '' stand for a
-- missing agent or model (primary key columns cannot be NULL).
CREATE TABLE execution_stats_daily (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  day date NOT NULL,
  agent_id uuid NOT NULL,
  model_provider varchar(50) NOT NULL,
  model_name varchar(100) NOT NULL,
  status varchar(20) NOT NULL,
  latency_bucket smallint NOT NULL,
  shard smallint NOT NULL,
  executions bigint NOT NULL DEFAULT 0,
  latency_ms_sum bigint NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  total_tokens bigint NOT NULL DEFAULT 0,
  cost_usd numeric(18, 6) NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, day, agent_id, model_provider, model_name, status, latency_bucket, shard)
);
CREATE INDEX idx_execution_stats_agent ON execution_stats_daily (org_id, agent_id, day);

CREATE FUNCTION execution_latency_ms(e executions) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(e.execution_time_ms, e.latency_ms,
    CASE WHEN e.completed_at IS NOT NULL AND e.started_at IS NOT NULL
      THEN (extract(epoch FROM e.completed_at - e.started_at) * 1000)::bigint END)
$$;

CREATE FUNCTION latency_bucket(ms bigint) RETURNS smallint LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN ms IS NULL THEN -1 WHEN ms < 1 THEN 0 ELSE (floor(ln(ms) / ln(1.25)) + 1)::smallint END
$$;

-- The upper bound of a bucket, the value a percentile read from it reports.
CREATE FUNCTION latency_bucket_upper(b smallint) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN b <= 0 THEN 1 ELSE power(1.25, b) END
$$;

CREATE FUNCTION execution_stats_apply(old_rows executions[], new_rows executions[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO execution_stats_daily AS d (org_id, day, agent_id, model_provider, model_name, status, latency_bucket,
    shard, executions, latency_ms_sum, prompt_tokens, completion_tokens, total_tokens, cost_usd)
  SELECT l.org_id, (l.created_at AT TIME ZONE 'UTC')::date,
    coalesce(l.agent_id, '00000000-0000-0000-0000-000000000000'), coalesce(l.model_provider, ''),
    coalesce(l.model_name, ''), l.status, latency_bucket(l.latency), (pg_backend_pid() % 4)::smallint,
    sum(l.sign), sum(l.sign * coalesce(l.latency, 0)), sum(l.sign * l.prompt_tokens),
    sum(l.sign * l.completion_tokens), sum(l.sign * l.total_tokens), sum(l.sign * l.cost_usd)
  FROM (
    SELECT -1 AS sign, execution_latency_ms(o) AS latency, o.* FROM unnest(old_rows) o
    UNION ALL
    SELECT 1 AS sign, execution_latency_ms(n) AS latency, n.* FROM unnest(new_rows) n
  ) l
  GROUP BY 1, 2, 3, 4, 5, 6, 7
  ORDER BY 1, 2, 3, 4, 5, 6, 7
  ON CONFLICT (org_id, day, agent_id, model_provider, model_name, status, latency_bucket, shard) DO UPDATE SET
    executions = d.executions + EXCLUDED.executions,
    latency_ms_sum = d.latency_ms_sum + EXCLUDED.latency_ms_sum,
    prompt_tokens = d.prompt_tokens + EXCLUDED.prompt_tokens,
    completion_tokens = d.completion_tokens + EXCLUDED.completion_tokens,
    total_tokens = d.total_tokens + EXCLUDED.total_tokens,
    cost_usd = d.cost_usd + EXCLUDED.cost_usd;
END
$$;

CREATE TRIGGER executions_stats_insert AFTER INSERT ON executions
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_statement('execution_stats_apply');
CREATE TRIGGER executions_stats_update AFTER UPDATE ON executions
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_statement('execution_stats_apply');
CREATE TRIGGER executions_stats_delete AFTER DELETE ON executions
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_statement('execution_stats_apply');

-- Dropping an old partition (retention) deletes no rows, so it fires no
-- trigger: the aggregates keep history the detail tables no longer hold.

-- ------------------------------------------------------------------- views
-- Seed 000's views over the aggregates. security_invoker: a view otherwise
-- runs as its owner, who is not subject to row-level security.

-- v_agent_performance: the last 30 days per agent and model, with p95 read
-- from the latency histogram (an upper bound, see execution_stats_daily).
CREATE VIEW v_agent_performance WITH (security_invoker = true) AS
WITH s AS (
  SELECT org_id, nullif(agent_id, '00000000-0000-0000-0000-000000000000') AS agent_id,
    nullif(model_provider, '') AS model_provider, nullif(model_name, '') AS model_name, status, latency_bucket,
    sum(executions) AS executions, sum(latency_ms_sum) AS latency_ms_sum, sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd
  FROM execution_stats_daily
  WHERE day >= (now() AT TIME ZONE 'UTC')::date - 30
  GROUP BY 1, 2, 3, 4, 5, 6
), g AS (
  SELECT org_id, agent_id, model_provider, model_name, sum(executions) AS execution_count,
    sum(latency_ms_sum) FILTER (WHERE latency_bucket >= 0) / nullif(sum(executions) FILTER (WHERE latency_bucket >= 0), 0) AS avg_execution_time,
    sum(total_tokens) / nullif(sum(executions), 0) AS avg_tokens,
    sum(cost_usd) / nullif(sum(executions), 0) AS avg_cost,
    sum(cost_usd) AS total_cost,
    (sum(executions) FILTER (WHERE status = 'completed'))::float8 / nullif(sum(executions), 0) AS success_rate
  FROM s GROUP BY 1, 2, 3, 4
), h AS (
  SELECT org_id, agent_id, model_provider, model_name, latency_bucket,
    sum(sum(executions)) OVER w AS running, sum(sum(executions)) OVER (PARTITION BY org_id, agent_id, model_provider, model_name) AS n
  FROM s WHERE latency_bucket >= 0
  GROUP BY 1, 2, 3, 4, 5
  WINDOW w AS (PARTITION BY org_id, agent_id, model_provider, model_name ORDER BY latency_bucket)
)
SELECT g.*, (
  SELECT latency_bucket_upper(min(h.latency_bucket)) FROM h
  WHERE h.org_id = g.org_id AND h.agent_id IS NOT DISTINCT FROM g.agent_id
    AND h.model_provider IS NOT DISTINCT FROM g.model_provider AND h.model_name IS NOT DISTINCT FROM g.model_name
    AND h.running >= 0.95 * h.n
) AS p95_execution_time
FROM g;

-- v_user_cost_summary: per user and month, as seed 000.
CREATE VIEW v_user_cost_summary WITH (security_invoker = true) AS
WITH u AS (
  SELECT org_id, key, date_trunc('month', day)::date AS month, sum(cost_usd) AS monthly_cost,
    sum(total_tokens) AS monthly_tokens, sum(spans) AS monthly_requests
  FROM cost_daily WHERE dimension = 'user' GROUP BY 1, 2, 3
), p AS (
  -- Shards may hold negative parts (an update subtracts on its own shard): sum first.
  SELECT org_id, split_part(key, '/', 1) AS key, month, count(*) AS plans
  FROM (
    SELECT org_id, key, date_trunc('month', day)::date AS month FROM cost_daily
    WHERE dimension = 'user_plan' GROUP BY 1, 2, 3 HAVING sum(spans) > 0
  ) x
  GROUP BY 1, 2, 3
)
SELECT u.org_id, nullif(u.key, '')::uuid AS user_id, u.month, u.monthly_cost, u.monthly_tokens, u.monthly_requests,
  coalesce(p.plans, 0) AS plans_worked_on
FROM u LEFT JOIN p USING (org_id, key, month);

-- ---------------------------------------------------------- privileges + RLS
INSERT INTO permissions (resource, action, description) VALUES
  ('model_prices', 'write', 'Add and remove the organization''s own model prices');
INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON p.resource = 'model_prices' AND p.action = 'write'
WHERE r.org_id IS NULL AND r.name = 'admin';

GRANT SELECT, INSERT, UPDATE ON cost_daily, execution_stats_daily TO agentbase_app;
-- Keys past their table's retention are pruned per organization (src/runs/ingest-keys-prune.ts).
-- Keys are written in created_at order, so a BRIN index finds the old ones for
-- a fraction of what a B-tree costs on every ingested item.
GRANT DELETE ON ingest_keys TO agentbase_app;
DROP INDEX idx_ingest_keys_created;
CREATE INDEX idx_ingest_keys_created_brin ON ingest_keys USING brin (created_at);
GRANT SELECT ON v_agent_performance, v_user_cost_summary TO agentbase_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['cost_daily', 'execution_stats_daily'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO agentbase_app USING (org_id = app_current_org()) WITH CHECK (org_id = app_current_org())', t);
  END LOOP;
END $$;

-- Aggregates of what was ingested before this migration.
SELECT cost_daily_apply('{}', ARRAY(SELECT l FROM cost_ledger l));
SELECT execution_stats_apply('{}', ARRAY(SELECT e FROM executions e));
