-- 0027: materialized views refreshed on the job queue (issue 15, seed 004
-- "Materialized Views for Performance", seed 000 v_agent_performance).
--
-- Who owns what:
--   agentbase_auth  owns the materialized views and the views that serve them.
--                   A refresh runs the view's query as its owner, and under
--                   forced row-level security an owner with no policy sees no
--                   tenant's rows (a non-superuser migration role would build
--                   empty views); agentbase_auth gets a read-only policy of
--                   `true` on the two roll-ups it summarises, as in 0016.
--                   The migration role is a member of agentbase_auth (0001),
--                   so db.admin may REFRESH them.
--   agentbase_app   nothing on the materialized views: they have no
--                   row-level security, so they hold every tenant's rows.
--                   Tenants read them through the report_* views below,
--                   security_barrier views that keep the rows of
--                   app_current_org() only (none when no tenant is set).
--
-- The materialized views are created WITH NO DATA: the first refresh (a
-- plain one: CONCURRENTLY needs a populated view) builds them on the job
-- queue, not inside this migration's transaction. Each has a UNIQUE index
-- over plain, non-null columns, which REFRESH … CONCURRENTLY needs.

CREATE POLICY matview_read ON cost_daily FOR SELECT TO agentbase_auth USING (true);
CREATE POLICY matview_read ON execution_stats_daily FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT ON cost_daily, execution_stats_daily TO agentbase_auth;
GRANT SELECT ON v_agent_performance TO agentbase_auth;

-- ------------------------------------------------------ mv_agent_daily_costs
-- Per organization, agent and UTC day: the ledger's cost and tokens
-- (cost_daily, dimension 'agent', billing day) and the executions started
-- that day (execution_stats_daily, day of creation). The nil UUID stands for
-- "no agent" (unique index columns must not be NULL); the report view gives
-- NULL back. Shards may hold negative parts, so every figure is summed first.
CREATE MATERIALIZED VIEW mv_agent_daily_costs AS
WITH c AS (
  SELECT org_id, coalesce(nullif(key, ''), '00000000-0000-0000-0000-000000000000')::uuid AS agent_id, day,
    sum(cost_usd) AS cost_usd, sum(alternative_cost_usd) AS alternative_cost_usd, sum(savings_usd) AS savings_usd,
    sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
    sum(total_tokens) AS total_tokens, sum(spans) AS llm_calls
  FROM cost_daily WHERE dimension = 'agent'
  GROUP BY 1, 2, 3
), e AS (
  SELECT org_id, agent_id, day, sum(executions) AS executions,
    sum(executions) FILTER (WHERE status = 'completed') AS completed
  FROM execution_stats_daily
  GROUP BY 1, 2, 3
)
SELECT coalesce(c.org_id, e.org_id) AS org_id, coalesce(c.agent_id, e.agent_id) AS agent_id,
  coalesce(c.day, e.day) AS day,
  coalesce(c.cost_usd, 0)::numeric(18, 6) AS cost_usd,
  coalesce(c.alternative_cost_usd, 0)::numeric(18, 6) AS alternative_cost_usd,
  coalesce(c.savings_usd, 0)::numeric(18, 6) AS savings_usd,
  coalesce(c.prompt_tokens, 0)::bigint AS prompt_tokens,
  coalesce(c.completion_tokens, 0)::bigint AS completion_tokens,
  coalesce(c.total_tokens, 0)::bigint AS total_tokens,
  coalesce(c.llm_calls, 0)::bigint AS llm_calls,
  coalesce(e.executions, 0)::bigint AS executions,
  coalesce(e.completed, 0)::bigint AS completed_executions
FROM c FULL JOIN e ON e.org_id = c.org_id AND e.agent_id = c.agent_id AND e.day = c.day
WHERE coalesce(c.llm_calls, 0) <> 0 OR coalesce(c.cost_usd, 0) <> 0 OR coalesce(e.executions, 0) <> 0
WITH NO DATA;
CREATE UNIQUE INDEX idx_mv_agent_daily_costs_key ON mv_agent_daily_costs (org_id, agent_id, day);
CREATE INDEX idx_mv_agent_daily_costs_day ON mv_agent_daily_costs (org_id, day);

-- ------------------------------------------------------- mv_plan_daily_costs
-- Per organization, plan and UTC billing day (cost_daily, dimension 'plan';
-- ledger rows with no plan are left out), with how many users worked on the
-- plan that day (dimension 'user_plan', key user/plan).
CREATE MATERIALIZED VIEW mv_plan_daily_costs AS
WITH p AS (
  SELECT org_id, key::uuid AS plan_id, day,
    sum(cost_usd) AS cost_usd, sum(alternative_cost_usd) AS alternative_cost_usd, sum(savings_usd) AS savings_usd,
    sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
    sum(total_tokens) AS total_tokens, sum(spans) AS llm_calls
  FROM cost_daily WHERE dimension = 'plan' AND key <> ''
  GROUP BY 1, 2, 3
  HAVING sum(spans) <> 0 OR sum(cost_usd) <> 0
), u AS (
  SELECT org_id, split_part(key, '/', 2)::uuid AS plan_id, day, count(*) AS users
  FROM (
    SELECT org_id, key, day FROM cost_daily WHERE dimension = 'user_plan'
    GROUP BY 1, 2, 3 HAVING sum(spans) > 0
  ) x
  GROUP BY 1, 2, 3
)
SELECT p.org_id, p.plan_id, p.day,
  p.cost_usd::numeric(18, 6) AS cost_usd, p.alternative_cost_usd::numeric(18, 6) AS alternative_cost_usd,
  p.savings_usd::numeric(18, 6) AS savings_usd, p.prompt_tokens::bigint AS prompt_tokens,
  p.completion_tokens::bigint AS completion_tokens, p.total_tokens::bigint AS total_tokens,
  p.llm_calls::bigint AS llm_calls, coalesce(u.users, 0)::bigint AS users
FROM p LEFT JOIN u USING (org_id, plan_id, day)
WITH NO DATA;
CREATE UNIQUE INDEX idx_mv_plan_daily_costs_key ON mv_plan_daily_costs (org_id, plan_id, day);
CREATE INDEX idx_mv_plan_daily_costs_day ON mv_plan_daily_costs (org_id, day);

-- ----------------------------------------------------- mv_agent_performance
-- Seed 000 v_agent_performance (0007's definition over the histogram, the
-- last 30 days as of the refresh) per organization, agent and model. The nil
-- UUID and '' stand for a missing agent or model in the unique key.
CREATE MATERIALIZED VIEW mv_agent_performance AS
SELECT org_id, coalesce(agent_id, '00000000-0000-0000-0000-000000000000') AS agent_id,
  coalesce(model_provider, '')::varchar(50) AS model_provider, coalesce(model_name, '')::varchar(100) AS model_name,
  execution_count::bigint AS execution_count, avg_execution_time::float8 AS avg_execution_time_ms,
  avg_tokens::float8 AS avg_tokens, avg_cost::numeric(18, 6) AS avg_cost_usd, total_cost::numeric(18, 6) AS total_cost_usd,
  -- 0 rather than NULL when none completed, as the seed's SUM(CASE …) / COUNT(*)
  coalesce(success_rate, 0) AS success_rate, p95_execution_time AS p95_execution_time_ms
FROM v_agent_performance
WHERE execution_count <> 0
WITH NO DATA;
CREATE UNIQUE INDEX idx_mv_agent_performance_key ON mv_agent_performance (org_id, agent_id, model_provider, model_name);

-- ---------------------------------------------------------- tenant access
-- security_barrier: the tenant condition is applied before any condition a
-- caller adds, so a leaky function in a caller's WHERE cannot see other rows.
-- Not security_invoker: the view reads the materialized view as its owner.
CREATE VIEW report_agent_daily_costs WITH (security_barrier = true) AS
SELECT org_id, nullif(agent_id, '00000000-0000-0000-0000-000000000000') AS agent_id, day, cost_usd,
  alternative_cost_usd, savings_usd, prompt_tokens, completion_tokens, total_tokens, llm_calls, executions,
  completed_executions
FROM mv_agent_daily_costs WHERE org_id = app_current_org();

CREATE VIEW report_plan_daily_costs WITH (security_barrier = true) AS
SELECT org_id, plan_id, day, cost_usd, alternative_cost_usd, savings_usd, prompt_tokens, completion_tokens,
  total_tokens, llm_calls, users
FROM mv_plan_daily_costs WHERE org_id = app_current_org();

CREATE VIEW report_agent_performance WITH (security_barrier = true) AS
SELECT org_id, nullif(agent_id, '00000000-0000-0000-0000-000000000000') AS agent_id,
  nullif(model_provider, '') AS model_provider, nullif(model_name, '') AS model_name, execution_count,
  avg_execution_time_ms, avg_tokens, avg_cost_usd, total_cost_usd, success_rate, p95_execution_time_ms
FROM mv_agent_performance WHERE org_id = app_current_org();

-- --------------------------------------------------------- refresh history
-- One row per refresh attempt, written by the service as the owner. Global:
-- names and timings only (an error message may quote a key, so the app role
-- reads none of it; matview_refreshed_at below answers the one question
-- tenant reads have).
CREATE TABLE matview_refreshes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name varchar(63) NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  duration_ms double precision NOT NULL CHECK (duration_ms >= 0),
  rows bigint,
  concurrent boolean NOT NULL,
  error text CHECK (length(error) <= 4000),
  CHECK ((error IS NULL) = (rows IS NOT NULL))
);
CREATE INDEX idx_matview_refreshes_name ON matview_refreshes (name, finished_at DESC);
CREATE INDEX idx_matview_refreshes_ok ON matview_refreshes (name, finished_at DESC) WHERE error IS NULL;
CREATE INDEX idx_matview_refreshes_finished ON matview_refreshes (finished_at);

-- When a view last refreshed successfully (NULL: never), for tenant reads to
-- report how stale their figures are.
GRANT SELECT (name, finished_at, error) ON matview_refreshes TO agentbase_auth;
CREATE FUNCTION matview_refreshed_at(p_name text) RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT r.finished_at FROM matview_refreshes r WHERE r.name = p_name AND r.error IS NULL
  ORDER BY r.finished_at DESC LIMIT 1
$$;

-- ------------------------------------------------------------ system jobs
-- Every job belongs to an organization (background_jobs.org_id, under RLS).
-- Work that belongs to no tenant (refreshing a materialized view) is queued
-- under this one organization, which no user is a member of: the worker,
-- retries, the dead letter, idempotency keys and retention then apply to it
-- unchanged. Inserted with RLS lifted for this transaction only (as in 0014).
CREATE FUNCTION ops_system_org_id() RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT '00000000-0000-0000-0000-00000000a9e7'::uuid $$;
ALTER TABLE organizations NO FORCE ROW LEVEL SECURITY;
INSERT INTO organizations (id, name, slug, settings)
VALUES (ops_system_org_id(), 'agentbase system', 'agentbase-system', '{"system": true}')
ON CONFLICT (id) DO NOTHING;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;

-- ---------------------------------------------------------- privileges
DO $$
DECLARE v text;
BEGIN
  FOREACH v IN ARRAY ARRAY['mv_agent_daily_costs', 'mv_plan_daily_costs', 'mv_agent_performance'] LOOP
    EXECUTE format('ALTER MATERIALIZED VIEW %I OWNER TO agentbase_auth', v);
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, agentbase_app', v);
  END LOOP;
  FOREACH v IN ARRAY ARRAY['report_agent_daily_costs', 'report_plan_daily_costs', 'report_agent_performance'] LOOP
    EXECUTE format('ALTER VIEW %I OWNER TO agentbase_auth', v);
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', v);
    EXECUTE format('GRANT SELECT ON %I TO agentbase_app', v);
  END LOOP;
END $$;
REVOKE ALL ON matview_refreshes FROM PUBLIC, agentbase_app;
ALTER FUNCTION matview_refreshed_at(text) OWNER TO agentbase_auth;
REVOKE ALL ON FUNCTION matview_refreshed_at(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION matview_refreshed_at(text) TO agentbase_app;

-- Seed 004's two views (0025) are refreshed the same way: owned by
-- agentbase_auth, which reads their sources through read-only policies and
-- column grants (the columns the views use; a non-superuser owner without
-- them would build empty views under forced RLS, or fail).
CREATE POLICY matview_read ON projects FOR SELECT TO agentbase_auth USING (true);
CREATE POLICY matview_read ON lists FOR SELECT TO agentbase_auth USING (true);
GRANT SELECT (org_id, user_id, deleted_at) ON projects, lists TO agentbase_auth;
GRANT SELECT (created_at, updated_at) ON tasks TO agentbase_auth;
GRANT SELECT (id, email) ON users TO agentbase_auth;
GRANT SELECT (org_id, user_id, metric_type, duration_ms, "timestamp", query_hash) ON performance_metrics TO agentbase_auth;
ALTER MATERIALIZED VIEW user_activity_summary OWNER TO agentbase_auth;
ALTER MATERIALIZED VIEW query_performance_summary OWNER TO agentbase_auth;
REVOKE ALL ON user_activity_summary, query_performance_summary FROM PUBLIC, agentbase_app;
