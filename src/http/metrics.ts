import client from 'prom-client';
import type { Database } from '../db/index.js';
import { queueDepth, type QueueDepthRow } from '../jobs/index.js';
import { createRecentWindow } from './recent-window.js';

/**
 * A gauge another module contributes to /metrics without importing
 * prom-client or this file: app.ts passes these in (AppOptions.metricGauges).
 * `read` runs on every scrape, so it must be cheap: one bounded query at most.
 */
export interface GaugeSource {
  /** a Prometheus metric name, agentbase_… by convention */
  name: string;
  help: string;
  labelNames?: readonly string[];
  read(): Promise<readonly { labels?: Record<string, string>; value: number }[]>;
}

/** At most this many series per contributed gauge: a bug there must not blow up the scrape. */
const MAX_SERIES = 1000;

/**
 * No series at all. prom-client's reset() leaves an unlabelled gauge at 0,
 * which would report a value nobody read; an absent series is the truth.
 */
function empty(gauge: client.Gauge<string>): void {
  gauge.reset();
  (gauge as unknown as { hashMap: Record<string, unknown> }).hashMap = {};
}

/** One registry per app instance (not prom-client's global one), so several apps can live in one process. */
export function createMetrics(
  db: Database,
  gauges: readonly GaugeSource[] = [],
  onCollectError: (metric: string, err: unknown) => void = () => {},
) {
  const registry = new client.Registry();
  const recent = createRecentWindow();
  client.collectDefaultMetrics({ register: registry });
  const requests = new client.Counter({
    name: 'agentbase_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'agentbase_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new client.Gauge({
    name: 'agentbase_db_pool_connections',
    help: 'Database connections by state (PGlite is one in-process connection)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = db.stats();
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting' }, s.waiting);
    },
  });
  const ingested = new client.Counter({
    name: 'agentbase_ingested_items_total',
    help: 'Ingested telemetry items by kind (execution, span, decision, message) and outcome (accepted, updated, duplicate, rejected)',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
  });
  const cacheReads = new client.Counter({
    name: 'agentbase_query_cache_reads_total',
    help: 'Reads through the query cache by read (runs.costs, marketplace.browse, …) and outcome (hit, miss, bypass: the cache is off)',
    labelNames: ['read', 'outcome'] as const,
    registers: [registry],
  });
  const collectErrors = new client.Counter({
    name: 'agentbase_metrics_collect_errors_total',
    help: 'Scrapes in which a gauge could not be read (the database was unreachable, or a contributed source failed); the gauge is left empty. Visible from the next scrape (all metrics are collected at once)',
    labelNames: ['metric'] as const,
    registers: [registry],
  });

  // prom-client starts every metric's collect() in the same tick, so both job
  // gauges of one scrape share the read in flight; the next scrape reads anew.
  let jobRead: Promise<QueueDepthRow[]> | undefined;
  const jobRows = () => {
    jobRead ??= queueDepth(db).finally(() => {
      jobRead = undefined;
    });
    return jobRead;
  };
  // A failing read empties its gauge and is counted, rather than failing the whole scrape.
  const guarded = async (gauge: client.Gauge<string>, name: string, fill: () => Promise<void>) => {
    empty(gauge);
    try {
      await fill();
    } catch (err) {
      empty(gauge);
      collectErrors.inc({ metric: name });
      onCollectError(name, err);
    }
  };
  new client.Gauge({
    name: 'agentbase_job_queue_depth',
    help: 'Unfinished background jobs of every organization by queue, task and state (ready: claimable now; scheduled: run_at ahead; running: leased)',
    labelNames: ['queue', 'task', 'state'] as const,
    registers: [registry],
    async collect() {
      await guarded(this, 'agentbase_job_queue_depth', async () => {
        for (const r of await jobRows()) {
          this.set({ queue: r.queue, task: r.task, state: 'ready' }, r.ready);
          this.set({ queue: r.queue, task: r.task, state: 'scheduled' }, r.scheduled);
          this.set({ queue: r.queue, task: r.task, state: 'running' }, r.running);
        }
      });
    },
  });
  new client.Gauge({
    name: 'agentbase_job_oldest_ready_age_seconds',
    help: 'How long the oldest ready job of a queue and task has waited since its run_at (absent: none ready)',
    labelNames: ['queue', 'task'] as const,
    registers: [registry],
    async collect() {
      await guarded(this, 'agentbase_job_oldest_ready_age_seconds', async () => {
        for (const r of await jobRows()) {
          if (r.oldestReadySeconds !== null) this.set({ queue: r.queue, task: r.task }, r.oldestReadySeconds);
        }
      });
    },
  });
  for (const g of gauges) {
    new client.Gauge({
      name: g.name,
      help: g.help,
      labelNames: g.labelNames ?? [],
      registers: [registry],
      async collect() {
        await guarded(this, g.name, async () => {
          for (const s of (await g.read()).slice(0, MAX_SERIES)) this.set(s.labels ?? {}, s.value);
        });
      },
    });
  }
  return {
    registry,
    /** requests and ingestion of the last minutes in this process (the ops overview's request and ingest sections) */
    recent,
    cacheRead(outcome: string, read: string) {
      cacheReads.inc({ read, outcome });
    },
    /** Ingestion is counted here and in usage, not in the audit log (which records state changes by people and keys). */
    ingested(results: readonly { kind: string; status: string }[]) {
      const counts = new Map<string, number>();
      for (const r of results) counts.set(`${r.kind}\u0000${r.status}`, (counts.get(`${r.kind}\u0000${r.status}`) ?? 0) + 1);
      for (const [k, n] of counts) {
        const [kind, status] = k.split('\u0000') as [string, string];
        ingested.inc({ kind, status }, n);
        recent.ingested(kind, status, n);
      }
    },
    observe(method: string, route: string, status: number, seconds: number) {
      requests.inc({ method, route, status: String(status) });
      duration.observe({ method, route }, seconds);
      recent.request(method, route, status, seconds * 1000);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
