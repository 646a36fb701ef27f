import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, createPgliteDriver } from '../../src/db/index.js';
import { AppError } from '../../src/errors.js';
import { enableQueryStats, queryStatsUnavailableMessage, topQueries, type Statement } from '../../src/ops/index.js';
import { grantPlatformAdmin } from '../../src/platform/index.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { driver, freshDatabase } from '../helpers/db.js';
import { createKey } from '../helpers/identity.js';

/** GET /v1/ops/queries and its reset: pg_stat_statements for platform admins, this database only. */

let t: TestApp;
let admin: SignedUp;
let user: SignedUp;

beforeAll(async () => {
  t = await createTestApp();
  admin = await signupUser(t.app, { organizationName: 'Operator Staff' });
  expect((await grantPlatformAdmin(t.db, { email: admin.email, by: 'test' })).granted).toBe(true);
  user = await signupUser(t.app);
});
afterAll(async () => t?.close());

const get = (url: string, headers: Record<string, string> = admin.auth) => t.app.inject({ method: 'GET', url, headers });
const statements = async (query = 'sort=calls&limit=100'): Promise<Statement[]> => {
  const res = await get(`/v1/ops/queries?${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().statements as Statement[];
};

/**
 * Statements whose normalised text is recognisable (constants become $n). Each
 * has its own shape: pg_stat_statements identifies a statement by its parse
 * tree, where a column alias does not count, so two probes differing only in
 * their alias would be one entry under the first one's text.
 */
const PROBES = {
  ops_probe_calls: 'SELECT $1::int + 40 AS ops_probe_calls',
  ops_probe_elsewhere: 'SELECT $1::int * 41 AS ops_probe_elsewhere',
  ops_probe_reset: 'SELECT $1::int - 42 AS ops_probe_reset',
};
async function runProbe(name: keyof typeof PROBES, times: number, db = t.db): Promise<void> {
  for (let i = 0; i < times; i++) await db.admin.query(PROBES[name], [i]);
}

describe('the top statements', () => {
  it('lists the normalised text of a statement that ran, with its counters and hit ratio', async () => {
    await runProbe('ops_probe_calls', 150);
    const res = await get('/v1/ops/queries?sort=calls&limit=100');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.sort).toBe('calls');
    expect(body.limit).toBe(100);
    expect(typeof body.database).toBe('string');
    expect(body.deallocations).toBeGreaterThanOrEqual(0);
    const probe = (body.statements as Statement[]).find((s) => s.query?.includes('ops_probe_calls'));
    expect(probe, 'the probe is among the most called statements').toBeDefined();
    expect(probe!.query).toBe('SELECT $1::int + $2 AS ops_probe_calls');
    expect(probe!.calls).toBeGreaterThanOrEqual(150);
    expect(probe!.rows).toBeGreaterThanOrEqual(150);
    expect(probe!.totalMs).toBeGreaterThan(0);
    expect(probe!.meanMs).toBeGreaterThan(0);
    expect(probe!.maxMs).toBeGreaterThanOrEqual(probe!.meanMs);
    expect(probe!.queryId).toMatch(/^-?\d+$/);
    expect(typeof probe!.role).toBe('string');
    for (const s of body.statements as Statement[]) {
      if (s.hitRatio !== null) expect(s.hitRatio).toBeGreaterThanOrEqual(0);
      if (s.hitRatio !== null) expect(s.hitRatio).toBeLessThanOrEqual(1);
      expect(s.hitRatio === null).toBe(s.sharedBlksHit + s.sharedBlksRead === 0);
    }
    // Requests through the API are counted too: the app role's statements are there.
    expect((body.statements as Statement[]).some((s) => s.role === 'agentbase_app')).toBe(true);
  });

  it('orders by the chosen column and honours the limit', async () => {
    for (const [sort, key] of [['total', 'totalMs'], ['mean', 'meanMs'], ['calls', 'calls']] as const) {
      const list = await statements(`sort=${sort}&limit=15`);
      expect(list.length).toBeGreaterThan(1);
      expect(list.length).toBeLessThanOrEqual(15);
      for (let i = 1; i < list.length; i++) expect(list[i - 1]![key]).toBeGreaterThanOrEqual(list[i]![key]);
    }
    expect(await statements('limit=1')).toHaveLength(1);
    expect((await get('/v1/ops/queries')).json()).toMatchObject({ sort: 'total', limit: 20 });
  });

  it('shows only this database\'s statements, not another database\'s on the same server', async () => {
    const other = await freshDatabase({ migrated: false });
    try {
      await enableQueryStats(other.db);
      await runProbe('ops_probe_elsewhere', 200, other.db);
      expect((await topQueries(other.db, 'calls', 100)).statements.some((s) => s.query?.includes('ops_probe_elsewhere'))).toBe(true);
      expect((await statements()).some((s) => s.query?.includes('ops_probe_elsewhere'))).toBe(false);
    } finally {
      await other.drop();
    }
  });
});

describe('who may read', () => {
  it('refuses a user who is no platform admin, an API key (even an admin\'s) and no token', async () => {
    const res = await get('/v1/ops/queries', user.auth);
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('platform_admin_required');
    const key = await createKey(t.app, admin.auth, { name: 'ops key', scopes: ['*'] });
    const byKey = await get('/v1/ops/queries', { authorization: `Bearer ${key.key}` });
    expect(byKey.statusCode).toBe(403);
    expect(errorOf(byKey).code).toBe('platform_admin_required');
    const reset = await t.app.inject({ method: 'POST', url: '/v1/ops/queries/reset', headers: user.auth });
    expect(reset.statusCode).toBe(403);
    expect(errorOf(reset).code).toBe('platform_admin_required');
    const anon = await t.app.inject({ method: 'GET', url: '/v1/ops/queries' });
    expect(anon.statusCode).toBe(401);
  });

  it('answers 400 to a sort or limit outside the allow-list, and to unknown parameters', async () => {
    for (const q of ['sort=rows', 'sort=total_exec_time', 'sort=', 'limit=0', 'limit=101', 'limit=abc', 'limit=2.5', 'order=calls']) {
      const res = await get(`/v1/ops/queries?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(errorOf(res).code, q).toBe('validation_failed');
    }
  });
});

describe('reset', () => {
  it('resets this database\'s counters, recorded in the platform audit as the admin', async () => {
    await runProbe('ops_probe_reset', 300);
    expect((await statements()).some((s) => s.query?.includes('ops_probe_reset'))).toBe(true);
    const res = await t.app.inject({ method: 'POST', url: '/v1/ops/queries/reset', headers: admin.auth });
    expect(res.statusCode, res.body).toBe(200);
    expect(typeof res.json().database).toBe('string');
    expect((await statements()).some((s) => s.query?.includes('ops_probe_reset'))).toBe(false);
    const audit = await t.db.admin.query<{ actor: string; actor_user_id: string; resource_id: string; details: { requestId: string } }>(
      `SELECT actor, actor_user_id, resource_id, details FROM platform_audit WHERE action = 'ops.query_stats_reset'`,
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({ actor: `user:${admin.userId}`, actor_user_id: admin.userId, resource_id: res.json().database });
    expect(audit.rows[0]!.details.requestId).toBe(res.headers['x-request-id']);
  });
});

describe('without pg_stat_statements', () => {
  it('answers 409 saying to create the extension when it is not created in this database, and works again once it is', async () => {
    await t.db.admin.query('DROP EXTENSION pg_stat_statements');
    try {
      const res = await get('/v1/ops/queries');
      expect(res.statusCode, res.body).toBe(409);
      const e = errorOf(res);
      expect(e.code).toBe('pg_stat_statements_unavailable');
      expect(e.message).toContain('CREATE EXTENSION pg_stat_statements');
      // This server preloads it: the message does not send anyone to restart PostgreSQL.
      expect(e.message).not.toContain('shared_preload_libraries');
      expect(e.details).toMatchObject({ installed: true, preloaded: true, created: false, sqlstate: '42P01' });
      const audited = async () => Number((await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM platform_audit`)).rows[0]!.n);
      const before = await audited();
      const reset = await t.app.inject({ method: 'POST', url: '/v1/ops/queries/reset', headers: admin.auth });
      expect(reset.statusCode).toBe(409);
      expect(errorOf(reset).code).toBe('pg_stat_statements_unavailable');
      expect(await audited(), 'a refused reset leaves no audit row').toBe(before);
    } finally {
      expect((await enableQueryStats(t.db)).createdVersion).not.toBeNull();
    }
    expect((await get('/v1/ops/queries')).statusCode).toBe(200);
  });

  it.runIf(driver === 'pglite')('on a PostgreSQL that does not preload it, says to preload it, restart and create it', async () => {
    const db = createDatabase(await createPgliteDriver({ queryStats: false }));
    try {
      const state = await enableQueryStats(db); // cannot: the server has no such extension
      expect(state).toMatchObject({ installed: false, preloaded: false, createdVersion: null });
      const err = await topQueries(db, 'total', 10).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).status).toBe(409);
      expect((err as AppError).code).toBe('pg_stat_statements_unavailable');
      expect((err as AppError).message).toMatch(/1\) install .*2\) .*ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'.*restart PostgreSQL; 3\) .*CREATE EXTENSION/);
    } finally {
      await db.close();
    }
  });

  it('names only the missing steps', () => {
    const base = { installed: true, preloaded: true, createdVersion: '1.10', database: 'agentbase' };
    expect(queryStatsUnavailableMessage({ ...base, preloaded: false })).toMatch(/^[^;]*1\) as a superuser: ALTER SYSTEM SET shared_preload_libraries[^;]*restart PostgreSQL$/);
    expect(queryStatsUnavailableMessage({ ...base, createdVersion: null })).toContain('in database agentbase: CREATE EXTENSION pg_stat_statements');
    expect(queryStatsUnavailableMessage({ ...base, createdVersion: null })).not.toContain('restart PostgreSQL');
    expect(queryStatsUnavailableMessage(base)).toContain('check the PostgreSQL log');
  });
});
