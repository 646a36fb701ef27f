import type { Database } from '../../db/index.js';
import * as repo from './metrics-repo.js';
import type { ApiRequestRecord, ErrorRecord, PerformanceRecord, PoolStatsRecord, SystemMetricRecord } from './rows.js';

export interface RecorderOptions {
  db: Database;
  /** how often the buffer is written */
  flushIntervalMs: number;
  /** a write starts as soon as this many rows are buffered */
  batchSize?: number;
  /** rows beyond this many are dropped (and counted) until a write makes room: the database is slow */
  maxBuffered?: number;
  onError?: (err: unknown, info: { table: string; rows: number }) => void;
}

export interface RecorderStats {
  /** rows waiting for the next write */
  buffered: number;
  written: number;
  /** rows refused because the buffer was full */
  dropped: number;
  /** rows lost because their write failed */
  failed: number;
}

interface Buffers {
  requests: ApiRequestRecord[];
  performance: PerformanceRecord[];
  errors: ErrorRecord[];
  pool: PoolStatsRecord[];
  system: SystemMetricRecord[];
}

const empty = (): Buffers => ({ requests: [], performance: [], errors: [], pool: [], system: [] });

/**
 * An in-memory buffer of measurements written in batches, off the request
 * path: adding a row is a push onto an array. A timer (unref'd, so it never
 * keeps the process alive) and a full batch start a write; one write is in
 * flight at a time, and each table gets one multi-row INSERT per write. When
 * the database is slower than the rows arrive the buffer stops at maxBuffered
 * and further rows are dropped and counted: a request is never made to wait
 * for, or fail because of, its own measurement.
 */
export class MetricsRecorder {
  private buf: Buffers = empty();
  private size = 0;
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private kickScheduled = false;
  private readonly batchSize: number;
  private readonly maxBuffered: number;
  private readonly counts = { written: 0, dropped: 0, failed: 0 };

  constructor(private readonly o: RecorderOptions) {
    this.batchSize = o.batchSize ?? 500;
    this.maxBuffered = o.maxBuffered ?? 10_000;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.size) this.kick();
    }, this.o.flushIntervalMs);
    this.timer.unref();
  }

  stats(): RecorderStats {
    return { buffered: this.size, ...this.counts };
  }

  request(r: ApiRequestRecord): boolean {
    return this.add(this.buf.requests, r);
  }

  performance(r: PerformanceRecord): boolean {
    return this.add(this.buf.performance, r);
  }

  error(r: ErrorRecord): boolean {
    return this.add(this.buf.errors, r);
  }

  poolStats(r: PoolStatsRecord): boolean {
    return this.add(this.buf.pool, r);
  }

  system(r: SystemMetricRecord): boolean {
    return this.add(this.buf.system, r);
  }

  /** Writes everything buffered now (after a write in flight); resolves when it is written or given up. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (!this.size) return;
    this.kick();
    while (this.writing) await this.writing;
  }

  /** Stops the timer and writes what is left, waiting at most timeoutMs (a dead database must not hold up a shutdown). */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    let t: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      t = setTimeout(resolve, timeoutMs);
      t.unref();
    });
    try {
      await Promise.race([this.flush(), late]);
    } finally {
      clearTimeout(t);
    }
  }

  private add<T>(list: T[], row: T): boolean {
    if (this.size >= this.maxBuffered) {
      this.counts.dropped++;
      return false;
    }
    list.push(row);
    this.size++;
    // The write starts on a later turn of the event loop, never inside the hook that added the row.
    if (this.size >= this.batchSize && !this.writing && !this.kickScheduled) {
      this.kickScheduled = true;
      setImmediate(() => {
        this.kickScheduled = false;
        this.kick();
      });
    }
    return true;
  }

  private kick(): void {
    if (this.writing || !this.size) return;
    this.writing = this.drain().finally(() => {
      this.writing = null;
      if (this.size >= this.batchSize) this.kick();
    });
  }

  private async drain(): Promise<void> {
    const b = this.buf;
    this.buf = empty();
    this.size = 0;
    // Separate statements: a table that cannot be written (a missing partition) does not cost the others their rows.
    await this.write('api_requests', b.requests, () => repo.insertApiRequests(this.o.db, b.requests));
    await this.write('performance_metrics', [...b.requests, ...b.performance], () =>
      repo.insertPerformanceMetrics(this.o.db, b.requests, b.performance));
    await this.write('error_logs', b.errors, () => repo.insertErrorLogs(this.o.db, b.errors));
    await this.write('connection_pool_stats', b.pool, () => repo.insertPoolStats(this.o.db, b.pool));
    await this.write('system_metrics', b.system, () => repo.insertSystemMetrics(this.o.db, b.system));
  }

  private async write(table: string, rows: readonly unknown[], insert: () => Promise<number>): Promise<void> {
    if (!rows.length) return;
    try {
      this.counts.written += await insert();
    } catch (err) {
      this.counts.failed += rows.length;
      // Values are bounded and checked before they are buffered, so this is the database (down, slow, a missing partition).
      this.o.onError?.(err, { table, rows: rows.length });
    }
  }
}
