import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, type Database } from '../../src/db/index.js';
import { cancelJob, claimJobs, enqueue, failJob, completeJob, getJob, pruneFinishedJobs } from '../../src/jobs/index.js';
import { redriveJob } from '../../src/jobs/jobs-repo.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { driver, freshDatabase } from '../helpers/db.js';
import { join } from '../helpers/identity.js';

/** Retention of finished jobs, and the jobs:* permissions of migration 0012. */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let db: Database;
const deps = () => ({ db });
const DAY = 86_400_000;

async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  t = await createTestApp();
  db = t.db;
  a = await signupUser(t.app);
  b = await signupUser(t.app);
});
afterAll(async () => t?.close());

const actorOf = (s: SignedUp) => ({ orgId: s.orgId, actorType: 'user' as const, userId: s.userId, requestId: 'test' });

/** One job of each final and unfinished status in the organization's queue q; returns their ids by status. */
async function jobsOfEveryStatus(s: SignedUp, q: string) {
  const ids: Record<string, string> = {};
  for (const name of ['succeeded', 'dead', 'failed', 'running', 'cancelled', 'queued']) {
    ids[name] = (await enqueue(deps(), s.orgId, { queue: q, task: 't', payload: { name }, idempotencyKey: name })).job.id;
  }
  // The first four, in enqueue order.
  const [done, dead, failed] = await claimJobs(db, `w-${q}`, [q], 4, 60_000);
  await completeJob(db, `w-${q}`, done!, '"ok"');
  await failJob(db, `w-${q}`, dead!, 'gave up', false, 0);
  await failJob(db, `w-${q}`, failed!, 'try later', true, 3_600_000);
  await cancelJob(deps(), actorOf(s), ids.cancelled!);
  return ids;
}

const remaining = async (q: string) =>
  (await db.admin.query<{ name: string }>(`SELECT payload->>'name' AS name FROM background_jobs WHERE queue LIKE $1 ORDER BY id`, [`${q}%`])).rows
    .map((r) => r.name);

describe('pruneFinishedJobs', () => {
  it('deletes succeeded and cancelled jobs past retention in every organization; keeps dead, waiting and running ones', async () => {
    const q = 'r-every';
    await jobsOfEveryStatus(a, `${q}-a`);
    await jobsOfEveryStatus(b, `${q}-b`); // its own queue: a claim takes any organization's jobs
    // Not yet past retention: nothing goes.
    expect(await pruneFinishedJobs(db, new Date(Date.now() + 6 * DAY), 7)).toBe(0);
    expect((await remaining(q)).length).toBe(12);
    const n = await pruneFinishedJobs(db, new Date(Date.now() + 8 * DAY), 7, { batchSize: 1 });
    expect(n).toBe(4);
    expect(await remaining(q)).toEqual(['dead', 'failed', 'running', 'queued', 'dead', 'failed', 'running', 'queued']);
  });

  it('deletes dead jobs too when given their own, longer retention', async () => {
    const q = 'r-dead';
    await jobsOfEveryStatus(a, q);
    expect(await pruneFinishedJobs(db, new Date(Date.now() + 8 * DAY), 7, { deadOlderThanDays: 30 })).toBeGreaterThanOrEqual(2);
    expect(await remaining(q)).toEqual(['dead', 'failed', 'running', 'queued']);
    await pruneFinishedJobs(db, new Date(Date.now() + 31 * DAY), 7, { deadOlderThanDays: 30 });
    expect(await remaining(q)).toEqual(['failed', 'running', 'queued']);
  });

  it('a pruned job\'s idempotency key may enqueue again', async () => {
    const q = 'r-key';
    const ids = await jobsOfEveryStatus(a, q);
    await pruneFinishedJobs(db, new Date(Date.now() + 8 * DAY), 7);
    const again = await enqueue(deps(), a.orgId, { queue: q, task: 't', idempotencyKey: 'succeeded' });
    expect(again.created).toBe(true);
    expect(again.job.id).not.toBe(ids.succeeded);
    expect((await enqueue(deps(), a.orgId, { queue: q, task: 't', idempotencyKey: 'queued' })).created).toBe(false);
  });

  it.skipIf(driver !== 'postgres')('a dead job redriven while the prune reads it is kept (the delete checks again once it has the row)', async () => {
    const q = 'r-redrive';
    const ids = await jobsOfEveryStatus(a, q);
    // The redrive holds the row, uncommitted, while a prune on another connection reaches it.
    let commit!: () => void;
    const held = new Promise<void>((r) => {
      commit = r;
    });
    let redriven!: () => void;
    const isRedriven = new Promise<void>((r) => {
      redriven = r;
    });
    const redrive = db.tenant(a.orgId, async (sql) => {
      expect(await redriveJob(sql, ids.dead!)).toMatchObject({ status: 'queued' });
      redriven();
      await held;
    });
    await isRedriven;
    const other = await t.reopen();
    const prune = pruneFinishedJobs(other, new Date(Date.now() + 31 * DAY), 365, { deadOlderThanDays: 30 });
    await until(async () => (await db.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM background_jobs%'`,
    )).rows[0]!.n === 1, 'the prune to wait for the redriven row');
    commit();
    await redrive;
    await prune; // other tests' dead jobs may go; this queue's redriven one must not
    expect(await remaining(q)).toEqual(['succeeded', 'dead', 'failed', 'running', 'cancelled', 'queued']);
    expect(await getJob(deps(), a.orgId, ids.dead!)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('refuses a negative retention', async () => {
    await expect(pruneFinishedJobs(db, new Date(), -1)).rejects.toThrow(RangeError);
    await expect(pruneFinishedJobs(db, new Date(), 7, { deadOlderThanDays: -1 })).rejects.toThrow(RangeError);
  });
});

describe('jobs:read and jobs:write', () => {
  it('viewers read jobs and schedules; members also change them', async () => {
    const { job } = await enqueue(deps(), a.orgId, { queue: 'perm', task: 't' });
    const viewer = await join(t.app, a, 'viewer');
    const member = await join(t.app, a, 'member');
    const get = (url: string, auth: { authorization: string }) => t.app.inject({ method: 'GET', url, headers: auth });
    const post = (url: string, auth: { authorization: string }, payload?: object) => t.app.inject({ method: 'POST', url, headers: auth, ...(payload ? { payload } : {}) });
    expect((await get(`/v1/jobs/${job.id}`, viewer.auth)).statusCode).toBe(200);
    expect((await get('/v1/job-schedules', viewer.auth)).statusCode).toBe(200);
    expect((await post(`/v1/jobs/${job.id}/cancel`, viewer.auth)).json().error.details).toEqual({ permission: 'jobs:write' });
    expect((await post('/v1/job-schedules', viewer.auth, { name: 'v', cron: '* * * * *', task: 't' })).statusCode).toBe(403);
    expect((await post('/v1/job-schedules', member.auth, { name: 'm', cron: '* * * * *', task: 't' })).statusCode).toBe(201);
    expect((await post(`/v1/jobs/${job.id}/cancel`, member.auth)).statusCode).toBe(200);
  });

  it('upgrading keeps access: custom roles and API keys that had executions:* get jobs:*', async () => {
    const fresh = await freshDatabase({ migrated: false });
    try {
      const all = await loadMigrations();
      await migrate(fresh.db, all.filter((m) => m.version < 12));
      const q = (text: string, params: unknown[] = []) => fresh.db.admin.query<Record<string, unknown>>(text, params);
      const org = (await q(`INSERT INTO organizations (name, slug) VALUES ('Up', 'up') RETURNING id`)).rows[0]!.id;
      const user = (await q(`INSERT INTO users (email, username) VALUES ('up@example.com', 'up') RETURNING id`)).rows[0]!.id;
      const role = async (name: string, perms: string[]) => {
        const id = (await q(`INSERT INTO roles (org_id, name) VALUES ($1, $2) RETURNING id`, [org, name])).rows[0]!.id;
        await q(`INSERT INTO role_permissions (role_id, permission_id, org_id)
                 SELECT $1, id, $2 FROM permissions WHERE resource || ':' || action = ANY ($3::text[])`, [id, org, perms]);
        return id;
      };
      const reader = await role('reader', ['executions:read']);
      const runner = await role('runner', ['executions:read', 'executions:write', 'agents:read']);
      const other = await role('other', ['agents:read']);
      const key = async (name: string, scopes: string[]) => (await q(
        `INSERT INTO api_keys (org_id, user_id, name, key_prefix, key_hash, scopes) VALUES ($1, $2, $3, 'ab_x', $3, $4) RETURNING id`,
        [org, user, name, scopes],
      )).rows[0]!.id;
      const k1 = await key('k1', ['executions:read', 'agents:read']);
      const k2 = await key('k2', ['executions:write', 'executions:read', 'jobs:read']);
      const k3 = await key('k3', ['*']);

      await migrate(fresh.db, all);
      const perms = async (roleId: unknown) => (await q(
        `SELECT p.resource || ':' || p.action AS p FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id
         WHERE rp.role_id = $1 ORDER BY 1`, [roleId],
      )).rows.map((r) => r.p);
      expect(await perms(reader)).toEqual(['executions:read', 'jobs:read']);
      expect(await perms(runner)).toEqual(['agents:read', 'executions:read', 'executions:write', 'jobs:read', 'jobs:write']);
      expect(await perms(other)).toEqual(['agents:read']);
      const scopes = async (id: unknown) => (await q(`SELECT scopes FROM api_keys WHERE id = $1`, [id])).rows[0]!.scopes;
      expect(await scopes(k1)).toEqual(['executions:read', 'agents:read', 'jobs:read']);
      expect(await scopes(k2)).toEqual(['executions:write', 'executions:read', 'jobs:read', 'jobs:write']);
      expect(await scopes(k3)).toEqual(['*']);
    } finally {
      await fresh.drop();
    }
  });
});
