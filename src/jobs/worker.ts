import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from '../db/index.js';
import * as lease from './lease-repo.js';
import type { ClaimedJob, Outcome } from './lease-repo.js';
import { OutcomeBatcher } from './outcome-batcher.js';
import { PermanentJobError, errorText, exponentialBackoff } from './retry-policy.js';
import { runDueSchedules } from './scheduler.js';

export interface JobContext {
  /** Aborted when the lease is lost or the worker gives the job back at shutdown: stop, the outcome will not be recorded. */
  signal: AbortSignal;
  workerId: string;
}

/** Returns the job's result (any JSON value, undefined for none); throwing fails the attempt. */
export type JobHandler = (job: ClaimedJob, ctx: JobContext) => unknown;

export interface WorkerOptions {
  db: Database;
  /** by task name */
  handlers: Record<string, JobHandler>;
  /** the queues to serve; default every queue */
  queues?: string[];
  /** jobs run at once; default 5 */
  concurrency?: number;
  /**
   * Jobs claimed ahead of free slots and held, leased, in a local buffer, so a
   * slot that frees starts the next job at once and one claim serves many
   * jobs; default 100. A prefetched job waits for this worker even when
   * another is idle: for long jobs (seconds or more each) use 0, or about
   * `concurrency`.
   */
  prefetch?: number;
  /** how long to wait after an empty or partial claim; default 1 s */
  pollIntervalMs?: number;
  /** how long a claim holds a job without a heartbeat; default 30 s */
  leaseMs?: number;
  /** how often held leases (running, prefetched, or waiting to be recorded) are extended; default a third of the lease */
  heartbeatMs?: number;
  /** outcomes recorded in one statement at most; default 500 */
  outcomeBatchSize?: number;
  /** how long the first outcome after a quiet spell waits for others to record with; default 2 ms */
  outcomeDelayMs?: number;
  /** the delay before retry number `attempt` + 1; default exponentialBackoff */
  retryDelayMs?: (attempt: number) => number;
  /** run the cron scheduler step (runDueSchedules) this often; default off. Safe on any number of workers at once */
  schedulerIntervalMs?: number;
  workerId?: string;
  /** database errors of the worker itself (job failures are recorded on the job) */
  onError?: (err: unknown, info: { operation: string; jobId?: string; scheduleId?: string }) => void;
}

/** A lease this worker holds: prefetched, running, or finished with its outcome not yet recorded. */
interface Held {
  job: ClaimedJob;
  phase: 'buffered' | 'running' | 'recording';
  /** made when the handler first reads ctx.signal: most never do, and a controller per job is a measurable cost */
  controller: AbortController | null;
  /** why the handler should stop, once it should */
  abortReason: Error | null;
  /** the lease is no longer this attempt's (lost or released): its outcome is not recorded */
  gone: boolean;
}

function abort(h: Held, reason: Error): void {
  h.abortReason ??= reason;
  h.controller?.abort(reason);
}

/**
 * Runs jobs of every organization. Delivery is at least once: a worker that
 * dies mid-job leaves a lease that expires, and the job runs again elsewhere.
 *
 * Throughput comes from doing little per job: a claim takes up to
 * concurrency + prefetch jobs, and outcomes are recorded in batches
 * (OutcomeBatcher). A handler's outcome is therefore durable only at the next
 * write after it returns, a few milliseconds later; a crash before it runs the
 * job again, which the at-least-once contract already allows. stop() writes
 * every pending outcome before it resolves, unless the database does not take
 * them within its timeout.
 */
export class Worker {
  readonly id: string;
  private readonly db: Database;
  private readonly handlers: Record<string, JobHandler>;
  private readonly queues: string[] | null;
  private readonly concurrency: number;
  private readonly prefetch: number;
  /** claim again once the buffer is down to this, so a claim is a batch and not a trickle */
  private readonly lowWater: number;
  private readonly pollIntervalMs: number;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly schedulerIntervalMs: number | null;
  private readonly onError: NonNullable<WorkerOptions['onError']>;
  private readonly outcomes: OutcomeBatcher;

  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private readonly held = new Map<string, Held>();
  private buffer: Held[] = [];
  private runningCount = 0;
  private readonly handlersDone = new Set<Promise<void>>();
  private lastBatchFull = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeating = false;
  private schedulerTimer: NodeJS.Timeout | null = null;
  private scheduling: Promise<void> | null = null;
  private stopped: Promise<{ released: number }> | null = null;

  constructor(opts: WorkerOptions) {
    this.db = opts.db;
    this.handlers = opts.handlers;
    this.queues = opts.queues?.length ? [...opts.queues] : null;
    this.concurrency = opts.concurrency ?? 5;
    this.prefetch = opts.prefetch ?? 100;
    this.lowWater = Math.floor(this.prefetch / 2);
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.max(5, Math.floor(this.leaseMs / 3));
    this.retryDelayMs = opts.retryDelayMs ?? ((n) => exponentialBackoff(n));
    this.schedulerIntervalMs = opts.schedulerIntervalMs ?? null;
    this.onError = opts.onError ?? (() => {});
    this.id = (opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`).slice(0, 200);
    const outcomeBatchSize = opts.outcomeBatchSize ?? 500;
    const outcomeDelayMs = opts.outcomeDelayMs ?? 2;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1 || this.concurrency > 1000) throw new RangeError('concurrency must be 1..1000');
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0 || this.prefetch > 1000) throw new RangeError('prefetch must be 0..1000');
    if (!(this.leaseMs >= 10 && this.leaseMs <= 86_400_000)) throw new RangeError('leaseMs must be 10 ms..1 day');
    if (!(this.heartbeatMs > 0 && this.heartbeatMs < this.leaseMs)) throw new RangeError('heartbeatMs must be shorter than leaseMs');
    if (!(this.pollIntervalMs > 0)) throw new RangeError('pollIntervalMs must be positive');
    if (!Number.isInteger(outcomeBatchSize) || outcomeBatchSize < 1 || outcomeBatchSize > 10_000) throw new RangeError('outcomeBatchSize must be 1..10000');
    if (!(outcomeDelayMs >= 0)) throw new RangeError('outcomeDelayMs must not be negative');
    if (this.schedulerIntervalMs !== null && !(this.schedulerIntervalMs > 0)) throw new RangeError('schedulerIntervalMs must be positive');
    this.outcomes = new OutcomeBatcher({
      db: this.db, workerId: this.id, maxBatch: outcomeBatchSize, delayMs: outcomeDelayMs, retryDelayMs: this.retryDelayMs,
      onError: (err, info) => this.onError(err, info),
      onSettled: (l) => {
        const h = this.held.get(l.id);
        if (h?.job === l) this.held.delete(l.id);
        this.wakeIfClaimWanted();
      },
    });
  }

  /** Jobs running now. */
  get active(): number {
    return this.runningCount;
  }

  /** Jobs claimed and waiting in this worker's buffer for a free slot. */
  get buffered(): number {
    return this.buffer.length;
  }

  start(): void {
    if (this.state !== 'new') throw new Error(`worker ${this.id} was already started`);
    this.state = 'running';
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    if (this.schedulerIntervalMs !== null) {
      this.schedulerTimer = setInterval(() => this.schedule(), this.schedulerIntervalMs);
      this.schedule();
    }
    this.loopDone = this.loop();
  }

  /**
   * Stops claiming and gives back the prefetched jobs at once; waits up to
   * timeoutMs for running handlers; records their outcomes, for up to
   * timeoutMs more (outcomes not recorded by then are given up: their leases
   * expire and the jobs run again); then gives back (makes claimable again)
   * the jobs still running and aborts their signals.
   */
  stop(opts: { timeoutMs?: number } = {}): Promise<{ released: number }> {
    if (this.state === 'new') this.state = 'stopped';
    this.stopped ??= this.shutdown(opts.timeoutMs ?? 30_000);
    return this.stopped;
  }

  private async shutdown(timeoutMs: number): Promise<{ released: number }> {
    this.state = 'stopping';
    if (this.schedulerTimer) clearInterval(this.schedulerTimer);
    this.wake();
    // Prefetched jobs go back first, so other workers can take them while this one finishes its own.
    let released = await this.release(this.takeBuffer());
    await this.loopDone;
    released += await this.release(this.takeBuffer()); // claimed while stop() began
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.handlersDone]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    // Recording is bounded too: a database that does not answer must not hold stop() forever. What is
    // not recorded by then is given up; the leases expire and those jobs run again (at least once).
    const recordBy = Date.now() + timeoutMs;
    await this.outcomes.flush(timeoutMs);
    const left = [...this.held.values()].filter((h) => h.phase === 'running' && !h.gone);
    released += await this.release(left);
    for (const h of left) abort(h, new Error(`worker ${this.id} stopped and gave the job back`));
    await this.outcomes.flush(recordBy - Date.now()); // of handlers that finished while the rest was given back
    await this.scheduling;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.state = 'stopped';
    return { released };
  }

  private takeBuffer(): Held[] {
    const taken = this.buffer;
    this.buffer = [];
    return taken;
  }

  /** Gives leases back (jobs_release); returns how many were released. */
  private async release(entries: Held[]): Promise<number> {
    if (!entries.length) return 0;
    for (const h of entries) h.gone = true;
    try {
      return (await lease.releaseJobs(this.db, this.id, entries.map((h) => h.job))).length;
    } catch (err) {
      // Not fatal: the leases expire and the jobs are reclaimed.
      this.onError(err, { operation: 'release' });
      return 0;
    } finally {
      for (const h of entries) if (this.held.get(h.job.id) === h && h.phase === 'buffered') this.held.delete(h.job.id);
    }
  }

  /** How many more jobs a claim may take now, or 0 when this is no time to claim. */
  private claimRoom(): number {
    const capacity = this.concurrency + this.prefetch;
    // Outcomes the database has not taken yet count against claiming: a slow database slows the claims down.
    if (this.buffer.length > this.lowWater || this.outcomes.size >= 2 * capacity) return 0;
    return Math.min(1000, capacity - this.runningCount - this.buffer.length);
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      const room = this.claimRoom();
      if (room > 0) {
        try {
          const jobs = await lease.claimJobs(this.db, this.id, this.queues, room, this.leaseMs);
          this.lastBatchFull = jobs.length === room;
          for (const job of jobs) {
            // Claimed again by this worker: the attempt it held before was lost, even if no heartbeat said so yet.
            const before = this.held.get(job.id);
            if (before && !before.gone) this.lost(before);
            const h: Held = { job, phase: 'buffered', controller: null, abortReason: null, gone: false };
            this.held.set(job.id, h);
            this.buffer.push(h);
          }
          // Claimed while stop() began: shutdown hands the buffer back rather than start it.
          if (this.state !== 'running') break;
          this.startBuffered();
        } catch (err) {
          this.lastBatchFull = false;
          this.onError(err, { operation: 'claim' });
        }
      }
      // A full claim suggests more work: claim again as soon as there is room, not after the interval.
      if (this.state === 'running' && !(this.lastBatchFull && this.claimRoom() > 0)) {
        await this.sleep(this.pollIntervalMs);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    }).finally(() => {
      this.wakeUp = null;
    });
  }

  private wake(): void {
    this.wakeUp?.();
  }

  private wakeIfClaimWanted(): void {
    if (this.lastBatchFull && this.claimRoom() > 0) this.wake();
  }

  private startBuffered(): void {
    while (this.state === 'running' && this.runningCount < this.concurrency && this.buffer.length) {
      this.launch(this.buffer.shift()!);
    }
  }

  private launch(h: Held): void {
    h.phase = 'running';
    this.runningCount++;
    const done = this.execute(h).finally(() => {
      this.runningCount--;
      this.handlersDone.delete(done);
      this.startBuffered();
      this.wakeIfClaimWanted();
    });
    this.handlersDone.add(done);
  }

  private async execute(h: Held): Promise<void> {
    const { job } = h;
    let outcome: Outcome;
    try {
      const handler = Object.hasOwn(this.handlers, job.task) ? this.handlers[job.task] : undefined;
      if (!handler) {
        // Retried like any failure: during a rolling deploy another worker may know the task.
        throw new Error(`no handler for task "${job.task}" on worker ${this.id}; it handles: ${Object.keys(this.handlers).join(', ') || 'nothing'}`);
      }
      const workerId = this.id;
      const result = await handler(job, {
        get signal() {
          if (!h.controller) {
            h.controller = new AbortController();
            if (h.abortReason) h.controller.abort(h.abortReason);
          }
          return h.controller.signal;
        },
        workerId,
      });
      const json = JSON.stringify(result ?? null);
      if (json === undefined) throw new TypeError('the handler returned a value that is not JSON');
      outcome = { lease: job, ok: true, resultJson: json };
    } catch (error) {
      const retry = !(error instanceof PermanentJobError);
      outcome = { lease: job, ok: false, error: errorText(error), retry, retryDelayMs: this.retryDelayMs(job.attempts) };
    }
    if (h.gone) {
      if (this.held.get(job.id) === h) this.held.delete(job.id);
      return;
    }
    h.phase = 'recording';
    this.outcomes.add(outcome);
  }

  /** The lease of h was lost (it expired and was reclaimed): whatever it was doing, its outcome must not count. */
  private lost(h: Held): void {
    if (h.phase === 'recording') {
      // Being written already: the write's fencing refuses it, and settles it.
      if (!this.outcomes.drop(h.job)) return;
      this.held.delete(h.job.id);
    } else if (h.phase === 'buffered') {
      this.buffer = this.buffer.filter((x) => x !== h);
      this.held.delete(h.job.id);
    } else {
      abort(h, new Error(`the lease on job ${h.job.id} was lost (it expired and was reclaimed)`));
    }
    h.gone = true;
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeating || this.state === 'stopped') return;
    const held = [...this.held.values()].filter((h) => !h.gone);
    if (!held.length) return;
    this.heartbeating = true;
    try {
      const kept = await lease.heartbeatJobs(this.db, this.id, held.map((h) => h.job), this.leaseMs);
      for (const h of held) {
        // One that finished and was recorded meanwhile is simply absent; one still held lost its lease.
        if (!kept.has(h.job.id) && this.held.get(h.job.id) === h && !h.gone) this.lost(h);
      }
    } catch (err) {
      this.onError(err, { operation: 'heartbeat' });
    } finally {
      this.heartbeating = false;
    }
  }

  /** One scheduler step at a time (a slow one is not stacked up); due schedules of every organization become jobs. */
  private schedule(): void {
    if (this.scheduling || this.state !== 'running') return;
    this.scheduling = (async () => {
      try {
        const r = await runDueSchedules(this.db);
        for (const f of r.failed) this.onError(f.error, { operation: 'schedule', scheduleId: f.scheduleId });
      } catch (err) {
        this.onError(err, { operation: 'schedule' });
      }
    })().finally(() => {
      this.scheduling = null;
    });
  }
}
