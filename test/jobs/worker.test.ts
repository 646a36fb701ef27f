import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import {
  PermanentJobError, Worker, enqueue, exponentialBackoff, getJob, reclaimExpiredJobs, redriveJob, type JobRow, type WorkerOptions,
} from '../../src/jobs/index.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { driver } from '../helpers/db.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let db: Database;
const deps = () => ({ db });
const workers: Worker[] = [];
const errors: unknown[] = [];


function worker(opts: Partial<WorkerOptions> & Pick<WorkerOptions, 'handlers' | 'queues'>): Worker {
  const w = new Worker({ db, pollIntervalMs: 20, retryDelayMs: () => 0, onError: (err) => errors.push(err), ...opts });
  workers.push(w);
  w.start();
  return w;
}

/** Expires a running job's lease and reclaims it in one transaction, so a heartbeat cannot extend it in between. */
const expireAndReclaim = (id: string) => db.admin.transaction(async (sql) => {
  await sql.query(`UPDATE background_jobs SET locked_until = now() - interval '1 second' WHERE id = $1`, [id]);
  return (await sql.query<{ n: number }>(`SELECT jobs_reclaim_expired(1000) AS n`)).rows[0]!.n;
});

const statusOf = (orgId: string, id: string) => getJob(deps(), orgId, id);
const reached = (orgId: string, id: string, status: JobRow['status']) =>
  until(async () => {
    const j = await statusOf(orgId, id);
    return j.status === status ? j : null;
  }, `job ${id} to be ${status}`);

beforeAll(async () => {
  t = await createTestApp();
  db = t.db;
  a = await signupUser(t.app);
  b = await signupUser(t.app);
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 1000 })));
  expect(errors.splice(0)).toEqual([]);
});
afterAll(async () => t?.close());

describe('Worker', () => {
  it('runs jobs of every organization with their handler and records the results', async () => {
    const q = 'w-basic';
    const seen: string[] = [];
    const jobs = await Promise.all([
      enqueue(deps(), a.orgId, { queue: q, task: 'double', payload: { n: 2 } }),
      enqueue(deps(), b.orgId, { queue: q, task: 'double', payload: { n: 21 } }),
    ]);
    worker({
      queues: [q],
      handlers: {
        double: (job) => {
          seen.push(job.orgId);
          return { n: (job.payload as { n: number }).n * 2 };
        },
      },
    });
    const [x, y] = [await reached(a.orgId, jobs[0].job.id, 'succeeded'), await reached(b.orgId, jobs[1].job.id, 'succeeded')];
    expect(x.result).toEqual({ n: 4 });
    expect(y.result).toEqual({ n: 42 });
    expect(seen.sort()).toEqual([a.orgId, b.orgId].sort());
  });

  it('never runs more than `concurrency` handlers at once, and drains a backlog larger than a batch', async () => {
    const q = 'w-concurrency';
    let now = 0;
    let peak = 0;
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push((await enqueue(deps(), a.orgId, { queue: q, task: 'slow' })).job.id);
    worker({
      queues: [q], concurrency: 3, prefetch: 0, pollIntervalMs: 60_000, // only the re-poll after a full batch can drain it
      handlers: {
        slow: async () => {
          peak = Math.max(peak, ++now);
          await new Promise((r) => setTimeout(r, 5));
          now--;
        },
      },
    });
    for (const id of ids) await reached(a.orgId, id, 'succeeded');
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
  });

  it('retries a throwing handler with back-off, dead-letters it after max_attempts, and a redrive runs it again', async () => {
    const q = 'w-retry';
    const attempts: number[] = [];
    const delays: number[] = [];
    let healed = false;
    const { job } = await enqueue(deps(), a.orgId, { queue: q, task: 'flaky', maxAttempts: 3 });
    worker({
      queues: [q],
      retryDelayMs: (n) => {
        delays.push(n);
        return 0;
      },
      handlers: {
        flaky: (j) => {
          attempts.push(j.attempts);
          if (!healed) throw new Error(`attempt ${j.attempts} failed`);
          return 'ok';
        },
      },
    });
    const dead = await reached(a.orgId, job.id, 'dead');
    expect(dead).toMatchObject({ attempts: 3, lastError: 'Error: attempt 3 failed' });
    expect(attempts).toEqual([1, 2, 3]);
    expect(delays).toEqual([1, 2, 3]);

    healed = true;
    const actor = { orgId: a.orgId, actorType: 'user' as const, userId: a.userId, apiKeyId: null, sessionId: null, ip: null, userAgent: null, requestId: 'test' };
    expect(await redriveJob(deps(), actor, job.id)).toMatchObject({ status: 'queued', attempts: 0 });
    const done = await reached(a.orgId, job.id, 'succeeded');
    expect(done).toMatchObject({ attempts: 1, result: 'ok' });
  });

  it('an unknown task fails with an error naming it; a PermanentJobError dead-letters at once', async () => {
    const q = 'w-unknown';
    const unknown = await enqueue(deps(), a.orgId, { queue: q, task: 'nobody.handles', maxAttempts: 1 });
    const permanent = await enqueue(deps(), a.orgId, { queue: q, task: 'refuse', maxAttempts: 5 });
    worker({ queues: [q], handlers: { refuse: () => Promise.reject(new PermanentJobError('payload is unusable')) } });
    const u = await reached(a.orgId, unknown.job.id, 'dead');
    expect(u.lastError).toMatch(/no handler for task "nobody\.handles".*handles: refuse/);
    const p = await reached(a.orgId, permanent.job.id, 'dead');
    expect(p).toMatchObject({ attempts: 1, lastError: 'PermanentJobError: payload is unusable' });
  });

  it('a result that is not JSON fails the attempt instead of being lost', async () => {
    const q = 'w-bigint';
    const { job } = await enqueue(deps(), a.orgId, { queue: q, task: 'big', maxAttempts: 1 });
    worker({ queues: [q], handlers: { big: () => ({ n: 1n }) } });
    expect((await reached(a.orgId, job.id, 'dead')).lastError).toMatch(/BigInt/);
  });

  it('keeps the lease alive with heartbeats while a handler runs longer than the lease', async () => {
    const q = 'w-heartbeat';
    const { job } = await enqueue(deps(), a.orgId, { queue: q, task: 'long' });
    let finish!: () => void;
    const gate = new Promise<void>((r) => {
      finish = r;
    });
    const firstUntil: Date[] = [];
    worker({ queues: [q], leaseMs: 300, heartbeatMs: 30, handlers: { long: () => gate } });
    const running = await reached(a.orgId, job.id, 'running');
    firstUntil.push(running.lockedUntil!);
    // Wait until the lease has been extended past its first end: a heartbeat happened.
    await until(async () => (await statusOf(a.orgId, job.id)).lockedUntil! > firstUntil[0]!, 'a heartbeat');
    // Waiting past the first lease end, nothing may reclaim it.
    await until(() => Date.now() > firstUntil[0]!.getTime() + 50, 'the first lease end to pass');
    expect(await reclaimExpiredJobs(db)).toBe(0);
    expect(await statusOf(a.orgId, job.id)).toMatchObject({ status: 'running', attempts: 1 });
    finish();
    await reached(a.orgId, job.id, 'succeeded');
  });

  it('a handler whose lease is lost is aborted and its late outcome is not recorded', async () => {
    const q = 'w-lost';
    const { job } = await enqueue(deps(), a.orgId, { queue: q, task: 'stuck', maxAttempts: 5 });
    let aborted: unknown = null;
    const w = worker({
      // A long poll interval: after the reclaim this worker does not take the job again during the test.
      queues: [q], leaseMs: 60_000, heartbeatMs: 20, pollIntervalMs: 60_000,
      handlers: {
        stuck: (_j, ctx) =>
          new Promise((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = ctx.signal.reason;
              resolve('late result');
            });
          }),
      },
    });
    await reached(a.orgId, job.id, 'running');
    // Simulate the worker stalling past its lease: the lease expires and is reclaimed.
    expect(await expireAndReclaim(job.id)).toBe(1);
    await until(() => aborted, 'the handler to be aborted');
    expect(String(aborted)).toMatch(/lease .* was lost/);
    await until(() => w.active === 0, 'the handler to settle');
    expect(await statusOf(a.orgId, job.id)).toMatchObject({ status: 'failed', result: null });
  });

  it('stop() waits for running handlers to finish', async () => {
    const q = 'w-stop-wait';
    const { job } = await enqueue(deps(), a.orgId, { queue: q, task: 'gated' });
    let finish!: () => void;
    const gate = new Promise<void>((r) => {
      finish = r;
    });
    const w = worker({ queues: [q], handlers: { gated: () => gate.then(() => 'finished') } });
    await reached(a.orgId, job.id, 'running');
    const stopping = w.stop({ timeoutMs: 60_000 });
    // Stopped claiming: a job enqueued now stays queued.
    const later = await enqueue(deps(), a.orgId, { queue: q, task: 'gated' });
    finish();
    expect(await stopping).toEqual({ released: 0 });
    expect(await statusOf(a.orgId, job.id)).toMatchObject({ status: 'succeeded', result: 'finished' });
    expect(await statusOf(a.orgId, later.job.id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('stop() gives back what is still running after its timeout: claimable again, attempt not counted, handler aborted', async () => {
    const q = 'w-stop-release';
    const { job } = await enqueue(deps(), a.orgId, { queue: q, task: 'forever' });
    let signal: AbortSignal | null = null;
    const w = worker({
      queues: [q],
      handlers: {
        forever: (_j, ctx) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
      },
    });
    await reached(a.orgId, job.id, 'running');
    expect(await w.stop({ timeoutMs: 10 })).toEqual({ released: 1 });
    expect(signal!.aborted).toBe(true);
    expect(await statusOf(a.orgId, job.id)).toMatchObject({ status: 'queued', attempts: 0, lockedBy: null });
    expect(await w.stop()).toEqual({ released: 1 }); // idempotent
    const next = worker({ queues: [q], handlers: { forever: () => 'done at last' } });
    expect(await reached(a.orgId, job.id, 'succeeded')).toMatchObject({ attempts: 1, result: 'done at last' });
    await next.stop();
  });

  it('stop() gives up recording outcomes the database does not take within its timeout; the write finishes later', async () => {
    const q = 'w-stop-stuck';
    const { job } = await enqueue(deps(), a.orgId, { queue: q, task: 'gated' });
    let finish!: () => void;
    const gate = new Promise<void>((r) => {
      finish = r;
    });
    // Long poll and lease: nothing but the outcome write needs the database once the job runs.
    const w = worker({ queues: [q], pollIntervalMs: 60_000, leaseMs: 600_000, handlers: { gated: () => gate.then(() => 'late') } });
    await reached(a.orgId, job.id, 'running');
    // Another transaction holds the job's row (on PGlite, the one connection): the outcome write waits.
    let unlock!: () => void;
    const unlocked = new Promise<void>((r) => {
      unlock = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = db.admin.transaction(async (sql) => {
      await sql.query(`SELECT id FROM background_jobs WHERE id = $1 FOR UPDATE`, [job.id]);
      locked();
      await unlocked;
    });
    await isLocked;
    finish();
    expect(await w.stop({ timeoutMs: 50 })).toEqual({ released: 0 });
    unlock();
    await holder;
    // Not given back, not failed: the write in flight records it once the row is free (or the lease would expire).
    expect(await reached(a.orgId, job.id, 'succeeded')).toMatchObject({ attempts: 1, result: 'late' });
  });

  it.skipIf(driver !== 'postgres')('two workers on separate pools process every job exactly once', async () => {
    const q = 'w-exactly-once';
    const n = 300;
    const orgs = [a.orgId, b.orgId];
    const ids: Array<[string, string]> = [];
    for (let i = 0; i < n; i++) {
      const org = orgs[i % 2]!;
      ids.push([org, (await enqueue(deps(), org, { queue: q, task: 'count', payload: { i } })).job.id]);
    }
    const runs = new Map<string, number>();
    const by = new Map<string, number>();
    const handlers = (name: string) => ({
      count: async (job: { id: string }) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        by.set(name, (by.get(name) ?? 0) + 1);
        await new Promise((r) => setImmediate(r));
      },
    });
    worker({ db: await t.reopen(), queues: [q], concurrency: 8, handlers: handlers('one') });
    worker({ db: await t.reopen(), queues: [q], concurrency: 8, handlers: handlers('two') });
    await until(async () => {
      const r = await db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM background_jobs WHERE queue = $1 AND status = 'succeeded'`, [q]);
      return r.rows[0]!.n === n;
    }, 'every job to succeed', 60_000);
    expect(runs.size).toBe(n);
    expect([...runs.values()].every((c) => c === 1)).toBe(true);
    expect([...by.values()].reduce((x, y) => x + y, 0)).toBe(n);
    const attempts = await db.admin.query<{ max: number }>(`SELECT max(attempts)::int AS max FROM background_jobs WHERE queue = $1`, [q]);
    expect(attempts.rows[0]!.max).toBe(1);
  });
});

describe('exponentialBackoff', () => {
  it('doubles per attempt between half and all of the step, up to the cap', () => {
    expect([1, 2, 3, 4].map((n) => exponentialBackoff(n, { baseMs: 100, random: () => 1 }))).toEqual([100, 200, 400, 800]);
    expect([1, 2, 3, 4].map((n) => exponentialBackoff(n, { baseMs: 100, random: () => 0 }))).toEqual([50, 100, 200, 400]);
    expect(exponentialBackoff(40, { baseMs: 100, maxMs: 5000, random: () => 1 })).toBe(5000);
  });
});
