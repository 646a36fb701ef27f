import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from '../db/index.js';
import * as lease from './lease-repo.js';
import type { ClaimedJob } from './lease-repo.js';

export interface JobContext {
  /** Aborted when the lease is lost or the worker gives the job back at shutdown: stop, the outcome will not be recorded. */
  signal: AbortSignal;
  workerId: string;
}

/** Returns the job's result (any JSON value, undefined for none); throwing fails the attempt. */
export type JobHandler = (job: ClaimedJob, ctx: JobContext) => unknown;

/** Thrown by a handler for a failure no retry can fix: the job is dead-lettered at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

export interface WorkerOptions {
  db: Database;
  /** by task name */
  handlers: Record<string, JobHandler>;
  /** the queues to serve; default every queue */
  queues?: string[];
  /** jobs run at once; default 5 */
  concurrency?: number;
  /** how long to wait after an empty or partial batch; default 1 s */
  pollIntervalMs?: number;
  /** how long a claim holds a job without a heartbeat; default 30 s */
  leaseMs?: number;
  /** how often running jobs' leases are extended; default a third of the lease */
  heartbeatMs?: number;
  /** the delay before retry number `attempt` + 1; default exponentialBackoff */
  retryDelayMs?: (attempt: number) => number;
  workerId?: string;
  /** database errors of the worker itself (job failures are recorded on the job) */
  onError?: (err: unknown, info: { operation: string; jobId?: string }) => void;
}

/**
 * Exponential back-off with equal jitter: attempt n waits between half and all
 * of base·2^(n-1), capped; the jitter spreads a burst of failures apart.
 */
export function exponentialBackoff(attempt: number, opts: { baseMs?: number; maxMs?: number; random?: () => number } = {}): number {
  const { baseMs = 1000, maxMs = 3_600_000, random = Math.random } = opts;
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** What a failed attempt records: PostgreSQL text cannot hold NUL, and the column holds 4000 characters. */
export function errorText(err: unknown): string {
  const s = err instanceof Error ? `${err.name}: ${err.message}` : `thrown: ${typeof err === 'string' ? err : JSON.stringify(err) ?? String(err)}`;
  return s.replaceAll('\u0000', '').slice(0, 4000);
}

interface Running {
  job: ClaimedJob;
  controller: AbortController;
  /** the lease is no longer this attempt's (lost or released): its outcome is not recorded */
  gone: boolean;
  done: Promise<void>;
}

/**
 * Runs jobs of every organization. Delivery is at least once: a worker that
 * dies mid-job leaves a lease that expires, and the job runs again elsewhere.
 */
export class Worker {
  readonly id: string;
  private readonly db: Database;
  private readonly handlers: Record<string, JobHandler>;
  private readonly queues: string[] | null;
  private readonly concurrency: number;
  private readonly pollIntervalMs: number;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly onError: NonNullable<WorkerOptions['onError']>;

  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private readonly running = new Map<string, Running>();
  private lastBatchFull = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeating = false;
  private stopped: Promise<{ released: number }> | null = null;

  constructor(opts: WorkerOptions) {
    this.db = opts.db;
    this.handlers = opts.handlers;
    this.queues = opts.queues?.length ? [...opts.queues] : null;
    this.concurrency = opts.concurrency ?? 5;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.max(5, Math.floor(this.leaseMs / 3));
    this.retryDelayMs = opts.retryDelayMs ?? ((n) => exponentialBackoff(n));
    this.onError = opts.onError ?? (() => {});
    this.id = (opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`).slice(0, 200);
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1 || this.concurrency > 1000) throw new RangeError('concurrency must be 1..1000');
    if (!(this.leaseMs >= 10 && this.leaseMs <= 86_400_000)) throw new RangeError('leaseMs must be 10 ms..1 day');
    if (!(this.heartbeatMs > 0 && this.heartbeatMs < this.leaseMs)) throw new RangeError('heartbeatMs must be shorter than leaseMs');
    if (!(this.pollIntervalMs > 0)) throw new RangeError('pollIntervalMs must be positive');
  }

  /** Jobs running now. */
  get active(): number {
    return this.running.size;
  }

  start(): void {
    if (this.state !== 'new') throw new Error(`worker ${this.id} was already started`);
    this.state = 'running';
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.loopDone = this.loop();
  }

  /**
   * Stops claiming, waits up to timeoutMs for running handlers, then gives back
   * (makes claimable again) the jobs still running and aborts their signals.
   */
  stop(opts: { timeoutMs?: number } = {}): Promise<{ released: number }> {
    if (this.state === 'new') this.state = 'stopped';
    this.stopped ??= this.shutdown(opts.timeoutMs ?? 30_000);
    return this.stopped;
  }

  private async shutdown(timeoutMs: number): Promise<{ released: number }> {
    this.state = 'stopping';
    this.wake();
    await this.loopDone;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()].map((r) => r.done)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    let released = 0;
    const left = [...this.running.values()].filter((r) => !r.gone);
    if (left.length) {
      for (const r of left) r.gone = true;
      try {
        released = (await lease.releaseJobs(this.db, this.id, left.map((r) => r.job))).length;
      } catch (err) {
        // Not fatal: the leases expire and the jobs are reclaimed.
        this.onError(err, { operation: 'release' });
      }
      for (const r of left) r.controller.abort(new Error(`worker ${this.id} stopped and gave the job back`));
    }
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.state = 'stopped';
    return { released };
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      const free = this.concurrency - this.running.size;
      if (free > 0) {
        try {
          const jobs = await lease.claimJobs(this.db, this.id, this.queues, free, this.leaseMs);
          this.lastBatchFull = jobs.length === free;
          if (this.state !== 'running') {
            // Claimed while stop() began: hand them straight back rather than start them.
            await lease.releaseJobs(this.db, this.id, jobs).catch((err: unknown) => this.onError(err, { operation: 'release' }));
            break;
          }
          for (const job of jobs) this.launch(job);
        } catch (err) {
          this.lastBatchFull = false;
          this.onError(err, { operation: 'claim' });
        }
      }
      // A full batch suggests more work: poll again as soon as a slot frees, not after the interval.
      if (this.state === 'running' && !(this.lastBatchFull && this.running.size < this.concurrency)) {
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

  private launch(job: ClaimedJob): void {
    const entry: Running = { job, controller: new AbortController(), gone: false, done: Promise.resolve() };
    this.running.set(job.id, entry);
    entry.done = this.execute(entry).finally(() => {
      if (this.running.get(job.id) === entry) this.running.delete(job.id);
      if (this.lastBatchFull) this.wake();
    });
  }

  private async execute(entry: Running): Promise<void> {
    const { job } = entry;
    let outcome: { ok: true; json: string } | { ok: false; error: unknown };
    try {
      const handler = Object.hasOwn(this.handlers, job.task) ? this.handlers[job.task] : undefined;
      if (!handler) {
        // Retried like any failure: during a rolling deploy another worker may know the task.
        throw new Error(`no handler for task "${job.task}" on worker ${this.id}; it handles: ${Object.keys(this.handlers).join(', ') || 'nothing'}`);
      }
      const result = await handler(job, { signal: entry.controller.signal, workerId: this.id });
      const json = JSON.stringify(result ?? null);
      if (json === undefined) throw new TypeError('the handler returned a value that is not JSON');
      outcome = { ok: true, json };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (entry.gone) return;
    try {
      if (outcome.ok) {
        await lease.completeJob(this.db, this.id, job, outcome.json);
      } else {
        const retry = !(outcome.error instanceof PermanentJobError);
        await lease.failJob(this.db, this.id, job, errorText(outcome.error), retry, this.retryDelayMs(job.attempts));
      }
    } catch (err) {
      // The lease expires and the job runs again: at least once, never lost.
      this.onError(err, { operation: outcome.ok ? 'complete' : 'fail', jobId: job.id });
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeating || this.state === 'stopped') return;
    const held = [...this.running.values()].filter((r) => !r.gone);
    if (!held.length) return;
    this.heartbeating = true;
    try {
      const kept = await lease.heartbeatJobs(this.db, this.id, held.map((r) => r.job), this.leaseMs);
      for (const r of held) {
        // A job that finished meanwhile is simply absent; one still running lost its lease.
        if (!kept.has(r.job.id) && this.running.get(r.job.id) === r && !r.gone) {
          r.gone = true;
          r.controller.abort(new Error(`the lease on job ${r.job.id} was lost (it expired and was reclaimed)`));
        }
      }
    } catch (err) {
      this.onError(err, { operation: 'heartbeat' });
    } finally {
      this.heartbeating = false;
    }
  }
}
