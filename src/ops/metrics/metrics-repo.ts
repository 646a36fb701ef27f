import { uuidv7, type Database } from '../../db/index.js';
import type { ApiRequestRecord, ErrorRecord, PerformanceRecord, PoolStatsRecord, SystemMetricRecord } from './rows.js';

/**
 * The operational tables' SQL (migration 0025). Every write is one multi-row
 * statement (jsonb_to_recordset) as the owner: the app role has no privilege
 * on these tables. Nothing here runs on a request's path. Rows are written
 * seconds after their request, so rows of an organization or user erased in
 * between are dropped here rather than brought back.
 */

const cut = (s: string | null | undefined, n: number): string | null => (s == null ? null : s.length > n ? s.slice(0, n) : s);

export async function insertApiRequests(db: Database, rows: readonly ApiRequestRecord[]): Promise<number> {
  if (!rows.length) return 0;
  const data = rows.map((r) => ({
    id: uuidv7(), request_id: cut(r.requestId, 100), method: cut(r.method, 10), route: cut(r.route, 200), status: r.status,
    ms: r.durationMs, org_id: r.orgId, user_id: r.userId, api_key_id: r.apiKeyId, principal_type: r.principalType,
    ip: r.ip, ua: cut(r.userAgent, 500), req_bytes: r.requestBytes, res_bytes: r.responseBytes,
    kept: r.keptBecause, rate: r.sampleRate, at: r.at,
  }));
  const res = await db.admin.query(
    `INSERT INTO api_requests (id, request_id, method, route, status_code, duration_ms, org_id, user_id, api_key_id,
                               principal_type, ip_address, user_agent, request_bytes, response_bytes, kept_because, sample_rate, created_at)
     SELECT x.id, x.request_id, x.method, x.route, x.status, round(x.ms, 3), x.org_id, x.user_id, x.api_key_id,
            x.principal_type, x.ip, x.ua, x.req_bytes, x.res_bytes, x.kept, x.rate, x.at
     FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, request_id text, method text, route text, status smallint, ms numeric,
       org_id uuid, user_id uuid, api_key_id uuid, principal_type text, ip inet, ua text, req_bytes integer, res_bytes integer,
       kept text, rate real, at timestamptz)
     WHERE (x.org_id IS NULL OR EXISTS (SELECT 1 FROM organizations o WHERE o.id = x.org_id))
       AND (x.user_id IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id))`,
    [JSON.stringify(data)],
  );
  return res.rowCount;
}

/** performance_metrics rows: the api requests kept (metric_type api) and whatever other modules recorded. */
export async function insertPerformanceMetrics(
  db: Database,
  requests: readonly ApiRequestRecord[],
  others: readonly PerformanceRecord[],
): Promise<number> {
  const data = [
    ...requests.map((r) => ({
      id: uuidv7(), type: 'api', name: cut(`${r.method} ${r.route}`, 100), ms: Math.round(r.durationMs), mem: null, cpu: null,
      user_id: r.userId, org_id: r.orgId, session_id: r.sessionId, request_id: cut(r.requestId, 100), endpoint: cut(r.route, 200),
      query_hash: null, ua: r.userAgent, ip: r.ip, at: r.at, metadata: { method: r.method, status: r.status, kept: r.keptBecause },
    })),
    ...others.map((r) => ({
      id: uuidv7(), type: r.metricType, name: cut(r.metricName, 100), ms: Math.max(0, Math.round(r.durationMs)),
      mem: r.memoryUsageMb ?? null, cpu: r.cpuUsagePercent ?? null, user_id: r.userId ?? null, org_id: r.orgId ?? null,
      session_id: cut(r.sessionId, 100), request_id: cut(r.requestId, 100), endpoint: cut(r.endpoint, 200),
      query_hash: cut(r.queryHash, 64), ua: null, ip: null, at: r.at ?? new Date(), metadata: r.metadata ?? null,
    })),
  ];
  if (!data.length) return 0;
  const res = await db.admin.query(
    `INSERT INTO performance_metrics (id, metric_type, metric_name, duration_ms, memory_usage_mb, cpu_usage_percent, user_id, org_id,
                                      session_id, request_id, endpoint, query_hash, user_agent, ip_address, "timestamp", metadata)
     SELECT x.id, x.type, x.name, x.ms, x.mem, x.cpu, x.user_id, x.org_id, x.session_id, x.request_id, x.endpoint, x.query_hash,
            x.ua, x.ip, x.at, x.metadata
     FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, type text, name text, ms integer, mem integer, cpu numeric, user_id uuid,
       org_id uuid, session_id text, request_id text, endpoint text, query_hash text, ua text, ip inet, at timestamptz, metadata jsonb)
     WHERE (x.org_id IS NULL OR EXISTS (SELECT 1 FROM organizations o WHERE o.id = x.org_id))
       AND (x.user_id IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id))`,
    [JSON.stringify(data)],
  );
  return res.rowCount;
}

export async function insertErrorLogs(db: Database, rows: readonly ErrorRecord[]): Promise<number> {
  if (!rows.length) return 0;
  const data = rows.map((r) => ({
    id: uuidv7(), request_id: cut(r.requestId, 100), org_id: r.orgId, user_id: r.userId, api_key_id: r.apiKeyId,
    method: cut(r.method, 10), route: cut(r.route, 200), status: r.status, code: cut(r.errorCode, 50), name: cut(r.errorName, 100),
    pg_code: cut(r.pgCode, 5), message: cut(r.message, 2000), stack: cut(r.stack, 8000), at: r.at,
  }));
  const res = await db.admin.query(
    `INSERT INTO error_logs (id, request_id, org_id, user_id, api_key_id, method, route, status_code, error_code, error_name,
                             pg_code, message, stack, created_at)
     SELECT x.id, x.request_id, x.org_id, x.user_id, x.api_key_id, x.method, x.route, x.status, x.code, x.name,
            x.pg_code, x.message, x.stack, x.at
     FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, request_id text, org_id uuid, user_id uuid, api_key_id uuid, method text,
       route text, status smallint, code text, name text, pg_code text, message text, stack text, at timestamptz)
     WHERE (x.org_id IS NULL OR EXISTS (SELECT 1 FROM organizations o WHERE o.id = x.org_id))
       AND (x.user_id IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id))`,
    [JSON.stringify(data)],
  );
  return res.rowCount;
}

export async function insertPoolStats(db: Database, rows: readonly PoolStatsRecord[]): Promise<number> {
  if (!rows.length) return 0;
  const data = rows.map((r) => ({
    pool: cut(r.poolName, 50), database: cut(r.databaseName, 50), instance: cut(r.instance, 100), total: r.total, active: r.active,
    idle: r.idle, waiting: r.waiting, avg: r.avgConnectionTimeMs, max: r.maxConnectionTimeMs, errors: r.connectionErrors, at: r.at,
  }));
  const res = await db.admin.query(
    `INSERT INTO connection_pool_stats (pool_name, database_name, instance, total_connections, active_connections, idle_connections,
                                        waiting_connections, avg_connection_time_ms, max_connection_time_ms, connection_errors, recorded_at)
     SELECT x.pool, x.database, x.instance, x.total, x.active, x.idle, x.waiting, round(x.avg, 3), x.max, x.errors, x.at
     FROM jsonb_to_recordset($1::jsonb) AS x(pool text, database text, instance text, total integer, active integer, idle integer,
       waiting integer, avg numeric, max integer, errors integer, at timestamptz)`,
    [JSON.stringify(data)],
  );
  return res.rowCount;
}

export async function insertSystemMetrics(db: Database, rows: readonly SystemMetricRecord[]): Promise<number> {
  if (!rows.length) return 0;
  const data = rows.map((r) => ({
    name: cut(r.name, 100), type: r.type, value: r.value, unit: cut(r.unit, 20), tags: r.tags, service: cut(r.serviceName, 50),
    env: cut(r.environment, 20), version: cut(r.version, 20), retention: r.retentionDays, at: r.at,
  }));
  const res = await db.admin.query(
    `INSERT INTO system_metrics (metric_name, metric_type, value, unit, tags, service_name, environment, version, retention_days, recorded_at)
     SELECT x.name, x.type, round(x.value, 6), x.unit, coalesce(x.tags, '{}'), x.service, x.env, x.version, coalesce(x.retention, 30), x.at
     FROM jsonb_to_recordset($1::jsonb) AS x(name text, type text, value numeric, unit text, tags jsonb, service text, env text,
       version text, retention integer, at timestamptz)`,
    [JSON.stringify(data)],
  );
  return res.rowCount;
}

/** Seed 000's retention: each system_metrics row by its own retention (tag, column, else 30 days). */
export async function cleanupSystemMetrics(db: Database, now = new Date()): Promise<number> {
  const r = await db.admin.query<{ n: number }>('SELECT cleanup_old_system_metrics($1::timestamptz) AS n', [now.toISOString()]);
  return r.rows[0]?.n ?? 0;
}

/** connection_pool_stats is small (a row per process per sample) and unpartitioned: rows older than the retention are deleted. */
export async function prunePoolStats(db: Database, now = new Date(), retainDays = POOL_STATS_RETAIN_DAYS): Promise<number> {
  const r = await db.admin.query(`DELETE FROM connection_pool_stats WHERE recorded_at < $1::timestamptz - make_interval(days => $2)`, [
    now.toISOString(),
    retainDays,
  ]);
  return r.rowCount;
}

/** seed 004 sets none; as system_metrics' raw retention (seed 003 REQ-T134: 90 days) */
export const POOL_STATS_RETAIN_DAYS = 90;
