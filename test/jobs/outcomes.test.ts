import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { claimJobs, enqueue, getJob, reclaimExpiredJobs, recordOutcomes, type ClaimedJob, type Outcome } from '../../src/jobs/index.js';
import { OutcomeBatcher, type RecordedStatus } from '../../src/jobs/outcome-batcher.js';
import { pgErrorCode } from '../../src/db/index.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

/** Batched outcomes in the database (jobs_complete_many, jobs_fail_many): fenced like their single forms. */

let t: TestApp;
let a: SignedUp;
let db: Database;
const deps = () => ({ db });

const claim = (worker: string, queue: string, limit = 10) => claimJobs(db, worker, [queue], limit, 60_000);
const done = (lease: ClaimedJob, result: unknown = 'ok'): Outcome => ({ lease, ok: true, resultJson: JSON.stringify(result) });
const failed = (lease: ClaimedJob, error: string, retry = true, retryDelayMs = 0): Outcome => ({ lease, ok: false, error, retry, retryDelayMs });

/** The lease of `job` expires and is reclaimed: the attempt is superseded. */
async function expire(job: ClaimedJob) {
  await db.admin.query(`UPDATE background_jobs SET locked_until = now() - interval '1 second' WHERE id = $1`, [job.id]);
  expect(await reclaimExpiredJobs(db)).toBeGreaterThanOrEqual(1);
}

beforeAll(async () => {
  t = await createTestApp();
  db = t.db;
  a = await signupUser(t.app);
});
afterAll(async () => t?.close());

describe('recordOutcomes', () => {
  it('records completions and failures of one worker in one call and answers each new status', async () => {
    const q = 'b-mixed';
    for (let i = 0; i < 4; i++) await enqueue(deps(), a.orgId, { queue: q, task: 't', payload: { i }, maxAttempts: 2 });
    const [j0, j1, j2, j3] = await claim('w1', q);
    const statuses = await recordOutcomes(db, 'w1', [
      done(j0!, { n: 1 }), failed(j1!, 'boom'), failed(j2!, 'fatal', false), done(j3!, null),
    ]);
    expect(Object.fromEntries(statuses)).toEqual({ [j0!.id]: 'succeeded', [j1!.id]: 'failed', [j2!.id]: 'dead', [j3!.id]: 'succeeded' });
    expect(await getJob(deps(), a.orgId, j0!.id)).toMatchObject({ status: 'succeeded', result: { n: 1 }, lockedBy: null });
    expect(await getJob(deps(), a.orgId, j1!.id)).toMatchObject({ status: 'failed', lastError: 'boom', finishedAt: null });
    expect(await getJob(deps(), a.orgId, j2!.id)).toMatchObject({ status: 'dead', lastError: 'fatal' });
    expect((await getJob(deps(), a.orgId, j3!.id)).result).toBeNull();
    expect(await recordOutcomes(db, 'w1', [])).toEqual(new Map());
  });

  it('refuses a superseded attempt\'s batched completion and records the rest of the batch', async () => {
    const q = 'b-fenced';
    const first = await enqueue(deps(), a.orgId, { queue: q, task: 't' });
    const other = await enqueue(deps(), a.orgId, { queue: q, task: 't' });
    const [old, kept] = await claim('w1', q);
    expect(old!.id).toBe(first.job.id);
    await expire(old!);
    const [again] = await claim('w2', q);
    expect(again).toMatchObject({ id: old!.id, attempts: 2 });

    // w1's late outcomes for attempt 1: refused; its other job, still leased, is recorded.
    const statuses = await recordOutcomes(db, 'w1', [done(old!, 'late'), done(kept!, 'kept')]);
    expect(Object.fromEntries(statuses)).toEqual({ [other.job.id]: 'succeeded' });
    expect(await getJob(deps(), a.orgId, old!.id)).toMatchObject({ status: 'running', lockedBy: 'w2', attempts: 2, result: null });
    // The right worker with the wrong attempt, or the wrong worker with the right attempt: refused too.
    expect((await recordOutcomes(db, 'w2', [done({ ...again!, attempts: 1 }, 'x')])).size).toBe(0);
    expect((await recordOutcomes(db, 'w1', [failed(again!, 'not mine')])).size).toBe(0);
    expect(await getJob(deps(), a.orgId, old!.id)).toMatchObject({ status: 'running', lastError: expect.stringMatching(/expired/) });
    // The current lease records it.
    expect(Object.fromEntries(await recordOutcomes(db, 'w2', [done(again!, 'current')]))).toEqual({ [old!.id]: 'succeeded' });
    expect(await getJob(deps(), a.orgId, old!.id)).toMatchObject({ status: 'succeeded', result: 'current', attempts: 2 });
    // Once recorded, a repeat is refused (no double outcome).
    expect((await recordOutcomes(db, 'w2', [failed(again!, 'again')])).size).toBe(0);
  });

  it('retries a failure after its own delay, and dead-letters when its attempts are spent', async () => {
    const q = 'b-delay';
    await enqueue(deps(), a.orgId, { queue: q, task: 't', maxAttempts: 3 });
    await enqueue(deps(), a.orgId, { queue: q, task: 't', maxAttempts: 1 });
    const [soon, last] = await claim('w1', q);
    await recordOutcomes(db, 'w1', [failed(soon!, 'later', true, 3_600_000), failed(last!, 'spent', true, 0)]);
    const s = await getJob(deps(), a.orgId, soon!.id);
    expect(s.status).toBe('failed');
    expect(s.runAt.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
    expect(await getJob(deps(), a.orgId, last!.id)).toMatchObject({ status: 'dead', lastError: 'spent' });
    expect(await claim('w1', q)).toEqual([]);
  });

  it('records nothing for a job that is not running, even if locked_by still names the worker', async () => {
    const q = 'b-not-running';
    await enqueue(deps(), a.orgId, { queue: q, task: 't', maxAttempts: 3 });
    const [j] = await claim('w1', q);
    // The CHECK of 0009 allows locked_by on a job that is not running (without locked_until).
    await db.admin.query(`UPDATE background_jobs SET status = 'failed', locked_until = NULL WHERE id = $1`, [j!.id]);
    expect((await recordOutcomes(db, 'w1', [done(j!, 'stale')])).size).toBe(0);
    expect((await recordOutcomes(db, 'w1', [failed(j!, 'stale')])).size).toBe(0);
    expect(await getJob(deps(), a.orgId, j!.id)).toMatchObject({ status: 'failed', result: null, lastError: null });
  });

  it('the functions refuse arrays of different lengths', async () => {
    await expect(db.transaction((sql) => sql.query(
      `SELECT * FROM jobs_complete_many('w', $1::uuid[], $2::int[], $3::jsonb[])`,
      [['00000000-0000-7000-8000-000000000000'], [1, 2], ['1']],
    ))).rejects.toThrow(/one element per job/);
    await expect(db.transaction((sql) => sql.query(
      `SELECT * FROM jobs_fail_many('w', $1::uuid[], $2::int[], $3::text[], $4::boolean[], $5::int[])`,
      [['00000000-0000-7000-8000-000000000000'], [1], ['e'], [], [0]],
    ))).rejects.toThrow(/one element per job/);
  });
});

describe('OutcomeBatcher', () => {
  function batcher(workerId: string) {
    const settled = new Map<string, RecordedStatus | null>();
    const errs: Array<{ err: unknown; operation: string }> = [];
    const b = new OutcomeBatcher({
      db, workerId, maxBatch: 100, delayMs: 0, retryDelayMs: () => 0,
      onError: (err, info) => errs.push({ err, operation: info.operation }),
      onSettled: (l, status) => settled.set(l.id, status),
    });
    return { b, settled, errs };
  }

  it('isolates a result the database refuses: it becomes a failure, the rest of the batch is recorded as it was', async () => {
    const q = 'ob-data';
    for (let i = 0; i < 5; i++) await enqueue(deps(), a.orgId, { queue: q, task: 't', maxAttempts: 2 });
    const jobs = await claim('wb1', q);
    const { b, settled, errs } = batcher('wb1');
    // jsonb refuses \u0000 (SQLSTATE 22P05, a data exception): only that element's fault.
    const bad: Outcome = { lease: jobs[2]!, ok: true, resultJson: JSON.stringify({ s: 'nul \u0000' }) };
    for (const o of [done(jobs[0]!, 0), done(jobs[1]!, 1), bad, failed(jobs[3]!, 'boom'), done(jobs[4]!, 4)]) b.add(o);
    expect(await b.flush()).toBe(true);
    expect(jobs.map((j) => settled.get(j.id))).toEqual(['succeeded', 'succeeded', 'failed', 'failed', 'succeeded']);
    expect(await getJob(deps(), a.orgId, jobs[2]!.id)).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/^the handler's result could not be recorded: /) });
    expect(await getJob(deps(), a.orgId, jobs[4]!.id)).toMatchObject({ status: 'succeeded', result: 4 });
    expect(errs).toEqual([]);
  });

  it('an error that is not about the data records nothing: the batch stays leased and no attempt is spent', async () => {
    const q = 'ob-down';
    for (let i = 0; i < 3; i++) await enqueue(deps(), a.orgId, { queue: q, task: 't', maxAttempts: 1 });
    const jobs = await claim('wb2', q);
    const { b, settled, errs } = batcher('wb2');
    // The database refuses every batch (here: the privilege is gone; a connection lost or a lock timeout alike).
    const fn = 'jobs_complete_many(text, uuid[], integer[], jsonb[])';
    await db.admin.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM agentbase_app`);
    try {
      for (const j of jobs) b.add(done(j, 'fine'));
      expect(await b.flush()).toBe(true);
    } finally {
      await db.admin.query(`GRANT EXECUTE ON FUNCTION ${fn} TO agentbase_app`);
    }
    expect(jobs.map((j) => settled.get(j.id))).toEqual([null, null, null]);
    expect(errs.map((e) => [e.operation, pgErrorCode(e.err)])).toEqual([['record', '42501']]);
    for (const j of jobs) {
      expect(await getJob(deps(), a.orgId, j.id)).toMatchObject({ status: 'running', lockedBy: 'wb2', attempts: 1, lastError: null });
    }
    // The leases are still this worker's: recording again (the database back) works.
    expect([...(await recordOutcomes(db, 'wb2', jobs.map((j) => done(j, 'again')))).values()]).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });
});
