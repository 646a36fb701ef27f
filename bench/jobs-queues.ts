import { Logger, makeWorkerUtils, run, runMigrations, type Runner } from 'graphile-worker';
import PgBoss from 'pg-boss';
import { createDatabase, createPgDriver, type Database } from '../src/db/index.js';
import { enqueueIn, enqueueManyIn, Worker } from '../src/jobs/index.js';

/**
 * The three queues of the job benchmark behind one shape, so every phase runs
 * the same code against each. Handlers are no-ops that only report the job's
 * `i` (its index in the run) and when they started.
 */
export interface QueueUnderTest {
  readonly name: string;
  /** the exact settings, for the report */
  readonly settings: string;
  /** Enqueues jobs first..first+count-1 in batches of `batch`, each batch one statement or transaction. */
  enqueueBulk(first: number, count: number, batch: number): Promise<void>;
  /** One job, committed when the promise resolves. */
  enqueueOne(i: number): Promise<void>;
  /** Starts the workers; onJob runs at the start of every handler. */
  start(onJob: (i: number) => void): Promise<void>;
  /** Jobs not yet recorded as completed in the database. */
  pending(): Promise<number>;
  stop(): Promise<void>;
}

export interface QueueOptions {
  url: string;
  /** jobs run at once, and the size of each queue's connection pool */
  concurrency: number;
}

const TASK = 'bench.noop';

/**
 * Ours: enqueueManyIn (one statement) per batch; the Worker claims through jobs_claim up to concurrency + prefetch
 * jobs at a time and records outcomes in batches (jobs_complete_many). prefetch undefined: the Worker's default.
 */
export function ourQueue(o: QueueOptions & {
  admin: Database; orgId: string; pollIntervalMs: number; prefetch?: number; outcomeDelayMs?: number; label?: string;
}): QueueUnderTest {
  // Its own pool, as large as the others' (the claim loop plus up to `concurrency` completions).
  const db = createDatabase(createPgDriver({ connectionString: o.url, max: o.concurrency + 1 }));
  let worker: Worker | null = null;
  const errors: unknown[] = [];
  return {
    name: o.label ?? 'agentbase (ours)',
    settings: `Worker concurrency ${o.concurrency}, prefetch ${o.prefetch ?? 'default (100)'}, `
      + `outcomeDelayMs ${o.outcomeDelayMs ?? 'default (2)'}, pollIntervalMs ${o.pollIntervalMs} (polling only, no LISTEN), default lease 30 s; `
      + `pool of ${o.concurrency + 1} connections; enqueue: enqueueManyIn, one statement per batch`,
    async enqueueBulk(first, count, batch) {
      for (let s = first; s < first + count; s += batch) {
        const end = Math.min(first + count, s + batch);
        await db.tenant(o.orgId, (sql) => enqueueManyIn(sql, Array.from({ length: end - s }, (_, k) => ({ task: TASK, payload: { i: s + k } }))));
      }
    },
    async enqueueOne(i) {
      await db.tenant(o.orgId, (sql) => enqueueIn(sql, { task: TASK, payload: { i } }));
    },
    async start(onJob) {
      worker = new Worker({
        db, concurrency: o.concurrency, pollIntervalMs: o.pollIntervalMs,
        ...(o.prefetch === undefined ? {} : { prefetch: o.prefetch }),
        ...(o.outcomeDelayMs === undefined ? {} : { outcomeDelayMs: o.outcomeDelayMs }),
        handlers: { [TASK]: (job) => onJob((job.payload as { i: number }).i) },
        onError: (err) => errors.push(err),
      });
      worker.start();
    },
    async pending() {
      if (errors.length) throw new Error(`worker error: ${String(errors[0])}`);
      const r = await o.admin.admin.query<{ n: string }>(`SELECT count(*) AS n FROM background_jobs WHERE status <> 'succeeded'`);
      return Number(r.rows[0]!.n);
    },
    async stop() {
      try {
        await worker?.stop({ timeoutMs: 5000 });
      } finally {
        await db.close();
      }
    },
  };
}

/**
 * graphile-worker 0.17 in batched mode: the pool fetches and locks localQueueSize jobs at a
 * time and hands them to its workers locally; completions are batched (completeJobBatchDelay).
 * It LISTENs for new jobs, and polls every pollInterval (2 s default) as a fallback.
 */
export function graphileQueue(o: QueueOptions & { localQueueSize: number; completeBatchDelayMs: number }): QueueUnderTest {
  let runner: Runner | null = null;
  let utils: Awaited<ReturnType<typeof makeWorkerUtils>> | null = null;
  const logger = new Logger(() => () => {});
  const errors: string[] = [];
  const shared = { connectionString: o.url, logger };
  const getUtils = async () => (utils ??= await makeWorkerUtils({ ...shared, maxPoolSize: 1 }));
  return {
    name: 'graphile-worker 0.17 (batched)',
    settings: `run() with concurrency ${o.concurrency}, maxPoolSize ${o.concurrency}, preset.worker: localQueue { size: ${o.localQueueSize} }, `
      + `completeJobBatchDelay ${o.completeBatchDelayMs}, failJobBatchDelay ${o.completeBatchDelayMs}, pollInterval 2000 (default; LISTEN/NOTIFY wakes it); `
      + 'enqueue: WorkerUtils.addJobs (one add_jobs call per batch)',
    async enqueueBulk(first, count, batch) {
      const u = await getUtils();
      for (let s = first; s < first + count; s += batch) {
        const end = Math.min(first + count, s + batch);
        const specs = [];
        for (let i = s; i < end; i++) specs.push({ identifier: TASK, payload: { i } });
        await u.addJobs(specs);
      }
    },
    async enqueueOne(i) {
      await (await getUtils()).addJob(TASK, { i });
    },
    async start(onJob) {
      await runMigrations(shared); // before the clock starts, as for the other two
      runner = await run({
        ...shared, maxPoolSize: o.concurrency, concurrency: o.concurrency, noHandleSignals: true,
        taskList: { [TASK]: (payload) => onJob((payload as { i: number }).i) },
        preset: {
          worker: {
            localQueue: { size: o.localQueueSize },
            completeJobBatchDelay: o.completeBatchDelayMs,
            failJobBatchDelay: o.completeBatchDelayMs,
          },
        },
      });
      runner.events.on('job:error', ({ error }) => errors.push(String(error)));
    },
    async pending() {
      if (errors.length) throw new Error(`graphile-worker job error: ${errors[0]}`);
      // Completed jobs are deleted; what remains is queued, locked, or failed.
      const u = await getUtils();
      return u.withPgClient(async (c) => Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker._private_jobs')).rows[0]!.n));
    },
    async stop() {
      try {
        await runner?.stop();
      } finally {
        await utils?.release();
      }
    },
  };
}

/**
 * pg-boss 10: polling only (at least every 0.5 s); a worker fetches batchSize jobs, runs the
 * batch, completes them in one statement, and waits out the rest of its polling interval.
 * Concurrency is `concurrency` work() loops on one queue.
 */
export function pgBossQueue(o: QueueOptions & { batchSize: number; pollingIntervalSeconds: number }): QueueUnderTest {
  const queue = 'bench-noop';
  // Maintenance and cron off: nothing but the bench's own work touches the database during a run.
  const boss = new PgBoss({ connectionString: o.url, max: o.concurrency, schedule: false, supervise: false });
  const errors: unknown[] = [];
  boss.on('error', (err) => errors.push(err));
  let started = false;
  const ensure = async () => {
    if (started) return;
    await boss.start();
    await boss.createQueue(queue);
    started = true;
  };
  return {
    name: 'pg-boss 10',
    settings: `${o.concurrency} work() loops, each batchSize ${o.batchSize}, pollingIntervalSeconds ${o.pollingIntervalSeconds} (the minimum; no LISTEN); `
      + `max ${o.concurrency} connections; supervise and schedule off; queue policy standard; enqueue: insert() per batch`,
    async enqueueBulk(first, count, batch) {
      await ensure();
      for (let s = first; s < first + count; s += batch) {
        const end = Math.min(first + count, s + batch);
        const jobs: PgBoss.JobInsert[] = [];
        for (let i = s; i < end; i++) jobs.push({ name: queue, data: { i } });
        await boss.insert(jobs);
      }
    },
    async enqueueOne(i) {
      await ensure();
      await boss.send(queue, { i });
    },
    async start(onJob) {
      await ensure();
      for (let k = 0; k < o.concurrency; k++) {
        await boss.work<{ i: number }>(queue, { batchSize: o.batchSize, pollingIntervalSeconds: o.pollingIntervalSeconds }, async (jobs) => {
          for (const j of jobs) onJob(j.data.i);
        });
      }
    },
    async pending() {
      if (errors.length) throw new Error(`pg-boss error: ${String(errors[0])}`);
      const r = await boss.getDb().executeSql(`SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state <> 'completed'`, [queue]);
      return Number((r.rows[0] as { n: string }).n);
    },
    async stop() {
      if (started) await boss.stop({ graceful: true, wait: true, timeout: 5000 });
    },
  };
}
