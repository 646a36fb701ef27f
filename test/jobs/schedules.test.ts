import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { Worker, claimJobs, listJobs, nextCronRun, runDueSchedules, scheduleJobKey } from '../../src/jobs/index.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { driver } from '../helpers/db.js';
import { bearer, createKey, type Auth } from '../helpers/identity.js';

/** Cron schedules: the routes, and the scheduler step that turns due slots into jobs. */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let db: Database;
let readOnly: Auth;

beforeAll(async () => {
  t = await createTestApp();
  db = t.db;
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  readOnly = bearer((await createKey(t.app, a.auth, { name: 'ro', scopes: ['jobs:read'] })).key);
});
afterAll(async () => t?.close());

interface Schedule {
  id: string; name: string; cron: string; timezone: string; queue: string; task: string; payload: unknown; priority: number;
  maxAttempts: number; enabled: boolean; nextRunAt: string; lastRunAt: string | null; lastJobId: string | null;
}

const req = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, auth: Auth = a.auth) =>
  t.app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload: payload as object }) });

async function create(body: Record<string, unknown>, auth: Auth = a.auth): Promise<Schedule> {
  const res = await req('POST', '/v1/job-schedules', body, auth);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** The jobs a schedule enqueued, by their idempotency key. */
async function jobsOf(scheduleId: string) {
  const r = await db.admin.query<{ id: string; key: string; status: string; payload: unknown; queue: string; priority: number }>(
    `SELECT id, idempotency_key AS key, status, payload, queue, priority FROM background_jobs WHERE idempotency_key LIKE $1 ORDER BY idempotency_key`,
    [`schedule:${scheduleId}:%`],
  );
  return r.rows;
}

const at = (iso: string, plusMs = 0) => new Date(new Date(iso).getTime() + plusMs);

describe('job schedule routes', () => {
  it('creates a schedule with its defaults and its first run at the next slot', async () => {
    const before = new Date();
    const s = await create({ name: 'nightly report', cron: '30 2 * * *', task: 'report.build' });
    expect(s).toMatchObject({
      name: 'nightly report', cron: '30 2 * * *', timezone: 'UTC', queue: 'default', task: 'report.build', payload: {},
      priority: 0, maxAttempts: 5, enabled: true, lastRunAt: null, lastJobId: null,
    });
    expect(new Date(s.nextRunAt).toISOString()).toBe(nextCronRun('30 2 * * *', 'UTC', before).toISOString());
    expect((await req('GET', `/v1/job-schedules/${s.id}`)).json()).toMatchObject({ id: s.id, name: 'nightly report' });
    const audit = await db.admin.query<{ action: string }>(`SELECT action FROM audit_logs WHERE resource_id = $1`, [s.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['job_schedule.create']);
  });

  it('reads the expression in the schedule\'s time zone', async () => {
    const s = await create({ name: 'nine in new york', cron: '0 9 * * *', timezone: 'America/New_York', task: 't' });
    const next = new Date(s.nextRunAt);
    expect([13, 14]).toContain(next.getUTCHours()); // 09:00 EDT or EST
    expect(next.getUTCMinutes()).toBe(0);
  });

  it.each([
    [{ cron: '* * * *' }, 'body.cron', /5 fields/],
    [{ cron: '0 0 * * * *' }, 'body.cron', /5 fields/],
    [{ cron: '61 * * * *' }, 'body.cron', /not a valid cron expression/],
    [{ cron: '0 0 30 2 *' }, 'body.cron', /not a valid cron expression/],
    [{ cron: 'H * * * *' }, 'body.cron', /hashed/],
    [{ cron: 42 }, 'body.cron', /./],
    [{ timezone: 'Mars/Olympus' }, 'body.timezone', /IANA time zone/],
    [{ task: 'bad task!' }, 'body.task', /./],
    [{ queue: 'Upper' }, 'body.queue', /./],
    [{ name: '' }, 'body.name', /./],
    [{ priority: 5000 }, 'body.priority', /./],
    [{ extra: 1 }, 'body', /./],
  ])('400 naming the field for %j', async (over, path, message) => {
    const res = await req('POST', '/v1/job-schedules', { name: `bad-${randomUUID()}`, cron: '* * * * *', task: 't', ...over });
    expect(res.statusCode, res.body).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe('validation_failed');
    const issues = (e.details as { issues: { path: string; message: string }[] }).issues;
    expect(issues.some((i) => i.path === path && message.test(i.message)), JSON.stringify(issues)).toBe(true);
  });

  it('409 for a name the organization already uses; another organization may use it', async () => {
    await create({ name: 'dup', cron: '* * * * *', task: 't' });
    const res = await req('POST', '/v1/job-schedules', { name: 'dup', cron: '0 * * * *', task: 't' });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'conflict', details: { field: 'name' } });
    await create({ name: 'dup', cron: '* * * * *', task: 't' }, b.auth);
  });

  it('lists by name with the cursor, the organization\'s own only', async () => {
    const own = (await req('GET', '/v1/job-schedules?limit=100')).json().data.map((s: Schedule) => s.name);
    expect(own).toEqual([...own].sort());
    const seen: string[] = [];
    let url = '/v1/job-schedules?limit=2';
    for (;;) {
      const body = (await req('GET', url)).json();
      seen.push(...body.data.map((s: Schedule) => s.name));
      if (!body.nextCursor) break;
      url = `/v1/job-schedules?limit=2&cursor=${body.nextCursor}`;
    }
    expect(seen).toEqual(own);
    expect((await req('GET', '/v1/job-schedules', undefined, b.auth)).json().data.map((s: Schedule) => s.name)).toEqual(['dup']);
    expect((await req('GET', '/v1/job-schedules?cursor=garbage')).statusCode).toBe(400);
  });

  it('PATCH changes what is sent; a new cron or re-enabling moves the next run, other changes do not', async () => {
    const s = await create({ name: 'patched', cron: '0 3 * * *', task: 't', payload: { v: 1 } });
    const p1 = await req('PATCH', `/v1/job-schedules/${s.id}`, { payload: { v: 2 }, priority: 7 });
    expect(p1.statusCode, p1.body).toBe(200);
    expect(p1.json()).toMatchObject({ payload: { v: 2 }, priority: 7, cron: '0 3 * * *', nextRunAt: s.nextRunAt });
    const p2 = (await req('PATCH', `/v1/job-schedules/${s.id}`, { cron: '15 * * * *' })).json() as Schedule;
    expect(new Date(p2.nextRunAt).getUTCMinutes()).toBe(15);
    // Disabled, its next run is far overdue; enabled again it starts from now, not from then.
    await req('PATCH', `/v1/job-schedules/${s.id}`, { enabled: false });
    await db.admin.query(`UPDATE job_schedules SET next_run_at = now() - interval '3 days' WHERE id = $1`, [s.id]);
    const p3 = (await req('PATCH', `/v1/job-schedules/${s.id}`, { enabled: true })).json() as Schedule;
    expect(new Date(p3.nextRunAt).getTime()).toBeGreaterThan(Date.now());
    const audit = await db.admin.query<{ action: string }>(`SELECT action FROM audit_logs WHERE resource_id = $1 ORDER BY seq`, [s.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['job_schedule.create', ...Array(4).fill('job_schedule.update')]);
  });

  it('PATCH refuses bad input (nothing changes), a taken name (409), and another organization\'s schedule (404)', async () => {
    const s = await create({ name: 'patch-bad', cron: '0 4 * * *', task: 't' });
    for (const [body, path] of [[{ cron: '0 4 * *' }, 'body.cron'], [{ timezone: 'Nowhere' }, 'body.timezone'], [{ id: s.id }, 'body']] as const) {
      const res = await req('PATCH', `/v1/job-schedules/${s.id}`, body);
      expect(res.statusCode, res.body).toBe(400);
      expect((errorOf(res).details as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(path);
    }
    const res = await req('PATCH', `/v1/job-schedules/${s.id}`, { name: 'dup' });
    expect(res.statusCode, res.body).toBe(409);
    expect((await req('GET', `/v1/job-schedules/${s.id}`)).json()).toMatchObject({ name: 'patch-bad', cron: '0 4 * * *', timezone: 'UTC' });
    expect((await req('PATCH', `/v1/job-schedules/${s.id}`, { priority: 1 }, b.auth)).statusCode).toBe(404);
    expect((await req('GET', `/v1/job-schedules/${s.id}`, undefined, b.auth)).statusCode).toBe(404);
    expect((await req('PATCH', `/v1/job-schedules/${randomUUID()}`, { priority: 1 })).statusCode).toBe(404);
    expect((await req('GET', '/v1/job-schedules/not-a-uuid')).statusCode).toBe(400);
  });

  it('DELETE removes it (204, then 404), and not another organization\'s', async () => {
    const s = await create({ name: 'deleted', cron: '0 5 * * *', task: 't' });
    expect((await req('DELETE', `/v1/job-schedules/${s.id}`, undefined, b.auth)).statusCode).toBe(404);
    expect((await req('DELETE', `/v1/job-schedules/${s.id}`)).statusCode).toBe(204);
    expect((await req('GET', `/v1/job-schedules/${s.id}`)).statusCode).toBe(404);
    expect((await req('DELETE', `/v1/job-schedules/${s.id}`)).statusCode).toBe(404);
  });

  it('reading needs jobs:read and changing jobs:write', async () => {
    expect((await req('GET', '/v1/job-schedules', undefined, readOnly)).statusCode).toBe(200);
    for (const [method, url] of [['POST', '/v1/job-schedules'], ['PATCH', `/v1/job-schedules/${randomUUID()}`], ['DELETE', `/v1/job-schedules/${randomUUID()}`]] as const) {
      const res = await req(method, url, method === 'DELETE' ? undefined : { name: 'x', cron: '* * * * *', task: 't' }, readOnly);
      expect(res.statusCode).toBe(403);
      expect(errorOf(res).details).toEqual({ permission: 'jobs:write' });
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/job-schedules' })).statusCode).toBe(401);
  });
});

describe('runDueSchedules', () => {
  it('enqueues a due slot once with the schedule\'s job, then waits for the next slot', async () => {
    const s = await create({ name: 'every five', cron: '*/5 * * * *', task: 'tick', queue: 'sched', payload: { k: 1 }, priority: 3, maxAttempts: 2 });
    const slot = s.nextRunAt;
    expect(await runDueSchedules(db, at(slot, -1000))).toMatchObject({ failed: [] });
    expect(await jobsOf(s.id)).toEqual([]);

    const r = await runDueSchedules(db, at(slot, 1000));
    expect(r.failed).toEqual([]);
    expect(r.enqueued).toBeGreaterThanOrEqual(1);
    const jobs = await jobsOf(s.id);
    expect(jobs).toEqual([{ id: expect.any(String), key: scheduleJobKey(s.id, new Date(slot)), status: 'queued', payload: { k: 1 }, queue: 'sched', priority: 3 }]);
    const after = (await req('GET', `/v1/job-schedules/${s.id}`)).json() as Schedule;
    expect(after).toMatchObject({ lastRunAt: slot, lastJobId: jobs[0]!.id, nextRunAt: at(slot, 5 * 60_000).toISOString() });

    // The same moment again: nothing more.
    await runDueSchedules(db, at(slot, 1000));
    expect((await jobsOf(s.id)).length).toBe(1);
    // Hours late: the missed slots are not replayed, one job for the oldest, then from now on.
    const late = at(slot, 3 * 3_600_000 + 60_000);
    await runDueSchedules(db, late);
    expect((await jobsOf(s.id)).map((j) => j.key)).toEqual([scheduleJobKey(s.id, new Date(slot)), scheduleJobKey(s.id, at(slot, 5 * 60_000))]);
    const caughtUp = (await req('GET', `/v1/job-schedules/${s.id}`)).json() as Schedule;
    expect(caughtUp.nextRunAt).toBe(nextCronRun('*/5 * * * *', 'UTC', late).toISOString());
    await req('DELETE', `/v1/job-schedules/${s.id}`);
  });

  it('a job is not due before its slot, even when the scheduler\'s clock runs ahead of the database\'s', async () => {
    const s = await create({ name: 'ahead', cron: '0 0 1 1 *', task: 't', queue: 'sched-ahead' });
    const slot = new Date(s.nextRunAt);
    expect(slot.getTime()).toBeGreaterThan(Date.now());
    // The scheduler believes it is past the slot; the database knows it is not.
    expect((await runDueSchedules(db, at(s.nextRunAt, 1000))).failed).toEqual([]);
    const [job] = await listJobs({ db }, a.orgId, { queue: 'sched-ahead', limit: 10 });
    expect(job).toMatchObject({ status: 'queued', runAt: slot });
    expect(await claimJobs(db, 'w-ahead', ['sched-ahead'], 10, 60_000)).toEqual([]);
    await req('DELETE', `/v1/job-schedules/${s.id}`);
  });

  it('skips disabled schedules', async () => {
    const s = await create({ name: 'off', cron: '* * * * *', task: 't', enabled: false });
    await runDueSchedules(db, at(s.nextRunAt, 3_600_000));
    expect(await jobsOf(s.id)).toEqual([]);
    await req('DELETE', `/v1/job-schedules/${s.id}`);
  });

  it('several schedulers at once enqueue each slot exactly once', async () => {
    const made: Schedule[] = [];
    for (let i = 0; i < 12; i++) made.push(await create({ name: `race-${i}`, cron: '*/10 * * * *', task: 't' }, i % 2 ? a.auth : b.auth));
    const now = at(made[0]!.nextRunAt, 1000);
    const dbs = driver === 'postgres' ? [await t.reopen(), await t.reopen(), await t.reopen()] : [db, db, db];
    const reports = await Promise.all(dbs.map((d) => runDueSchedules(d, now, { limit: 5 })));
    expect(reports.flatMap((r) => r.failed)).toEqual([]);
    for (const s of made) expect((await jobsOf(s.id)).length, s.name).toBe(1);
    const ours = reports.reduce((n, r) => n + r.enqueued, 0);
    expect(ours).toBeGreaterThanOrEqual(12);
    for (const s of made) await req('DELETE', `/v1/job-schedules/${s.id}`, undefined, made.indexOf(s) % 2 ? a.auth : b.auth);
  });

  it('a Worker with schedulerIntervalMs runs the scheduler step, and the job runs', async () => {
    const s = await create({ name: 'worker-driven', cron: '0 0 1 1 *', task: 'yearly', queue: 'sched-worker' });
    await db.admin.query(`UPDATE job_schedules SET next_run_at = now() - interval '1 minute' WHERE id = $1`, [s.id]);
    const ran: unknown[] = [];
    const errors: unknown[] = [];
    const w = new Worker({
      db, queues: ['sched-worker'], pollIntervalMs: 20, schedulerIntervalMs: 20, onError: (e) => errors.push(e),
      handlers: { yearly: (job) => void ran.push(job.payload) },
    });
    w.start();
    try {
      const end = Date.now() + 15_000;
      while (ran.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await w.stop();
    }
    expect(errors).toEqual([]);
    expect(ran).toEqual([{}]);
    const jobs = await listJobs({ db }, a.orgId, { queue: 'sched-worker', limit: 10 });
    expect(jobs).toMatchObject([{ status: 'succeeded', idempotencyKey: expect.stringMatching(`^schedule:${s.id}:`) }]);
    expect(new Date(((await req('GET', `/v1/job-schedules/${s.id}`)).json() as Schedule).nextRunAt).getTime()).toBeGreaterThan(Date.now());
  });
});
