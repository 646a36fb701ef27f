-- 0025: the service measures itself (issue 15, src/ops/metrics). Seed 004
-- performance_metrics, connection_pool_stats and its two materialized views;
-- seed 000 system_metrics with its per-metric retention; seed 003 REQ-T134
-- (system metrics), REQ-T136 (error_logs) and REQ-T137 (api_requests).
--
-- Who reads and writes: these are operational tables. The service writes them
-- off the request path, in batches, as the owner (db.admin); only platform
-- administrators read them, through the owner too. Rows carry org_id when the
-- request had a tenant, but they are not tenant data a tenant reads through
-- the app role: so no RLS policy, and agentbase_app is given no privilege at
-- all (REVOKE below), which makes "another tenant's rows" unreachable to it by
-- construction. test/db/tenancy.test.ts lists them as operational tables.
--
-- No foreign keys to users or organizations: rows are written seconds after
-- the request, and a user or organization erased meanwhile would fail the
-- whole batch; a cascade would also make every erasure scan every partition.
-- Retention drops the rows (partitions by age, src/db/partitions.ts), so the
-- personal data in them (address, user agent) lives only as long as that.

-- --------------------------------------------------------- performance_metrics
-- Seed 004, partitioned by month as the seed asks ("timestamp" is the seed's
-- column name and the partition key). org_id is ours: we are multi-tenant.
CREATE TABLE performance_metrics (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  metric_type varchar(50) NOT NULL CHECK (metric_type IN ('query', 'api', 'cache', 'frontend')),
  metric_name varchar(100) NOT NULL,
  duration_ms integer NOT NULL,
  memory_usage_mb integer,
  cpu_usage_percent numeric(5, 2),
  user_id uuid,
  org_id uuid,
  session_id varchar(100),
  request_id varchar(100),
  endpoint varchar(200),
  -- for SQL statement identification (e.g. pg_stat_statements' queryid, hashed)
  query_hash varchar(64),
  user_agent text,
  ip_address inet,
  "timestamp" timestamptz NOT NULL DEFAULT now(),
  metadata jsonb,
  CONSTRAINT valid_duration CHECK (duration_ms >= 0),
  CONSTRAINT valid_memory CHECK (memory_usage_mb >= 0),
  CONSTRAINT valid_cpu CHECK (cpu_usage_percent >= 0 AND cpu_usage_percent <= 100),
  PRIMARY KEY (id, "timestamp")
) PARTITION BY RANGE ("timestamp");
-- every index of the seed
CREATE INDEX idx_performance_metrics_type_time ON performance_metrics (metric_type, "timestamp");
CREATE INDEX idx_performance_metrics_user_time ON performance_metrics (user_id, "timestamp");
CREATE INDEX idx_performance_metrics_duration ON performance_metrics (duration_ms);
CREATE INDEX idx_performance_metrics_endpoint ON performance_metrics (endpoint, "timestamp");
CREATE INDEX idx_performance_metrics_query_hash ON performance_metrics (query_hash, "timestamp");
-- ours: one organization's figures (the operations overview filters by it)
CREATE INDEX idx_performance_metrics_org_time ON performance_metrics (org_id, "timestamp");

-- ---------------------------------------------------------------- api_requests
-- Seed 003 REQ-T137 "API request logging, partitioned by timestamp (daily),
-- request analytics available". One row per kept request (sampled: see
-- sample_rate and kept_because), written after the answer was sent.
CREATE TABLE api_requests (
  id uuid NOT NULL,
  request_id varchar(100) NOT NULL,
  method varchar(10) NOT NULL,
  -- the route pattern (/v1/agents/:id), never the raw URL: no ids, no query strings
  route varchar(200) NOT NULL,
  status_code smallint NOT NULL CHECK (status_code BETWEEN 100 AND 599),
  duration_ms numeric(12, 3) NOT NULL CHECK (duration_ms >= 0),
  org_id uuid,
  user_id uuid,
  api_key_id uuid,
  principal_type varchar(10) CHECK (principal_type IN ('user', 'api_key')),
  ip_address inet,
  user_agent varchar(500),
  request_bytes integer CHECK (request_bytes >= 0),
  response_bytes integer CHECK (response_bytes >= 0),
  -- Why the row exists, so totals can be estimated: a 'sampled' row stands for
  -- 1 / sample_rate requests, a 'slow' or 'error' row (always kept) for itself.
  kept_because varchar(10) NOT NULL CHECK (kept_because IN ('sampled', 'slow', 'error')),
  sample_rate real NOT NULL CHECK (sample_rate >= 0 AND sample_rate <= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_api_requests_time ON api_requests (created_at);
CREATE INDEX idx_api_requests_org_time ON api_requests (org_id, created_at);
CREATE INDEX idx_api_requests_route_time ON api_requests (route, created_at);
CREATE INDEX idx_api_requests_request_id ON api_requests (request_id);
CREATE INDEX idx_api_requests_errors ON api_requests (created_at) WHERE status_code >= 500;

-- ------------------------------------------------------------------ error_logs
-- Seed 003 REQ-T136 "application error logging, partitioned by timestamp
-- (weekly), error analysis queryable". One row per request answered 5xx
-- (internal): request_id is the requestId the client was given, so a report
-- from a client finds its row. message and stack are scrubbed of credentials
-- (bearer tokens, API keys, passwords in URLs) and bounded before they are written.
CREATE TABLE error_logs (
  id uuid NOT NULL,
  request_id varchar(100),
  org_id uuid,
  user_id uuid,
  api_key_id uuid,
  method varchar(10),
  route varchar(200),
  status_code smallint CHECK (status_code BETWEEN 100 AND 599),
  -- the code the client was answered (internal) and what was thrown
  error_code varchar(50) NOT NULL,
  error_name varchar(100),
  -- the SQLSTATE, when the database raised it
  pg_code varchar(5),
  message text NOT NULL CHECK (length(message) <= 2000),
  stack text CHECK (length(stack) <= 8000),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_error_logs_time ON error_logs (created_at);
CREATE INDEX idx_error_logs_org_time ON error_logs (org_id, created_at);
CREATE INDEX idx_error_logs_request_id ON error_logs (request_id);
CREATE INDEX idx_error_logs_code_time ON error_logs (error_code, created_at);

-- ------------------------------------------------------- connection_pool_stats
-- Seed 004, one row per sample of a process's database pool. Embedded mode
-- (PGlite) is one in-process connection and is recorded as such. instance is
-- ours (host:pid): several processes share one database.
CREATE TABLE connection_pool_stats (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pool_name varchar(50) NOT NULL,
  database_name varchar(50) NOT NULL,
  instance varchar(100),
  total_connections integer NOT NULL CHECK (total_connections >= 0),
  active_connections integer NOT NULL CHECK (active_connections >= 0),
  idle_connections integer NOT NULL CHECK (idle_connections >= 0),
  waiting_connections integer NOT NULL CHECK (waiting_connections >= 0),
  -- the wait for a connection (checkout, including a new connection's set-up) over the sample's interval
  avg_connection_time_ms numeric(10, 3),
  max_connection_time_ms integer,
  -- connection errors during the sample's interval
  connection_errors integer DEFAULT 0,
  recorded_at timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_connection_pool_stats_time ON connection_pool_stats (recorded_at);
CREATE INDEX idx_connection_pool_stats_pool ON connection_pool_stats (pool_name, recorded_at);

-- -------------------------------------------------------------- system_metrics
-- Seed 000 system_metrics (service-wide gauges: event loop delay, memory, CPU),
-- with its per-row retention: tags->>'retention_days', else retention_days,
-- else 30 days (seed 000 cleanup_old_system_metrics). The recorder writes its
-- own gauges with retention_days 90 (seed 003 REQ-T134: 90 days raw).
CREATE TABLE system_metrics (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  metric_name varchar(100) NOT NULL,
  metric_type varchar(50) NOT NULL CHECK (metric_type IN ('counter', 'gauge', 'histogram', 'timer')),
  value numeric(15, 6) NOT NULL,
  unit varchar(20),
  tags jsonb DEFAULT '{}',
  service_name varchar(50),
  environment varchar(20),
  version varchar(20),
  recorded_at timestamptz DEFAULT now(),
  retention_days integer DEFAULT 30 CHECK (retention_days >= 0),
  -- a retention tag the cleanup could not read would stop the cleanup for every row
  CONSTRAINT system_metrics_retention_tag CHECK (
    tags IS NULL OR NOT tags ? 'retention_days' OR (tags ->> 'retention_days') ~ '^[0-9]{1,6}$')
);
CREATE INDEX idx_system_metrics_name ON system_metrics (metric_name);
CREATE INDEX idx_system_metrics_recorded_at ON system_metrics (recorded_at);
CREATE INDEX idx_system_metrics_tags ON system_metrics USING gin (tags);
CREATE INDEX idx_system_metrics_service ON system_metrics (service_name);

-- Seed 000's function, run by maintenance (src/server.ts maintain()). p_now
-- lets maintenance pass its clock; the seed's NOW() is the default.
CREATE FUNCTION cleanup_old_system_metrics(p_now timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  deleted_count integer;
BEGIN
  DELETE FROM system_metrics
  WHERE recorded_at < p_now - interval '1 day' *
        COALESCE((tags ->> 'retention_days')::integer, retention_days, 30);
  GET DIAGNOSTICS deleted_count = ROW_COUNT;
  RETURN deleted_count;
END $$;
REVOKE EXECUTE ON FUNCTION cleanup_old_system_metrics(timestamptz) FROM PUBLIC;

-- ----------------------------------------------------------- materialized views
-- Seed 004's two views. Materialized views ignore row-level security, so the
-- app role gets nothing on them (REVOKE below); refresh scheduling and
-- tenant-filtered reads are built on top (issue 15, "matviews"). Each has a
-- unique index over all rows, which REFRESH MATERIALIZED VIEW CONCURRENTLY
-- needs. Both are created WITH NO DATA, as the ones 0027 adds: the first
-- refresh (src/ops/matviews) is a plain one, later ones CONCURRENTLY.

-- Per member of an organization (a user may belong to several: the seed's
-- per-user row is per (org_id, user_id) here). Counts come from one lateral
-- aggregate per table instead of the seed's joins of tasks x projects x lists,
-- whose product would inflate completed_tasks and recent_tasks.
CREATE MATERIALIZED VIEW user_activity_summary AS
SELECT
  m.org_id,
  u.id AS user_id,
  u.email,
  coalesce(t.total_tasks, 0) AS total_tasks,
  coalesce(p.total_projects, 0) AS total_projects,
  coalesce(l.total_lists, 0) AS total_lists,
  coalesce(t.completed_tasks, 0) AS completed_tasks,
  coalesce(t.recent_tasks, 0) AS recent_tasks,
  t.last_activity,
  coalesce(pm.avg_response_time_ms, 0) AS avg_response_time_ms
FROM memberships m
JOIN users u ON u.id = m.user_id
LEFT JOIN LATERAL (
  SELECT count(*) AS total_tasks,
         count(*) FILTER (WHERE x.status = 'completed') AS completed_tasks,
         count(*) FILTER (WHERE x.created_at >= CURRENT_DATE - interval '30 days') AS recent_tasks,
         max(x.updated_at) AS last_activity
  FROM tasks x WHERE x.org_id = m.org_id AND x.user_id = m.user_id AND x.deleted_at IS NULL
) t ON true
LEFT JOIN LATERAL (
  SELECT count(*) AS total_projects FROM projects x
  WHERE x.org_id = m.org_id AND x.user_id = m.user_id AND x.deleted_at IS NULL
) p ON true
LEFT JOIN LATERAL (
  SELECT count(*) AS total_lists FROM lists x
  WHERE x.org_id = m.org_id AND x.user_id = m.user_id AND x.deleted_at IS NULL
) l ON true
LEFT JOIN LATERAL (
  SELECT avg(x.duration_ms) AS avg_response_time_ms FROM performance_metrics x
  WHERE x.org_id = m.org_id AND x.user_id = m.user_id AND x.metric_type = 'api'
    AND x."timestamp" >= CURRENT_DATE - interval '7 days'
) pm ON true
WHERE m.deleted_at IS NULL
WITH NO DATA;
-- the seed's name; unique per (org_id, user_id) since a user may be in several organizations
CREATE UNIQUE INDEX idx_user_activity_summary_user_id ON user_activity_summary (org_id, user_id);

-- Statement shapes across the service: not tenant data (a query_hash names a
-- statement, not a row), so one row per query_hash. Rows without a hash are
-- left out so the unique index covers every row.
CREATE MATERIALIZED VIEW query_performance_summary AS
SELECT
  query_hash,
  count(*) AS execution_count,
  avg(duration_ms) AS avg_duration_ms,
  min(duration_ms) AS min_duration_ms,
  max(duration_ms) AS max_duration_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_duration_ms,
  count(DISTINCT user_id) AS unique_users,
  max("timestamp") AS last_execution
FROM performance_metrics
WHERE metric_type = 'query'
  AND query_hash IS NOT NULL
  AND "timestamp" >= CURRENT_DATE - interval '7 days'
GROUP BY query_hash
HAVING count(*) > 10
WITH NO DATA;
-- the seed's idx_query_performance_summary_hash, made unique (REFRESH CONCURRENTLY)
CREATE UNIQUE INDEX idx_query_performance_summary_hash ON query_performance_summary (query_hash);
CREATE INDEX idx_query_performance_summary_avg_duration ON query_performance_summary (avg_duration_ms);

-- ------------------------------------------------------------------ privileges
-- Owner only (see the top): nothing for the app role or the auth role.
REVOKE ALL ON performance_metrics, api_requests, error_logs, connection_pool_stats, system_metrics,
  user_activity_summary, query_performance_summary FROM PUBLIC, agentbase_app, agentbase_auth;

-- ------------------------------------------------------------------ partitions
-- Kept ahead and dropped by retention by maintenance (src/db/partitions.ts).
SELECT ensure_monthly_partitions('performance_metrics', now() - interval '1 month', 4);
SELECT ensure_daily_partitions('api_requests', now() - interval '1 day', 9);
SELECT ensure_weekly_partitions('error_logs', now() - interval '1 week', 5);
