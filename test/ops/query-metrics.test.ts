import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatementTiming } from '../../src/db/index.js';
import { refreshMatview } from '../../src/ops/index.js';
import { statementShape } from '../../src/ops/metrics/statement-shape.js';
import { client, ok, signupBuilder } from '../agents/fixtures.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

/**
 * Statements and query cache reads measured by the service itself (issue 15):
 * the app-role transactions report each statement (db.onStatement), a share
 * of them and every slow one become performance_metrics rows of type query
 * with the request they served, and cache reads rows of type cache; seed
 * 004's query_performance_summary is built from them.
 */

let t: TestApp;
let u: SignedUp;

beforeAll(async () => {
  t = await createTestApp({ AGENTBASE_METRICS_QUERY_SAMPLE_RATE: '1', AGENTBASE_METRICS_SLOW_QUERY_MS: '0', AGENTBASE_METRICS_QUERY_CONTEXT: 'true' });
  u = await signupUser(t.app);
});
afterAll(async () => t?.close());

async function rows<R = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
  return (await t.db.admin.query<R>(sql, params)).rows;
}

interface QueryRow {
  metric_name: string;
  org_id: string | null;
  user_id: string | null;
  request_id: string | null;
  endpoint: string | null;
  query_hash: string;
  metadata: { statement: string; readOnly: boolean; ok: boolean; kept: string };
}

describe('statements as query rows', () => {
  it('each statement a request ran is recorded with its request id, user, organization, route and a hash of its text', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: { ...u.auth, 'x-request-id': 'qm-list-1' } });
    expect(res.statusCode).toBe(200);
    await t.service.opsMetrics.flush();
    const q = await rows<QueryRow>(
      `SELECT metric_name, org_id, user_id, request_id, endpoint, query_hash, metadata FROM performance_metrics
       WHERE metric_type = 'query' AND request_id = 'qm-list-1'`,
    );
    // the route's own read of agents, in the caller's tenant transaction
    const list = q.filter((r) => r.metric_name === 'SELECT agents' && r.org_id === u.orgId);
    expect(list.length, JSON.stringify(q.map((r) => r.metric_name))).toBeGreaterThanOrEqual(1);
    for (const r of q) {
      expect(r).toMatchObject({ user_id: u.userId, endpoint: '/v1/agents', metadata: { ok: true, kept: 'sampled' } });
      expect(r.query_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.metadata.statement.length).toBeGreaterThan(0);
      expect(r.metadata.statement.length).toBeLessThanOrEqual(500);
      // parameters travel apart: no secret or id of the request is in the text
      expect(r.metadata.statement).not.toContain(u.orgId);
      expect(r.metadata.statement).not.toContain(u.accessToken);
    }
  });

  it('the same statement gets the same hash whatever its parameters; query_performance_summary counts it', async () => {
    const other = await signupUser(t.app);
    for (let i = 0; i < 6; i++) {
      for (const who of [u, other]) {
        expect((await t.app.inject({ method: 'GET', url: '/v1/agents', headers: who.auth })).statusCode).toBe(200);
      }
    }
    await t.service.opsMetrics.flush();
    const [hash] = await rows<{ query_hash: string; n: number; users: number }>(
      `SELECT query_hash, count(*)::int AS n, count(DISTINCT user_id)::int AS users FROM performance_metrics
       WHERE metric_type = 'query' AND metric_name = 'SELECT agents' AND endpoint = '/v1/agents'
       GROUP BY query_hash ORDER BY count(*) DESC LIMIT 1`,
    );
    expect(hash!.n).toBeGreaterThanOrEqual(13);
    expect(hash!.users).toBe(2);
    await refreshMatview(t.db, 'query_performance_summary');
    const [s] = await rows<{ execution_count: number; unique_users: number }>(
      `SELECT execution_count::int AS execution_count, unique_users::int AS unique_users FROM query_performance_summary WHERE query_hash = $1`,
      [hash!.query_hash],
    );
    expect(s).toEqual({ execution_count: hash!.n, unique_users: 2 });
  });

  it('a failed statement is recorded with ok false (and the request still gets its 4xx)', async () => {
    const c = client(t);
    const owner = await signupBuilder(t);
    ok(await c.post('/v1/services', owner.auth, { name: 'Twice', category: 'x', description: 'x' }), 201);
    const dup = await t.app.inject({
      method: 'POST', url: '/v1/services', headers: { ...owner.auth, 'x-request-id': 'qm-dup-1' },
      payload: { name: 'twice', category: 'x', description: 'x' },
    });
    expect(dup.statusCode).toBe(409);
    await t.service.opsMetrics.flush();
    const failed = await rows<QueryRow>(
      `SELECT metric_name, metadata FROM performance_metrics WHERE request_id = 'qm-dup-1' AND metric_type = 'query' AND (metadata->>'ok')::boolean = false`,
    );
    expect(failed.map((r) => r.metric_name)).toEqual(['INSERT services']);
  });

  it('work outside a request (a job, a tool) is recorded without a request', async () => {
    await t.db.tenant(u.orgId, (sql) => sql.query(`SELECT count(*) FROM agents /* qm-outside */`));
    await t.service.opsMetrics.flush();
    const r = await rows<QueryRow>(`SELECT org_id, request_id, user_id, endpoint FROM performance_metrics WHERE metadata->>'statement' LIKE '%qm-outside%'`);
    expect(r).toEqual([{ org_id: u.orgId, request_id: null, user_id: null, endpoint: null }]);
  });
});

describe('query cache reads as cache rows', () => {
  it('a miss then a hit of the same read, with the request, the read, the outcome and its size', async () => {
    const c = client(t);
    const owner = await signupBuilder(t);
    ok(await c.post('/v1/services', owner.auth, { name: 'Cached', category: 'x', description: 'x' }), 201);
    for (const id of ['qm-cache-1', 'qm-cache-2']) {
      expect((await t.app.inject({ method: 'GET', url: '/v1/services', headers: { ...owner.auth, 'x-request-id': id } })).statusCode).toBe(200);
    }
    await t.service.opsMetrics.flush();
    const r = await rows<{ request_id: string; metric_name: string; org_id: string; user_id: string; query_hash: string; metadata: Record<string, unknown> }>(
      `SELECT request_id, metric_name, org_id, user_id, query_hash, metadata FROM performance_metrics
       WHERE metric_type = 'cache' AND request_id IN ('qm-cache-1', 'qm-cache-2') ORDER BY request_id`,
    );
    expect(r.map((x) => [x.request_id, x.metric_name])).toEqual([['qm-cache-1', 'miss plans.services'], ['qm-cache-2', 'hit plans.services']]);
    for (const x of r) {
      expect(x).toMatchObject({ org_id: owner.orgId, user_id: owner.userId });
      expect(x.metadata).toMatchObject({ read: 'plans.services', stored: true });
      expect(x.metadata.bytes).toBeGreaterThan(10);
    }
    expect(r[0]!.query_hash).toBe(r[1]!.query_hash);
  });
});

describe('which statements are kept', () => {
  let z: TestApp;
  let zu: SignedUp;
  beforeAll(async () => {
    // nothing by sampling; only statements of 100 ms or more
    z = await createTestApp({ AGENTBASE_METRICS_QUERY_SAMPLE_RATE: '0', AGENTBASE_METRICS_SLOW_QUERY_MS: '100', AGENTBASE_METRICS_QUERY_CONTEXT: 'true' });
    z.app.get('/v1/test/slow-statement', { config: { auth: 'required' } }, async (req) =>
      z.db.tenant(req.principal!.orgId, async (sql) => (await sql.query(`SELECT pg_sleep(0.15) IS NULL AS slept`)).rows[0]));
    zu = await signupUser(z.app);
  });
  afterAll(async () => z?.close());

  it('at rate 0 only slow statements are recorded, each with why', async () => {
    for (let i = 0; i < 10; i++) expect((await z.app.inject({ method: 'GET', url: '/v1/agents', headers: zu.auth })).statusCode).toBe(200);
    expect((await z.app.inject({ method: 'GET', url: '/v1/test/slow-statement', headers: { ...zu.auth, 'x-request-id': 'qm-slow-1' } })).statusCode).toBe(200);
    await z.service.opsMetrics.flush();
    const r = await z.db.admin.query<{ metric_name: string; request_id: string | null; duration_ms: number; kept: string }>(
      `SELECT metric_name, request_id, duration_ms, metadata->>'kept' AS kept FROM performance_metrics WHERE metric_type = 'query'`,
    );
    expect(r.rows.find((x) => x.request_id === 'qm-slow-1')).toMatchObject({ metric_name: 'SELECT pg_sleep()', kept: 'slow' });
    // an ordinary statement is there only if it really took 100 ms (a loaded machine)
    for (const x of r.rows) {
      expect(x.kept).toBe('slow');
      expect(x.duration_ms, x.metric_name).toBeGreaterThanOrEqual(100);
    }
  });

  it('rate 0 and no slow limit: nothing is observed at all', async () => {
    const off = await createTestApp({ AGENTBASE_METRICS_QUERY_SAMPLE_RATE: '0', AGENTBASE_METRICS_SLOW_QUERY_MS: '0' });
    try {
      expect(off.service.opsMetrics.recordsQueries).toBe(false);
      const ou = await signupUser(off.app);
      expect((await off.app.inject({ method: 'GET', url: '/v1/agents', headers: ou.auth })).statusCode).toBe(200);
      await off.service.opsMetrics.flush();
      expect((await off.db.admin.query(`SELECT 1 FROM performance_metrics WHERE metric_type IN ('query', 'cache')`)).rows).toEqual([]);
    } finally {
      await off.close();
    }
  });
});

describe('without AGENTBASE_METRICS_QUERY_CONTEXT (the default)', () => {
  it('statement rows carry the organization but no request: no AsyncLocalStorage runs', async () => {
    const plain = await createTestApp({ AGENTBASE_METRICS_QUERY_SAMPLE_RATE: '1' });
    try {
      expect(plain.service.opsMetrics).toMatchObject({ recordsQueries: true, linksRequests: false });
      const pu = await signupUser(plain.app);
      expect((await plain.app.inject({ method: 'GET', url: '/v1/agents', headers: { ...pu.auth, 'x-request-id': 'qm-plain-1' } })).statusCode).toBe(200);
      await plain.service.opsMetrics.flush();
      const r = await plain.db.admin.query<{ n: number; linked: number }>(
        `SELECT count(*)::int AS n, count(request_id)::int AS linked FROM performance_metrics WHERE metric_type = 'query' AND org_id = $1`, [pu.orgId],
      );
      expect(r.rows[0]!.n).toBeGreaterThan(0);
      expect(r.rows[0]!.linked).toBe(0);
    } finally {
      await plain.close();
    }
  });
});

describe('db.onStatement', () => {
  it('reports each app-role statement once, failures included; a listener that throws fails nothing; removal stops it', async () => {
    const seen: StatementTiming[] = [];
    const off = t.db.onStatement((s) => {
      if (s.text.includes('qm-listener')) seen.push(s);
    });
    const offBroken = t.db.onStatement(() => {
      throw new Error('a broken listener');
    });
    try {
      await t.db.tenantRead(u.orgId, (sql) => sql.query(`SELECT 1 /* qm-listener read */`));
      await t.db.transaction((sql) => sql.query(`SELECT 1 /* qm-listener global */`));
      await expect(t.db.tenant(u.orgId, (sql) => sql.query(`SELECT 1/0 /* qm-listener fails */`))).rejects.toThrow(/division by zero/);
      await t.db.admin.query(`SELECT 1 /* qm-listener owner */`);
    } finally {
      off();
      offBroken();
    }
    await t.db.tenant(u.orgId, (sql) => sql.query(`SELECT 1 /* qm-listener after removal */`));
    expect(seen.map(({ text, orgId, readOnly, ok: fine }) => ({ text, orgId, readOnly, ok: fine }))).toEqual([
      { text: 'SELECT 1 /* qm-listener read */', orgId: u.orgId, readOnly: true, ok: true },
      { text: 'SELECT 1 /* qm-listener global */', orgId: null, readOnly: false, ok: true },
      { text: 'SELECT 1/0 /* qm-listener fails */', orgId: u.orgId, readOnly: false, ok: false },
    ]);
    for (const s of seen) expect(s.durationMs).toBeGreaterThanOrEqual(0);
  });
});

describe('statementShape', () => {
  it.each([
    ['SELECT a.id FROM agents a WHERE a.org_id = $1', 'SELECT agents'],
    ['  INSERT INTO spans (id) VALUES ($1)', 'INSERT spans'],
    ['UPDATE background_jobs SET status = $2 WHERE id = $1', 'UPDATE background_jobs'],
    ['DELETE FROM query_cache WHERE org_id = $1', 'DELETE query_cache'],
    ['WITH d AS (SELECT 1 FROM x) INSERT INTO query_cache_invalidations (org_id) SELECT 1', 'INSERT query_cache_invalidations'],
    // what the main query reads, not what a CTE or a subquery does
    ['WITH recent AS (SELECT * FROM executions) SELECT count(*) FROM recent', 'SELECT recent'],
    ['SELECT a.id, (SELECT max(v) FROM agent_versions v) FROM agents a', 'SELECT agents'],
    ["SELECT 'FROM users' AS x, y FROM -- FROM nowhere\n agents", 'SELECT agents'],
    ['SELECT * FROM auth_api_key($1)', 'SELECT auth_api_key()'],
    ['SELECT count(*) FROM memories', 'SELECT memories'],
    ['SELECT 1', 'SELECT'],
  ])('%s is %s', (text, name) => {
    expect(statementShape(text).name).toBe(name);
  });

  it('whitespace does not change the hash; the text does', () => {
    expect(statementShape('SELECT  1\n FROM x').hash).toBe(statementShape('SELECT 1 FROM x').hash);
    expect(statementShape('SELECT 1 FROM x').hash).not.toBe(statementShape('SELECT 2 FROM x').hash);
    expect(statementShape('SELECT 1 FROM x').text).toBe('SELECT 1 FROM x');
  });
});
