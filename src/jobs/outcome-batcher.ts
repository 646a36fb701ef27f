import { pgErrorCode, type Database } from '../db/index.js';
import * as leaseRepo from './lease-repo.js';
import type { Lease, Outcome } from './lease-repo.js';
import { errorText } from './retry-policy.js';

/**
 * SQLSTATE class 22 (data exception): a value the statement could not take,
 * such as a result jsonb refuses (22P05, \u0000). Only these are the batch's
 * own fault; anything else would fail any batch.
 */
const isDataError = (err: unknown): boolean => pgErrorCode(err)?.startsWith('22') ?? false;

export type RecordedStatus = 'succeeded' | 'failed' | 'dead';

export interface OutcomeBatcherOptions {
  db: Database;
  workerId: string;
  /** outcomes written in one statement at most */
  maxBatch: number;
  /** how long the first outcome after a quiet spell waits for company */
  delayMs: number;
  /** the retry delay of a completion that could not be stored and is recorded as a failure instead */
  retryDelayMs: (attempt: number) => number;
  onError: (err: unknown, info: { operation: string; jobId?: string }) => void;
  /** Every outcome ends here once: its new status, or null when nothing was recorded (lease lost, or the write failed). */
  onSettled: (lease: Lease, status: RecordedStatus | null) => void;
}

/**
 * Group commit for a worker's outcomes: finished attempts queue here and are
 * written many per statement (recordOutcomes). One write is in flight at a
 * time; what finishes meanwhile is written right after it, so under load a
 * batch is whatever arrived during the previous write, and when idle an
 * outcome waits only delayMs.
 *
 * Until its write commits an outcome is not durable: if the process dies
 * first, the lease expires and the job runs again (delivery is at least once).
 */
export class OutcomeBatcher {
  private queued: Outcome[] = [];
  private inFlight = 0;
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;

  constructor(private readonly o: OutcomeBatcherOptions) {}

  /** Outcomes not settled yet: queued or being written. */
  get size(): number {
    return this.queued.length + this.inFlight;
  }

  add(outcome: Outcome): void {
    this.queued.push(outcome);
    if (this.writing) return; // picked up when the write in flight ends
    if (this.queued.length >= this.o.maxBatch) this.start();
    else if (!this.timer) {
      this.timer = this.o.delayMs > 0 ? setTimeout(() => this.start(), this.o.delayMs) : setImmediate(() => this.start());
    }
  }

  /**
   * Withdraws the queued outcome of this lease (same object as added), because
   * the lease was lost. False when it is being written already: then the write
   * decides, and its fencing refuses a lease that is no longer held.
   */
  drop(lease: Lease): boolean {
    const i = this.queued.findIndex((x) => x.lease === lease);
    if (i < 0) return false;
    this.queued.splice(i, 1);
    return true;
  }

  /**
   * Writes everything queued now and resolves when every outcome is settled,
   * or, given a timeout, after that long at the latest: then the outcomes not
   * written yet are given up (settled as not recorded; their leases expire and
   * the jobs run again) and a write in flight is left to finish on its own.
   * True when everything was settled in time.
   */
  async flush(timeoutMs?: number): Promise<boolean> {
    this.start();
    if (timeoutMs === undefined) {
      while (this.writing) await this.writing;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, timeoutMs));
    });
    try {
      while (this.writing) {
        if ((await Promise.race([this.writing.then(() => 'written' as const), timedOut])) === 'timeout') {
          this.giveUp();
          return false;
        }
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Settles every queued outcome as not recorded (the write in flight, if any, still settles its own). */
  private giveUp(): void {
    const left = this.queued.splice(0);
    if (!left.length) return;
    this.o.onError(new Error(`${left.length} outcomes were not recorded before the worker stopped; their jobs will run again`), { operation: 'flush' });
    for (const x of left) this.o.onSettled(x.lease, null);
  }

  private start(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
    if (this.writing || !this.queued.length) return;
    this.writing = this.drain().finally(() => {
      this.writing = null;
      // Added between the drain's last look and now: they waited long enough.
      if (this.queued.length) this.start();
    });
  }

  private async drain(): Promise<void> {
    while (this.queued.length) {
      const batch = this.queued.splice(0, this.o.maxBatch);
      this.inFlight = batch.length;
      try {
        await this.write(batch);
      } finally {
        this.inFlight = 0; // each was settled (counted out) already; this only guards against a throwing onSettled
      }
    }
  }

  private async write(batch: Outcome[]): Promise<void> {
    let statuses: Map<string, RecordedStatus>;
    try {
      statuses = await leaseRepo.recordOutcomes(this.o.db, this.o.workerId, batch);
    } catch (err) {
      if (!isDataError(err)) {
        // The database, the connection or a lock, not the data: nothing was recorded, and the
        // leases expire and the jobs run again (at least once). Turning these into failures would
        // spend attempts, and dead-letter jobs that did nothing wrong, whenever the database blips.
        this.o.onError(err, { operation: 'record' });
        for (const x of batch) this.settle(x.lease, null);
        return;
      }
      if (batch.length === 1) return this.writeAlone(batch[0]!, err);
      // A bad element (a result jsonb refuses) fails the whole statement: halves until it is alone.
      const half = Math.ceil(batch.length / 2);
      await this.write(batch.slice(0, half));
      await this.write(batch.slice(half));
      return;
    }
    for (const x of batch) this.settle(x.lease, statuses.get(x.lease.id) ?? null);
  }

  /** Counted out of `size` before onSettled runs, so what it wakes sees the room this outcome made. */
  private settle(lease: Lease, status: RecordedStatus | null): void {
    this.inFlight--;
    this.o.onSettled(lease, status);
  }

  /** An outcome whose data could not be written (a data error on its own). */
  private async writeAlone(x: Outcome, err: unknown): Promise<void> {
    if (x.ok) {
      // The result could not be stored (jsonb refuses \u0000, for one): record the attempt as failed instead of
      // leaving the lease to expire, so the job is retried and finally dead-lettered with a reason.
      const failed: Outcome = {
        lease: x.lease, ok: false, retry: true, retryDelayMs: this.o.retryDelayMs(x.lease.attempts),
        error: `the handler's result could not be recorded: ${errorText(err)}`.slice(0, 4000),
      };
      try {
        const statuses = await leaseRepo.recordOutcomes(this.o.db, this.o.workerId, [failed]);
        this.settle(x.lease, statuses.get(x.lease.id) ?? null);
        return;
      } catch (again) {
        err = again;
      }
    }
    // The lease expires and the job runs again: at least once, never lost.
    this.o.onError(err, { operation: x.ok ? 'complete' : 'fail', jobId: x.lease.id });
    this.settle(x.lease, null);
  }
}
