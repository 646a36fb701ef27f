import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpsMetrics, refreshMatview } from '../../src/ops/index.js';
import { maintain, VERSION } from '../../src/server.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { driver } from '../helpers/db.js';

/**
 * The service measures itself into its own database (issue 15): kept requests
 * become api_requests + performance_metrics rows, 5xx answers error_logs rows,
 * and the samplers pool and process figures; all written by flush(), as the
 * owner, in tables the app role cannot read.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let t: TestApp;
let u: SignedUp;

beforeAll(async () => {
  t = await createTestApp({ AGENTBASE_METRICS_SAMPLE_RATE: '1', AGENTBASE_METRICS_SLOW_MS: '600000', AGENTBASE_ENVIRONMENT: 'ci-test' });
  // Test-only routes, registered before the app first answers: a route that throws (a real 500, no mock).
  t.app.get('/v1/test/boom', { config: { auth: 'optional' } }, async () => {
    throw new Error('upstream refused: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl via postgres://agent:hunter2@db:5432/x');
  });
  u = await signupUser(t.app);
});
afterAll(async () => t?.close());

async function rows<R = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
  return (await t.db.admin.query<R>(sql, params)).rows;
}

describe('API requests', () => {
  it('a kept request becomes one api_requests and one performance_metrics row with its request id, route, status and org', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { ...u.auth, 'x-request-id': 'ops-me-1', 'user-agent': 'ops-test/1' } });
    expect(res.statusCode).toBe(200);
    // Nothing is written on the request's path.
    expect(await rows(`SELECT 1 FROM api_requests WHERE request_id = 'ops-me-1'`)).toEqual([]);
    await t.service.opsMetrics.flush();
    const [a, ...more] = await rows<Record<string, unknown>>(`SELECT * FROM api_requests WHERE request_id = 'ops-me-1'`);
    expect(more).toEqual([]);
    expect(a).toMatchObject({
      method: 'GET', route: '/v1/me', status_code: 200, org_id: u.orgId, user_id: u.userId, api_key_id: null,
      principal_type: 'user', user_agent: 'ops-test/1', kept_because: 'sampled', sample_rate: 1,
    });
    expect(Number(a!.duration_ms)).toBeGreaterThanOrEqual(0);
    const pm = await rows(`SELECT metric_type, metric_name, endpoint, org_id, user_id, metadata FROM performance_metrics WHERE request_id = 'ops-me-1'`);
    expect(pm).toEqual([{
      metric_type: 'api', metric_name: 'GET /v1/me', endpoint: '/v1/me', org_id: u.orgId, user_id: u.userId,
      metadata: { method: 'GET', status: 200, kept: 'sampled' },
    }]);
  });

  it('records the route pattern, never the raw URL with its ids and query string', async () => {
    const id = '0190a0a0-0000-7000-8000-000000000000';
    const res = await t.app.inject({ method: 'GET', url: `/v1/agents/${id}?token=secret-in-url`, headers: { ...u.auth, 'x-request-id': 'ops-route-1' } });
    expect(res.statusCode).toBe(404);
    await t.service.opsMetrics.flush();
    const r = await rows(`SELECT route, status_code FROM api_requests WHERE request_id = 'ops-route-1'`);
    expect(r).toEqual([{ route: '/v1/agents/:id', status_code: 404 }]);
  });

  it('health checks and /metrics are not recorded', async () => {
    await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'ops-health-1' } });
    await t.service.opsMetrics.flush();
    expect(await rows(`SELECT 1 FROM api_requests WHERE request_id = 'ops-health-1'`)).toEqual([]);
  });
});

describe('error_logs', () => {
  it('a 500 records an error_logs row whose request_id is the requestId of the answer, with credentials scrubbed', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/test/boom', headers: u.auth });
    expect(res.statusCode).toBe(500);
    const e = errorOf(res);
    expect(e.code).toBe('internal');
    await t.service.opsMetrics.flush();
    const r = await rows<Record<string, string | number | null>>(`SELECT * FROM error_logs WHERE request_id = $1`, [e.requestId]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({
      request_id: e.requestId, error_code: 'internal', status_code: 500, route: '/v1/test/boom', method: 'GET',
      org_id: u.orgId, user_id: u.userId, error_name: 'Error', pg_code: null,
    });
    const text = `${r[0]!.message} ${r[0]!.stack}`;
    expect(text).toContain('upstream refused');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('eyJzdWIiOiJ4In0');
    // the 5xx is kept as a request too, whatever the sample rate
    const a = await rows(`SELECT kept_because, status_code FROM api_requests WHERE request_id = $1`, [e.requestId]);
    expect(a).toEqual([{ kept_because: 'error', status_code: 500 }]);
  });

  it('a database made unusable under a real route: the 500 is logged with its SQLSTATE and request id', async () => {
    await t.db.admin.query('ALTER TABLE agents RENAME TO agents_away');
    let res;
    try {
      res = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: u.auth });
    } finally {
      await t.db.admin.query('ALTER TABLE agents_away RENAME TO agents');
    }
    expect(res.statusCode).toBe(500);
    const e = errorOf(res);
    await t.service.opsMetrics.flush();
    const r = await rows(`SELECT request_id, pg_code, route, org_id FROM error_logs WHERE request_id = $1`, [e.requestId]);
    expect(r).toEqual([{ request_id: e.requestId, pg_code: '42P01', route: '/v1/agents', org_id: u.orgId }]);
  });

  it('a 4xx is not an error of the service: no error_logs row', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: u.auth, payload: { nope: true } });
    expect(res.statusCode).toBe(400);
    await t.service.opsMetrics.flush();
    expect(await rows(`SELECT 1 FROM error_logs WHERE request_id = $1`, [errorOf(res).requestId])).toEqual([]);
  });
});

describe('samplers', () => {
  it('connection_pool_stats: one row per sample, from db.stats() (PGlite is one connection)', async () => {
    // a few transactions to have checkouts to measure
    for (let i = 0; i < 3; i++) await t.app.inject({ method: 'GET', url: '/v1/me', headers: u.auth });
    await t.service.opsMetrics.samplePoolStats();
    await t.service.opsMetrics.flush();
    const r = await rows<Record<string, unknown>>(`SELECT * FROM connection_pool_stats ORDER BY recorded_at DESC LIMIT 1`);
    expect(r).toHaveLength(1);
    const s = r[0]!;
    expect(s.instance).toBe(`${(await import('node:os')).hostname()}:${process.pid}`.slice(0, 100));
    expect(s.connection_errors).toBe(0);
    if (driver === 'pglite') {
      expect(s).toMatchObject({ pool_name: 'pglite', database_name: 'embedded', total_connections: 1, active_connections: 0, idle_connections: 1, waiting_connections: 0 });
    } else {
      const db = (await rows<{ d: string }>('SELECT current_database() AS d'))[0]!.d;
      expect(s).toMatchObject({ pool_name: 'main', database_name: db, waiting_connections: 0 });
      expect(s.total_connections as number).toBeGreaterThanOrEqual(1);
      expect((s.total_connections as number) - (s.idle_connections as number)).toBe(s.active_connections);
      // the transactions since the service started checked connections out: their wait is measured
      expect(s.avg_connection_time_ms).not.toBeNull();
      expect(s.max_connection_time_ms).not.toBeNull();
    }
  });

  it('system_metrics: real gauges with service, version and environment from the configuration', async () => {
    t.service.opsMetrics.sampleSystemMetrics();
    await t.service.opsMetrics.flush();
    const r = await rows<{ metric_name: string; metric_type: string; value: string; unit: string; service_name: string; environment: string; version: string; retention_days: number }>(
      `SELECT metric_name, metric_type, value, unit, service_name, environment, version, retention_days FROM system_metrics ORDER BY metric_name`,
    );
    const names = r.map((x) => x.metric_name);
    expect(names).toEqual(expect.arrayContaining(['event_loop_delay_p99', 'heap_used', 'process_cpu', 'process_rss']));
    for (const x of r) expect(x).toMatchObject({ service_name: 'agentbase', environment: 'ci-test', version: VERSION, retention_days: 90 });
    const rss = r.find((x) => x.metric_name === 'process_rss')!;
    expect(rss.unit).toBe('MB');
    expect(Number(rss.value)).toBeGreaterThan(1);
    expect(r.find((x) => x.metric_name === 'event_loop_delay_p99')!.unit).toBe('ms');
  });
});

describe('system_metrics retention (seed 000 cleanup_old_system_metrics)', () => {
  it('maintenance deletes each row by its own retention: the tag, else the column, else 30 days', async () => {
    await t.db.admin.query(`DELETE FROM system_metrics`);
    const ins = (name: string, daysAgo: number, retention: number | null, tagDays?: string) =>
      t.db.admin.query(
        `INSERT INTO system_metrics (metric_name, metric_type, value, tags, retention_days, recorded_at)
         VALUES ($1, 'gauge', 1, $2::jsonb, $3, now() - make_interval(days => $4))`,
        [name, JSON.stringify(tagDays === undefined ? {} : { retention_days: tagDays }), retention, daysAgo],
      );
    await ins('col30_old', 40, 30); // past its 30 days: gone
    await ins('col60_old', 40, 60); // within 60: kept
    await ins('tag10_col60', 40, 60, '10'); // the tag wins: gone
    await ins('tag50_col10', 40, 10, '50'); // the tag wins: kept
    await ins('null_default30', 40, null); // neither: 30 days, gone
    await ins('null_recent', 5, null); // kept
    const m = await maintain(t.db);
    expect(m.systemMetricsDeleted).toBe(3);
    const left = await rows<{ metric_name: string }>(`SELECT metric_name FROM system_metrics ORDER BY 1`);
    expect(left.map((x) => x.metric_name)).toEqual(['col60_old', 'null_recent', 'tag50_col10']);
  });

  it('a retention tag that is not a whole number of days is refused (it would stop the cleanup for every row)', async () => {
    await expect(
      t.db.admin.query(`INSERT INTO system_metrics (metric_name, metric_type, value, tags) VALUES ('x', 'gauge', 1, '{"retention_days": "soon"}')`),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('maintenance prunes pool samples older than 90 days', async () => {
    await t.db.admin.query(
      `INSERT INTO connection_pool_stats (pool_name, database_name, total_connections, active_connections, idle_connections, waiting_connections, recorded_at)
       VALUES ('old', 'x', 1, 0, 1, 0, now() - interval '91 days'), ('recent', 'x', 1, 0, 1, 0, now() - interval '89 days')`,
    );
    const m = await maintain(t.db);
    expect(m.poolStatsDeleted).toBe(1);
    expect(await rows(`SELECT pool_name FROM connection_pool_stats WHERE pool_name IN ('old', 'recent')`)).toEqual([{ pool_name: 'recent' }]);
  });
});

describe('privileges: operational tables are the owner’s', () => {
  const RELATIONS = ['performance_metrics', 'api_requests', 'error_logs', 'connection_pool_stats', 'system_metrics', 'user_activity_summary', 'query_performance_summary'];

  it.each(RELATIONS)('the app role cannot read %s, in a tenant or without one (permission denied)', async (rel) => {
    // it exists (the views may not be populated yet: reading them would fail for that reason instead)
    expect((await rows<{ n: number }>('SELECT count(*)::int AS n FROM pg_class WHERE relname = $1', [rel]))[0]!.n).toBe(1);
    await expect(t.db.tenant(u.orgId, (sql) => sql.query(`SELECT * FROM ${rel} LIMIT 1`))).rejects.toMatchObject({ code: '42501' });
    await expect(t.db.transaction((sql) => sql.query(`SELECT * FROM ${rel} LIMIT 1`))).rejects.toMatchObject({ code: '42501' });
  });

  it('nor write them, nor reach a partition directly', async () => {
    await expect(
      t.db.tenant(u.orgId, (sql) => sql.query(`INSERT INTO error_logs (id, error_code, message) VALUES (gen_random_uuid(), 'x', 'y')`)),
    ).rejects.toMatchObject({ code: '42501' });
    const parts = await rows<{ name: string; priv: boolean }>(
      `SELECT c.relname AS name, has_table_privilege('agentbase_app', c.oid, 'SELECT,INSERT,UPDATE,DELETE') AS priv
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent IN ('performance_metrics'::regclass, 'api_requests'::regclass, 'error_logs'::regclass)`,
    );
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.filter((p) => p.priv)).toEqual([]);
  });
});

describe('the materialized views', () => {
  it('refresh concurrently (each has a unique index over every row) and summarise the recorded requests per member', async () => {
    // Created WITH NO DATA: the first refresh is plain, the next CONCURRENTLY.
    for (const name of ['user_activity_summary', 'query_performance_summary']) {
      await refreshMatview(t.db, name);
      expect(await refreshMatview(t.db, name)).toMatchObject({ status: 'refreshed', concurrent: true });
    }
    const r = await rows<{ org_id: string; user_id: string; email: string; total_tasks: number; avg_response_time_ms: string }>(
      `SELECT org_id, user_id, email, total_tasks::int AS total_tasks, avg_response_time_ms FROM user_activity_summary WHERE user_id = $1`,
      [u.userId],
    );
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ org_id: u.orgId, email: u.email, total_tasks: 0 });
    const idx = await rows<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('user_activity_summary', 'query_performance_summary') AND indexdef LIKE 'CREATE UNIQUE%' ORDER BY 1`,
    );
    expect(idx.map((x) => x.indexname)).toEqual(['idx_query_performance_summary_hash', 'idx_user_activity_summary_user_id']);
  });

  it('query_performance_summary: statements recorded more than 10 times in the last 7 days, one row per query_hash', async () => {
    for (let i = 0; i < 12; i++) t.service.opsMetrics.recordPerformance({ metricType: 'query', metricName: 'agents.list', durationMs: i, queryHash: 'q-hash-1' });
    t.service.opsMetrics.recordPerformance({ metricType: 'query', metricName: 'rare', durationMs: 1, queryHash: 'q-hash-2' });
    await t.service.opsMetrics.flush();
    await refreshMatview(t.db, 'query_performance_summary');
    const r = await rows<{ query_hash: string; execution_count: number; max_duration_ms: number }>(
      `SELECT query_hash, execution_count::int AS execution_count, max_duration_ms FROM query_performance_summary ORDER BY 1`,
    );
    expect(r).toEqual([{ query_hash: 'q-hash-1', execution_count: 12, max_duration_ms: 11 }]);
  });
});

describe('the buffer is bounded', () => {
  it('rows past maxBuffered are dropped and counted, never waited for; the rest are written', async () => {
    const ops = createOpsMetrics({ db: t.db, config: { ...t.config.opsMetrics, poolStatsIntervalMs: 0, systemMetricsIntervalMs: 0 }, version: VERSION, maxBuffered: 3 });
    for (let i = 0; i < 5; i++) ops.recordPerformance({ metricType: 'cache', metricName: 'bounded-test', durationMs: i });
    expect(ops.stats()).toMatchObject({ buffered: 3, dropped: 2 });
    await ops.flush();
    expect(ops.stats()).toMatchObject({ buffered: 0, written: 3, dropped: 2, failed: 0 });
    expect(await rows(`SELECT 1 FROM performance_metrics WHERE metric_name = 'bounded-test'`)).toHaveLength(3);
    await ops.close();
  });
});

describe('sampling at rate 0', () => {
  let z: TestApp;
  let zu: SignedUp;
  beforeAll(async () => {
    z = await createTestApp({ AGENTBASE_METRICS_SAMPLE_RATE: '0', AGENTBASE_METRICS_SLOW_MS: '200' });
    z.app.get('/v1/test/slow', { config: { auth: 'public' } }, async () => {
      await sleep(250);
      return { ok: true };
    });
    z.app.get('/v1/test/boom', { config: { auth: 'public' } }, async () => {
      throw new TypeError('broken on purpose');
    });
    zu = await signupUser(z.app);
  });
  afterAll(async () => z?.close());

  it('drops ordinary requests, keeps every slow one and every 5xx', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await z.app.inject({ method: 'GET', url: '/v1/me', headers: { ...zu.auth, 'x-request-id': `fast-${i}` } })).statusCode).toBe(200);
    }
    expect((await z.app.inject({ method: 'GET', url: '/v1/test/slow', headers: { 'x-request-id': 'slow-1' } })).statusCode).toBe(200);
    const boom = await z.app.inject({ method: 'GET', url: '/v1/test/boom', headers: { 'x-request-id': 'boom-1' } });
    expect(boom.statusCode).toBe(500);
    await z.service.opsMetrics.flush();
    const r = await z.db.admin.query<{ request_id: string; kept_because: string; sample_rate: number; org_id: string | null; duration_ms: string }>(
      `SELECT request_id, kept_because, sample_rate, org_id, duration_ms FROM api_requests ORDER BY request_id`,
    );
    const kept = (id: string) => r.rows.filter((x) => x.request_id === id).map(({ duration_ms: _, ...x }) => x);
    expect(kept('boom-1')).toEqual([{ request_id: 'boom-1', kept_because: 'error', sample_rate: 0, org_id: null }]);
    expect(kept('slow-1')).toEqual([{ request_id: 'slow-1', kept_because: 'slow', sample_rate: 0, org_id: null }]);
    // Nothing is kept by sampling at rate 0; an ordinary request appears only if it really took 200 ms or more
    // (a loaded machine; the signup, which hashes a password, usually does).
    expect(r.rows.filter((x) => x.kept_because === 'sampled')).toEqual([]);
    for (const x of r.rows) if (x.kept_because === 'slow') expect(Number(x.duration_ms), x.request_id).toBeGreaterThanOrEqual(200);
    expect(r.rows.filter((x) => x.request_id.startsWith('fast-')).length).toBeLessThan(20);
    const e = await z.db.admin.query(`SELECT request_id, error_name, org_id FROM error_logs`);
    expect(e.rows).toEqual([{ request_id: 'boom-1', error_name: 'TypeError', org_id: null }]);
  });
});

describe('AGENTBASE_METRICS_ENABLED=false', () => {
  let off: TestApp;
  beforeAll(async () => {
    off = await createTestApp({ AGENTBASE_METRICS_ENABLED: 'false', AGENTBASE_METRICS_SAMPLE_RATE: '1' });
    off.app.get('/v1/test/boom', { config: { auth: 'public' } }, async () => {
      throw new Error('boom');
    });
  });
  afterAll(async () => off?.close());

  it('records nothing, not even a 500', async () => {
    const v = await signupUser(off.app);
    expect((await off.app.inject({ method: 'GET', url: '/v1/me', headers: v.auth })).statusCode).toBe(200);
    const boom = await off.app.inject({ method: 'GET', url: '/v1/test/boom' });
    expect(boom.statusCode).toBe(500);
    expect(errorOf(boom).code).toBe('internal');
    expect(off.service.opsMetrics.enabled).toBe(false);
    await off.service.opsMetrics.samplePoolStats();
    off.service.opsMetrics.sampleSystemMetrics();
    await off.service.opsMetrics.flush();
    for (const table of ['api_requests', 'performance_metrics', 'error_logs', 'connection_pool_stats', 'system_metrics']) {
      const n = await off.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      expect(n.rows[0]!.n, table).toBe(0);
    }
  });
});
