import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.js';
import { enqueue, enqueueManyIn } from '../../src/jobs/index.js';
import { collectOverview } from '../../src/ops/index.js';
import { grantPlatformAdmin } from '../../src/platform/index.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { driver } from '../helpers/db.js';
import { createKey } from '../helpers/identity.js';
import { makeAgent } from '../runs/fixtures.js';

/** GET /v1/ops/overview and the operational gauges of /metrics. */

let t: TestApp;
let admin: SignedUp;
let a: SignedUp;
let b: SignedUp;

interface QueueRow { queue: string; task: string; ready: number; scheduled: number; running: number; oldestReadySeconds: number | null }

beforeAll(async () => {
  t = await createTestApp();
  admin = await signupUser(t.app, { organizationName: 'Operator Staff' });
  expect((await grantPlatformAdmin(t.db, { email: admin.email, by: 'test' })).granted).toBe(true);
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  // Jobs of two organizations in one queue and task: the operator's view counts across tenants.
  const deps = { db: t.db };
  const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
  await t.db.tenant(a.orgId, (sql) => enqueueManyIn(sql, [
    { queue: 'ops-q', task: 'ops.send', runAt: new Date(Date.now() - 60_000).toISOString() },
    { queue: 'ops-q', task: 'ops.send' },
    { queue: 'ops-q', task: 'ops.send', runAt: inAnHour },
  ]));
  await enqueue(deps, b.orgId, { queue: 'ops-q', task: 'ops.send' });
  await enqueue(deps, b.orgId, { queue: 'ops-other', task: 'ops.index' });
});
afterAll(async () => t?.close());

const overview = async (headers: Record<string, string> = admin.auth) => {
  const res = await t.app.inject({ method: 'GET', url: '/v1/ops/overview', headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

describe('the overview', () => {
  it('shows queue depth by queue and task across organizations, with the oldest ready job\'s age', async () => {
    const o = await overview();
    const rows = o.jobs.byQueue as QueueRow[];
    const send = rows.find((r) => r.queue === 'ops-q' && r.task === 'ops.send');
    expect(send).toMatchObject({ ready: 3, scheduled: 1, running: 0 });
    // One of them has waited since a minute before it was enqueued.
    expect(send!.oldestReadySeconds).toBeGreaterThanOrEqual(59);
    expect(rows.find((r) => r.queue === 'ops-other')).toMatchObject({ task: 'ops.index', ready: 1, scheduled: 0 });
    expect(o.jobs.ready).toBe(rows.reduce((n, r) => n + r.ready, 0));
    expect(o.jobs.ready).toBeGreaterThanOrEqual(4);
    expect(o.jobs.oldestReadySeconds).toBeGreaterThanOrEqual(send!.oldestReadySeconds!);
  });

  it('shows the pool, the database size and the requests of the last minutes', async () => {
    for (let i = 0; i < 5; i++) expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const o = await overview();
    expect(o.pool).toMatchObject(driver === 'pglite' ? { total: 1, idle: 1, waiting: 0 } : {
      total: expect.any(Number), idle: expect.any(Number), waiting: expect.any(Number),
    });
    expect(o.pool.total).toBeGreaterThanOrEqual(1);
    expect(o.database).toMatchObject({ kind: driver, name: expect.any(String) });
    expect(o.database.sizeBytes).toBeGreaterThan(1_000_000);
    const health = (o.requests.routes as { method: string; route: string; count: number; p50Ms: number | null }[])
      .find((r) => r.method === 'GET' && r.route === '/healthz');
    expect(health!.count).toBeGreaterThanOrEqual(5);
    expect(health!.p50Ms).toBeGreaterThan(0);
    expect(o.requests.count).toBeGreaterThanOrEqual(5);
    expect(o.requests.perSecond).toBeGreaterThan(0);
    expect(o.requests.p95Ms).toBeGreaterThanOrEqual(o.requests.p50Ms);
  });

  it('counts what was ingested in the last minute and hour', async () => {
    const agentId = await makeAgent(t.app, a.auth, 'ops-ingest');
    const before = (await overview()).ingest;
    const res = await t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: a.auth,
      payload: { executions: [{ clientId: 'ops-x1', agentId }, { clientId: 'ops-x2', agentId }] },
    });
    expect(res.statusCode, res.body).toBe(200);
    const after = (await overview()).ingest;
    expect(after.lastMinute.count - before.lastMinute.count).toBe(2);
    expect(after.lastHour.count - before.lastHour.count).toBe(2);
    expect(after.lastMinute.perSecond).toBeGreaterThan(0);
    expect(after.byKind).toContainEqual({ kind: 'execution', status: 'accepted', count: expect.any(Number) });
  });

  it('shows the sections the service wires in: the cache, the materialized views, the replicas', async () => {
    const o = await overview();
    expect(o.cache).toMatchObject({ hits: expect.any(Number), misses: expect.any(Number), entries: expect.any(Number), bytes: expect.any(Number) });
    expect(o.matviews.map((m: { name: string }) => m.name)).toContain('mv_agent_daily_costs');
    expect(o.replicas).toEqual([]); // none configured
    expect(o.unavailable ?? {}).toEqual({});
  });

  it('takes sections from injected sources; a failing or hanging one is null with its reason, the rest still render', async () => {
    const o = await collectOverview({
      db: t.db,
      sourceTimeoutMs: 200,
      sources: {
        cache: async () => ({ hitRatio: 0.9 }),
        replicas: async () => {
          throw new Error('replica r1 is unreachable');
        },
        matviews: () => new Promise(() => {}),
        extra: async () => ['anything'],
      },
    });
    expect(o.cache).toEqual({ hitRatio: 0.9 });
    expect(o.extra).toEqual(['anything']);
    expect(o.replicas).toBeNull();
    expect(o.unavailable.replicas).toBe('the source failed: replica r1 is unreachable');
    expect(o.matviews).toBeNull();
    expect(o.unavailable.matviews).toMatch(/timed out after 200 ms/);
    expect(o.requests).toBeNull();
    expect(o.unavailable.requests).toMatch(/no source is registered/);
    expect((o.jobs as { ready: number }).ready).toBeGreaterThanOrEqual(4);
  });

  it('is for platform admins only, and takes no parameters', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/ops/overview', headers: a.auth });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('platform_admin_required');
    const key = await createKey(t.app, admin.auth, { name: 'ops key', scopes: ['*'] });
    const byKey = await t.app.inject({ method: 'GET', url: '/v1/ops/overview', headers: { authorization: `Bearer ${key.key}` } });
    expect(byKey.statusCode).toBe(403);
    expect(errorOf(byKey).code).toBe('platform_admin_required');
    expect((await t.app.inject({ method: 'GET', url: '/v1/ops/overview' })).statusCode).toBe(401);
    const bad = await t.app.inject({ method: 'GET', url: '/v1/ops/overview?minutes=5', headers: admin.auth });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).code).toBe('validation_failed');
  });
});

describe('/metrics', () => {
  const sample = (body: string, name: string, labels: string) => {
    const line = body.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  it('exposes queue depth and the oldest ready job\'s age by queue and task, and the pool', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(sample(res.body, 'agentbase_job_queue_depth', 'queue="ops-q",task="ops.send",state="ready"')).toBe(3);
    expect(sample(res.body, 'agentbase_job_queue_depth', 'queue="ops-q",task="ops.send",state="scheduled"')).toBe(1);
    expect(sample(res.body, 'agentbase_job_queue_depth', 'queue="ops-other",task="ops.index",state="ready"')).toBe(1);
    expect(sample(res.body, 'agentbase_job_oldest_ready_age_seconds', 'queue="ops-q",task="ops.send"')).toBeGreaterThanOrEqual(59);
    expect(sample(res.body, 'agentbase_job_oldest_ready_age_seconds', 'queue="ops-other",task="ops.index"')).toBeGreaterThanOrEqual(0);
    expect(sample(res.body, 'agentbase_db_pool_connections', 'state="total"')).toBeGreaterThanOrEqual(1);
    expect(res.body).toMatch(/# TYPE agentbase_ingested_items_total counter/);
  });

  it('drops a queue\'s series once it has drained', async () => {
    await enqueue({ db: t.db }, a.orgId, { queue: 'ops-drain', task: 'ops.once' });
    const first = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(sample(first.body, 'agentbase_job_queue_depth', 'queue="ops-drain",task="ops.once",state="ready"')).toBe(1);
    await t.db.tenant(a.orgId, (sql) => sql.query(`UPDATE background_jobs SET status = 'cancelled', finished_at = now() WHERE queue = 'ops-drain'`));
    const second = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(second.body).not.toContain('queue="ops-drain"');
  });

  it('takes gauges from other modules; a failing one is counted and does not fail the scrape', async () => {
    const errors: string[] = [];
    const m = createMetrics(t.db, [
      { name: 'agentbase_cache_hit_ratio', help: 'test gauge', read: async () => [{ value: 0.75 }] },
      { name: 'agentbase_replica_lag_seconds', help: 'test gauge', labelNames: ['replica'], read: async () => [{ labels: { replica: 'r1' }, value: 2 }] },
      { name: 'agentbase_matview_staleness_seconds', help: 'test gauge', read: async () => {
        throw new Error('no matviews here');
      } },
    ], (metric) => errors.push(metric));
    await m.registry.metrics();
    // Every metric is collected at once, so a failure is counted in time for the next scrape.
    const body = await m.registry.metrics();
    expect(body).toMatch(/^agentbase_cache_hit_ratio 0\.75$/m);
    expect(body).toMatch(/^agentbase_replica_lag_seconds\{replica="r1"\} 2$/m);
    expect(body).not.toMatch(/^agentbase_matview_staleness_seconds /m);
    expect(body).toMatch(/^agentbase_metrics_collect_errors_total\{metric="agentbase_matview_staleness_seconds"\} [12]$/m);
    expect(errors).toEqual(['agentbase_matview_staleness_seconds', 'agentbase_matview_staleness_seconds']);
    expect(body).toMatch(/^agentbase_job_queue_depth\{queue="ops-q",task="ops.send",state="ready"\} 3$/m);
  });
});
