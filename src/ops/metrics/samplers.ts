import { hostname } from 'node:os';
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { Database } from '../../db/index.js';
import type { PoolStatsRecord, SystemMetricRecord } from './rows.js';

/** Which process a sample came from: several processes may share one database. */
export const INSTANCE = `${hostname()}:${process.pid}`.slice(0, 100);

/** The pool's state now, and its checkout waits and errors since the previous sample (db.stats() counts since start). */
export function poolSampler(db: Database, databaseName: () => Promise<string>) {
  let prev = db.stats();
  return async (): Promise<PoolStatsRecord> => {
    const name = await databaseName();
    const s = db.stats({ resetMax: true });
    const acquired = s.acquired - prev.acquired;
    const rec: PoolStatsRecord = {
      // embedded mode is one in-process connection: a pool of one, never waited for
      poolName: db.kind === 'pglite' ? 'pglite' : 'main',
      databaseName: name,
      instance: INSTANCE,
      total: s.total,
      active: Math.max(0, s.total - s.idle),
      idle: s.idle,
      waiting: s.waiting,
      avgConnectionTimeMs: acquired > 0 ? (s.acquireMs - prev.acquireMs) / acquired : null,
      maxConnectionTimeMs: acquired > 0 ? Math.round(s.acquireMaxMs) : null,
      connectionErrors: Math.max(0, s.errors - prev.errors),
      at: new Date(),
    };
    prev = s;
    return rec;
  };
}

export interface SystemSamplerOptions {
  serviceName: string;
  environment: string;
  version: string;
  /** seed 003 REQ-T134: 90 days raw */
  retentionDays: number;
  /** rows the recorder dropped so far (a counter: each sample records the increase) */
  dropped: () => number;
}

/**
 * A few real gauges of this process per sample: event-loop delay (p99 and max
 * since the previous sample, from perf_hooks' histogram), resident and heap
 * memory, CPU used over the interval as a percentage of one core, and the
 * recorder's own dropped rows.
 */
export class SystemSampler {
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private cpu = process.cpuUsage();
  private wall = performance.now();
  private droppedBefore = 0;

  constructor(private readonly o: SystemSamplerOptions) {
    this.loop.enable();
  }

  sample(): SystemMetricRecord[] {
    const at = new Date();
    const now = performance.now();
    const cpu = process.cpuUsage(this.cpu);
    const elapsedMs = Math.max(1, now - this.wall);
    this.cpu = process.cpuUsage();
    this.wall = now;
    const mem = process.memoryUsage();
    const loopP99 = this.loop.count > 0 ? this.loop.percentile(99) / 1e6 : 0;
    const loopMax = this.loop.count > 0 ? this.loop.max / 1e6 : 0;
    this.loop.reset();
    const dropped = this.o.dropped();
    const droppedNow = Math.max(0, dropped - this.droppedBefore);
    this.droppedBefore = dropped;
    const g = (name: string, type: SystemMetricRecord['type'], value: number, unit: string): SystemMetricRecord => ({
      name, type, value: Number.isFinite(value) ? value : 0, unit, tags: { instance: INSTANCE },
      serviceName: this.o.serviceName, environment: this.o.environment, version: this.o.version,
      retentionDays: this.o.retentionDays, at,
    });
    return [
      g('event_loop_delay_p99', 'gauge', loopP99, 'ms'),
      g('event_loop_delay_max', 'gauge', loopMax, 'ms'),
      g('process_rss', 'gauge', mem.rss / 1_048_576, 'MB'),
      g('heap_used', 'gauge', mem.heapUsed / 1_048_576, 'MB'),
      g('process_cpu', 'gauge', ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100, 'percent'),
      g('ops_metrics_dropped', 'counter', droppedNow, 'rows'),
    ];
  }

  stop(): void {
    this.loop.disable();
  }
}
