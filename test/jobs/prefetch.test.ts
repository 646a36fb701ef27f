import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { Worker, enqueue, getJob, reclaimExpiredJobs, type JobRow, type WorkerOptions } from '../../src/jobs/index.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';

/** The Worker's prefetch buffer and its batched outcomes (the rest of the Worker is in worker.test.ts). */

let t: TestApp;
let a: SignedUp;
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

/** A handler that blocks until released, and says when it started. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  const started: string[] = [];
  return { started, open, handler: async (job: { id: string }) => { started.push(job.id); await opened; return 'done'; } };
}

/** Expires a running job's lease and reclaims it in one transaction, so a heartbeat cannot extend it in between. */
const expireAndReclaim = (id: string) => db.admin.transaction(async (sql) => {
  await sql.query(`UPDATE background_jobs SET locked_until = now() - interval '1 second' WHERE id = $1`, [id]);
  return (await sql.query<{ n: number }>(`SELECT jobs_reclaim_expired(1000) AS n`)).rows[0]!.n;
});

const statusOf = (id: string) => getJob(deps(), a.orgId, id);
const reached = (id: string, status: JobRow['status']) =>
  until(async () => {
    const j = await statusOf(id);
    return j.status === status ? j : null;
  }, `job ${id} to be ${status}`);
const enqueueN = async (queue: string, task: string, n: number, maxAttempts = 5) => {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await enqueue(deps(), a.orgId, { queue, task, payload: { i }, maxAttempts })).job.id);
  return ids;
};

beforeAll(async () => {
  t = await createTestApp();
  db = t.db;
  a = await signupUser(t.app);
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 1000 })));
  expect(errors.splice(0)).toEqual([]);
});
afterAll(async () => t?.close());

describe('Worker prefetch', () => {
  it('claims ahead of its free slots, and stop() gives the prefetched jobs back at once, before running ones finish', async () => {
    const q = 'p-release';
    const ids = await enqueueN(q, 'gated', 4);
    const g = gate();
    const w = worker({ queues: [q], concurrency: 1, prefetch: 5, handlers: { gated: g.handler } });
    await until(() => w.buffered === 3 && g.started.length === 1, 'one job running and three prefetched');
    const [first, ...rest] = ids;
    expect(g.started).toEqual([first]);
    for (const id of rest) expect(await statusOf(id)).toMatchObject({ status: 'running', lockedBy: w.id, attempts: 1 });

    const stopping = w.stop({ timeoutMs: 60_000 });
    // While the running handler is still held up, the prefetched jobs are claimable again, their attempt not counted.
    for (const id of rest) await reached(id, 'queued');
    for (const id of rest) expect(await statusOf(id)).toMatchObject({ attempts: 0, lockedBy: null });
    expect(await statusOf(first!)).toMatchObject({ status: 'running' });
    g.open();
    expect(await stopping).toEqual({ released: 3 });
    expect(await statusOf(first!)).toMatchObject({ status: 'succeeded', result: 'done' });
    expect(g.started).toEqual([first]); // never started the prefetched ones
  });

  it('heartbeats prefetched jobs too, so a long wait in the buffer does not lose them', async () => {
    const q = 'p-heartbeat';
    const ids = await enqueueN(q, 'gated', 3);
    const g = gate();
    const w = worker({ queues: [q], concurrency: 1, prefetch: 2, leaseMs: 300, heartbeatMs: 30, handlers: { gated: g.handler } });
    await until(() => w.buffered === 2, 'two prefetched jobs');
    const waiting = ids.slice(1);
    const firstUntil = (await statusOf(waiting[0]!)).lockedUntil!;
    await until(async () => (await statusOf(waiting[0]!)).lockedUntil! > firstUntil, 'a heartbeat of a prefetched job');
    await until(() => Date.now() > firstUntil.getTime() + 50, 'the first lease end to pass');
    expect(await reclaimExpiredJobs(db)).toBe(0);
    for (const id of waiting) expect(await statusOf(id)).toMatchObject({ status: 'running', attempts: 1, lockedBy: w.id });
    g.open();
    for (const id of ids) expect(await reached(id, 'succeeded')).toMatchObject({ attempts: 1 });
  });

  it('drops a prefetched job whose lease was lost instead of running it under the lost attempt', async () => {
    const q = 'p-lost';
    const [blocker, victim] = await enqueueN(q, 'gated', 2);
    const g = gate();
    const seen: Array<[string, number]> = [];
    const w = worker({
      queues: [q], concurrency: 1, prefetch: 1, leaseMs: 60_000, heartbeatMs: 20,
      handlers: {
        gated: async (job) => {
          seen.push([job.id, job.attempts]);
          return g.handler(job);
        },
      },
    });
    await until(() => w.buffered === 1, 'the second job prefetched');
    expect(await expireAndReclaim(victim!)).toBe(1);
    // The heartbeat drops it, and the worker may claim it again as attempt 2 (also while the first is still buffered).
    await until(async () => (await statusOf(victim!)).attempts === 2, 'the job to be claimed again');
    g.open();
    // It runs, but as a new claim (attempt 2), never as the attempt whose lease was lost.
    expect(await reached(victim!, 'succeeded')).toMatchObject({ attempts: 2 });
    expect(await reached(blocker!, 'succeeded')).toMatchObject({ attempts: 1 });
    expect(seen.filter(([id]) => id === victim)).toEqual([[victim, 2]]);
  });

  it('drains a backlog many times its claim size, each job once', async () => {
    const q = 'p-drain';
    const ids = await enqueueN(q, 'count', 60);
    const runs = new Map<string, number>();
    worker({
      queues: [q], concurrency: 3, prefetch: 4, pollIntervalMs: 60_000, // only re-claiming on room can drain it
      handlers: { count: (job) => void runs.set(job.id, (runs.get(job.id) ?? 0) + 1) },
    });
    for (const id of ids) await reached(id, 'succeeded');
    expect(runs.size).toBe(60);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('Worker abort signal', () => {
  it('a handler that first reads ctx.signal after its job was given back finds it aborted', async () => {
    const q = 's-late-signal';
    const [id] = await enqueueN(q, 'late', 1);
    const g = gate();
    let late: AbortSignal | null = null;
    const w = worker({
      queues: [q],
      handlers: {
        late: async (job, ctx) => {
          await g.handler(job);
          late = ctx.signal;
        },
      },
    });
    await until(() => g.started.length === 1, 'the handler to start');
    expect(await w.stop({ timeoutMs: 10 })).toEqual({ released: 1 });
    g.open();
    const signal = await until(() => late, 'the handler to read its signal');
    expect(signal.aborted).toBe(true);
    expect(String(signal.reason)).toMatch(/stopped and gave the job back/);
    expect(await statusOf(id!)).toMatchObject({ status: 'queued', attempts: 0 });
  });
});

describe('Worker batched outcomes', () => {
  it('records results and failures of many jobs, with any JSON the handlers return', async () => {
    const q = 'o-mixed';
    const ids = await enqueueN(q, 'mixed', 30, 1);
    const tricky = { s: 'quote " backslash \\ brace } comma , unicode é 😀 null-ish "NULL"', n: [1.5, -2], nested: { a: [null, true] } };
    worker({
      queues: [q], concurrency: 5, outcomeDelayMs: 20,
      handlers: {
        mixed: (job) => {
          const i = (job.payload as { i: number }).i;
          if (i % 3 === 0) throw new Error(`no ${i}`);
          return i % 3 === 1 ? { i, ...tricky } : null;
        },
      },
    });
    for (const [i, id] of ids.entries()) {
      if (i % 3 === 0) expect(await reached(id, 'dead')).toMatchObject({ lastError: `Error: no ${i}`, attempts: 1 });
      else expect((await reached(id, 'succeeded')).result).toEqual(i % 3 === 1 ? { i, ...tricky } : null);
    }
  });

  it('one result PostgreSQL cannot store fails that job alone; the rest of its batch is recorded', async () => {
    const q = 'o-poison';
    const ids = await enqueueN(q, 'maybe', 6, 1);
    worker({
      queues: [q], concurrency: 6, outcomeDelayMs: 50, // one batch
      handlers: { maybe: (job) => ((job.payload as { i: number }).i === 2 ? { bad: 'nul \u0000 here' } : 'fine') },
    });
    for (const [i, id] of ids.entries()) {
      if (i === 2) {
        const j = await reached(id, 'dead');
        expect(j.lastError).toMatch(/^the handler's result could not be recorded: .*/);
        expect(j.result).toBeNull();
      } else {
        expect(await reached(id, 'succeeded')).toMatchObject({ result: 'fine' });
      }
    }
  });

  it('stop() records every pending outcome before it resolves', async () => {
    const q = 'o-stop';
    const ids = await enqueueN(q, 'quick', 5);
    const w = worker({ queues: [q], concurrency: 5, outcomeDelayMs: 60_000, outcomeBatchSize: 1000, handlers: { quick: () => 'ok' } });
    // With an outcome delay this long, nothing is written until stop() flushes.
    await until(() => w.active === 0 && w.buffered === 0 && (async () => {
      const r = await db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM background_jobs WHERE queue = $1 AND attempts = 1`, [q]);
      return r.rows[0]!.n === 5;
    })(), 'all five to have run');
    expect(await w.stop()).toEqual({ released: 0 });
    for (const id of ids) expect(await statusOf(id)).toMatchObject({ status: 'succeeded', result: 'ok' });
  });
});
