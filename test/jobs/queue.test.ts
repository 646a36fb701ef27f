import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import {
  cancelJob, claimJobs, completeJob, enqueue, enqueueIn, enqueueManyIn, failJob, getJob, heartbeatJobs, reclaimExpiredJobs, releaseJobs, type ClaimedJob,
} from '../../src/jobs/index.js';
import { AppError } from '../../src/errors.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { driver } from '../helpers/db.js';

/** The queue in the database: enqueue, the claim and its lease, fencing, expiry. Workers are in worker.test.ts. */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let db: Database;
const deps = () => ({ db });

/** Polls until cond() is truthy (bounded), for conditions that depend on the clock, such as a lease expiring. */

/** Claims from a queue of this test only, so tests do not take each other's jobs. */
const claim = (worker: string, queue: string, limit = 10, leaseMs = 60_000) => claimJobs(db, worker, [queue], limit, leaseMs);

beforeAll(async () => {
  t = await createTestApp();
  db = t.db;
  a = await signupUser(t.app);
  b = await signupUser(t.app);
});
afterAll(async () => t?.close());

describe('enqueue many', () => {
  it('enqueues a batch in one statement, in order, with idempotency keys honoured within the batch and before it', async () => {
    const before = await enqueue(deps(), a.orgId, { queue: 'q-many', task: 't', payload: { n: 0 }, idempotencyKey: 'old' });
    const out = await db.tenant(a.orgId, (sql) => enqueueManyIn(sql, [
      { queue: 'q-many', task: 't', payload: { n: 1 }, priority: 5 },
      { queue: 'q-many', task: 't', payload: { n: 2 }, idempotencyKey: 'old' },
      { queue: 'q-many', task: 't', payload: { n: 3 }, idempotencyKey: 'new' },
      { queue: 'q-many', task: 't', payload: { n: 4 }, idempotencyKey: 'new' },
    ]));
    expect(out.map((e) => e.created)).toEqual([true, false, true, false]);
    expect(out[1]!.job.id).toBe(before.job.id);
    expect(out[3]!.job.id).toBe(out[2]!.job.id);
    expect(out.map((e) => (e.job.payload as { n: number }).n)).toEqual([1, 0, 3, 3]);
    expect(out[0]!.job).toMatchObject({ status: 'queued', priority: 5, maxAttempts: 5 });
    expect((await claim('w-many', 'q-many', 10)).length).toBe(3);
  });

  it('one invalid job refuses the whole call and enqueues nothing', async () => {
    await expect(db.tenant(a.orgId, (sql) => enqueueManyIn(sql, [
      { queue: 'q-many-bad', task: 't' },
      { queue: 'Not A Queue', task: 't' },
    ]))).rejects.toMatchObject({ status: 400, code: 'validation_failed' });
    expect(await claim('w-many-bad', 'q-many-bad', 10)).toEqual([]);
  });
});

describe('enqueue', () => {
  it('creates a queued job with its defaults, readable by its organization only', async () => {
    const { job, created } = await enqueue(deps(), a.orgId, { queue: 'q-defaults', task: 'email.send', payload: { to: 'x@example.com' } });
    expect(created).toBe(true);
    expect(job).toMatchObject({
      queue: 'q-defaults', task: 'email.send', payload: { to: 'x@example.com' }, status: 'queued', priority: 0,
      attempts: 0, maxAttempts: 5, result: null, lastError: null, lockedBy: null, finishedAt: null,
    });
    expect(job.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect((await getJob(deps(), a.orgId, job.id)).id).toBe(job.id);
    await expect(getJob(deps(), b.orgId, job.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('a repeated idempotency key returns the first job; the key is per organization and queue', async () => {
    const first = await enqueue(deps(), a.orgId, { queue: 'q-idem', task: 't', payload: { n: 1 }, idempotencyKey: 'k1' });
    const again = await enqueue(deps(), a.orgId, { queue: 'q-idem', task: 't', payload: { n: 2 }, idempotencyKey: 'k1' });
    expect(again.created).toBe(false);
    expect(again.job.id).toBe(first.job.id);
    expect(again.job.payload).toEqual({ n: 1 });
    const otherQueue = await enqueue(deps(), a.orgId, { queue: 'q-idem-2', task: 't', idempotencyKey: 'k1' });
    const otherOrg = await enqueue(deps(), b.orgId, { queue: 'q-idem', task: 't', idempotencyKey: 'k1' });
    expect(otherQueue.created && otherOrg.created).toBe(true);
    expect(new Set([first.job.id, otherQueue.job.id, otherOrg.job.id]).size).toBe(3);
  });

  it('concurrent enqueues with one key create one job', async () => {
    const all = await Promise.all(
      Array.from({ length: 8 }, (_, i) => enqueue(deps(), a.orgId, { queue: 'q-idem-race', task: 't', payload: { i }, idempotencyKey: 'same' })),
    );
    expect(new Set(all.map((x) => x.job.id)).size).toBe(1);
    expect(all.filter((x) => x.created)).toHaveLength(1);
  });

  it('enqueueIn commits or rolls back with the caller\'s tenant transaction', async () => {
    const kept = await db.tenant(a.orgId, (sql) => enqueueIn(sql, { queue: 'q-tx', task: 'kept' }));
    const boom = new Error('the change that wanted the job failed');
    let lostId = '';
    await expect(db.tenant(a.orgId, async (sql) => {
      lostId = (await enqueueIn(sql, { queue: 'q-tx', task: 'lost' })).job.id;
      throw boom;
    })).rejects.toBe(boom);
    expect((await getJob(deps(), a.orgId, kept.job.id)).task).toBe('kept');
    await expect(getJob(deps(), a.orgId, lostId)).rejects.toMatchObject({ status: 404 });
  });

  it.each([
    [{ task: '' }, 'task'],
    [{ task: 'ok', queue: 'Bad Queue' }, 'queue'],
    [{ task: 'ok', priority: 5000 }, 'priority'],
    [{ task: 'ok', maxAttempts: 0 }, 'maxAttempts'],
    [{ task: 'ok', runAt: 'tomorrow' }, 'runAt'],
    [{ task: 'ok', payload: { s: 'nul\u0000' } }, 'payload'],
  ])('refuses %j (validation_failed on %s)', async (input, field) => {
    const err = await enqueue(deps(), a.orgId, input as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(JSON.stringify((err as AppError).details)).toContain(field);
  });
});

describe('the claim', () => {
  it('takes the highest priority first, then the earliest run_at, and never a job whose run_at is in the future', async () => {
    const q = 'q-order';
    const past = (s: number) => new Date(Date.now() - s * 1000);
    const low = await enqueue(deps(), a.orgId, { queue: q, task: 'low', priority: -5, runAt: past(100) });
    const oldNormal = await enqueue(deps(), a.orgId, { queue: q, task: 'old', runAt: past(50) });
    const newNormal = await enqueue(deps(), b.orgId, { queue: q, task: 'new', runAt: past(10) });
    const urgent = await enqueue(deps(), b.orgId, { queue: q, task: 'urgent', priority: 10, runAt: past(1) });
    const future = await enqueue(deps(), a.orgId, { queue: q, task: 'later', priority: 1000, runAt: new Date(Date.now() + 3_600_000) });

    const first = await claim('w-order', q, 1);
    expect(first.map((j) => j.task)).toEqual(['urgent']);
    const rest = await claim('w-order', q, 10);
    expect(rest.map((j) => j.id)).toEqual([oldNormal.job.id, newNormal.job.id, low.job.id]);
    // Jobs of both organizations, each with its own org id.
    expect([...first, ...rest].map((j) => j.orgId)).toEqual([b.orgId, a.orgId, b.orgId, a.orgId]);
    expect(first[0]!.id).toBe(urgent.job.id);
    expect(await claim('w-order', q, 10)).toEqual([]);
    expect((await getJob(deps(), a.orgId, future.job.id)).status).toBe('queued');
  });

  it('leases the job: running, locked by the worker, attempt counted; another worker cannot claim it', async () => {
    const q = 'q-lease';
    const { job } = await enqueue(deps(), a.orgId, { queue: q, task: 't' });
    const [c] = await claim('w-1', q);
    expect(c).toMatchObject({ id: job.id, attempts: 1 });
    expect(c!.lockedUntil.getTime()).toBeGreaterThan(Date.now());
    expect(await claim('w-2', q)).toEqual([]);
    expect(await getJob(deps(), a.orgId, job.id)).toMatchObject({ status: 'running', lockedBy: 'w-1', attempts: 1 });
  });

  it.skipIf(driver !== 'postgres')('concurrent claims on separate connections take disjoint jobs (SKIP LOCKED)', async () => {
    const q = 'q-concurrent';
    for (let i = 0; i < 40; i++) await enqueue(deps(), i % 2 ? a.orgId : b.orgId, { queue: q, task: 't', payload: { i } });
    const dbs = [db, await t.reopen(), await t.reopen(), await t.reopen()];
    const batches = await Promise.all(dbs.map((d, i) => claimJobs(d, `w-${i}`, [q], 15, 60_000)));
    const ids = batches.flat().map((j) => j.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
  });

  it('refuses nonsense arguments', async () => {
    await expect(claimJobs(db, '', null, 1, 1000)).rejects.toThrow(/worker id/);
    await expect(claimJobs(db, 'w', null, 0, 1000)).rejects.toThrow(/limit/);
  });
});

describe('outcomes and fencing', () => {
  async function claimed(queue: string, over: Record<string, unknown> = {}, leaseMs = 60_000): Promise<ClaimedJob> {
    await enqueue(deps(), a.orgId, { queue, task: 't', ...over });
    const [c] = await claim('w-out', queue, 1, leaseMs);
    return c!;
  }

  it('complete records the result and ends the lease; a second outcome is refused', async () => {
    const c = await claimed('q-complete');
    expect(await completeJob(db, 'w-out', c, JSON.stringify({ ok: 1 }))).toBe(true);
    expect(await getJob(deps(), a.orgId, c.id)).toMatchObject({ status: 'succeeded', result: { ok: 1 }, lockedBy: null, lockedUntil: null });
    expect((await getJob(deps(), a.orgId, c.id)).finishedAt).not.toBeNull();
    expect(await completeJob(db, 'w-out', c, 'null')).toBe(false);
    expect(await failJob(db, 'w-out', c, 'late', true, 0)).toBeNull();
  });

  it('another worker cannot complete or heartbeat a lease it does not hold', async () => {
    const c = await claimed('q-foreign');
    expect(await completeJob(db, 'w-other', c, 'null')).toBe(false);
    expect(await heartbeatJobs(db, 'w-other', [c], 60_000)).toEqual(new Set());
    expect(await heartbeatJobs(db, 'w-out', [c], 60_000)).toEqual(new Set([c.id]));
  });

  it('fail schedules a retry after the delay, then dead-letters after max_attempts', async () => {
    const q = 'q-fail';
    const c1 = await claimed(q, { maxAttempts: 2 });
    expect(await failJob(db, 'w-out', c1, 'boom 1', true, 3_600_000)).toBe('failed');
    const j1 = await getJob(deps(), a.orgId, c1.id);
    expect(j1).toMatchObject({ status: 'failed', lastError: 'boom 1', attempts: 1, lockedBy: null, finishedAt: null });
    expect(j1.runAt.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    expect(await claim('w-out', q)).toEqual([]); // the retry waits for its run_at

    await db.admin.query(`UPDATE background_jobs SET run_at = now() WHERE id = $1`, [c1.id]);
    const [c2] = await claim('w-out', q);
    expect(c2).toMatchObject({ id: c1.id, attempts: 2 });
    expect(await failJob(db, 'w-out', c2!, 'boom 2', true, 0)).toBe('dead');
    const j2 = await getJob(deps(), a.orgId, c1.id);
    expect(j2).toMatchObject({ status: 'dead', lastError: 'boom 2', attempts: 2 });
    expect(j2.finishedAt).not.toBeNull();
    expect(await claim('w-out', q)).toEqual([]);
  });

  it('a failed job waiting for its retry can be cancelled; then nothing claims it', async () => {
    const c = await claimed('q-cancel-failed', { maxAttempts: 3 });
    expect(await failJob(db, 'w-out', c, 'transient', true, 0)).toBe('failed');
    const actor = { orgId: a.orgId, actorType: 'user' as const, userId: a.userId, apiKeyId: null, sessionId: null, ip: null, userAgent: null, requestId: 't' };
    expect(await cancelJob(deps(), actor, c.id)).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(await claim('w-out', 'q-cancel-failed')).toEqual([]);
  });

  it('a permanent failure (retry false) is dead at once', async () => {
    const c = await claimed('q-permanent', { maxAttempts: 5 });
    expect(await failJob(db, 'w-out', c, 'bad payload', false, 0)).toBe('dead');
  });

  it('release queues the job again without counting the attempt', async () => {
    const c = await claimed('q-release');
    expect(await releaseJobs(db, 'w-other', [c])).toEqual([]);
    expect(await releaseJobs(db, 'w-out', [c])).toEqual([c.id]);
    expect(await getJob(deps(), a.orgId, c.id)).toMatchObject({ status: 'queued', attempts: 0, lockedBy: null });
    expect(await completeJob(db, 'w-out', c, 'null')).toBe(false);
    const [again] = await claim('w-next', 'q-release');
    expect(again).toMatchObject({ id: c.id, attempts: 1 });
  });
});

describe('expired leases (a worker that died)', () => {
  it('are claimable again; the dead worker\'s late outcome is refused and the new holder\'s recorded', async () => {
    const q = 'q-expired';
    const { job } = await enqueue(deps(), a.orgId, { queue: q, task: 't' });
    const [dead] = await claim('w-dead', q, 1, 50); // claimed, then never completed
    expect(dead!.attempts).toBe(1);
    const [taken] = await until(async () => {
      const r = await claim('w-alive', q);
      return r.length ? r : null;
    }, 'the expired lease to be claimable');
    expect(taken).toMatchObject({ id: job.id, attempts: 2 });
    const mid = await getJob(deps(), a.orgId, job.id);
    expect(mid).toMatchObject({ status: 'running', lockedBy: 'w-alive' });
    expect(mid.lastError).toMatch(/lease held by w-dead expired/);

    expect(await completeJob(db, 'w-dead', dead!, JSON.stringify('stale'))).toBe(false);
    expect(await heartbeatJobs(db, 'w-dead', [dead!], 60_000)).toEqual(new Set());
    expect(await completeJob(db, 'w-alive', taken!, JSON.stringify('fresh'))).toBe(true);
    expect(await getJob(deps(), a.orgId, job.id)).toMatchObject({ status: 'succeeded', result: 'fresh' });
  });

  it('count as attempts: a job whose last attempt\'s lease expires is dead-lettered', async () => {
    const q = 'q-expired-dead';
    const { job } = await enqueue(deps(), b.orgId, { queue: q, task: 't', maxAttempts: 1 });
    await claim('w-dead', q, 1, 50);
    await until(async () => (await reclaimExpiredJobs(db)) > 0 || (await getJob(deps(), b.orgId, job.id)).status === 'dead', 'the lease to expire');
    expect(await getJob(deps(), b.orgId, job.id)).toMatchObject({ status: 'dead', attempts: 1, lockedBy: null });
    expect(await claim('w-alive', q)).toEqual([]);
  });
});

describe('the app role alone', () => {
  it('cannot read or change another tenant\'s jobs, and cannot call the claim without the definer function', async () => {
    const { job } = await enqueue(deps(), b.orgId, { queue: 'q-rls', task: 't' });
    const seen = await db.tenant(a.orgId, (sql) => sql.query('SELECT id FROM background_jobs WHERE id = $1', [job.id]));
    expect(seen.rows).toEqual([]);
    const changed = await db.tenant(a.orgId, (sql) => sql.query(`UPDATE background_jobs SET status = 'cancelled', finished_at = now() WHERE id = $1`, [job.id]));
    expect(changed.rowCount).toBe(0);
    const noTenant = await db.transaction((sql) => sql.query('SELECT id FROM background_jobs'));
    expect(noTenant.rows).toEqual([]);
  });
});
