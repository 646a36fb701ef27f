import client from 'prom-client';
import type { Database } from '../db/index.js';

/** One registry per app instance (not prom-client's global one), so several apps can live in one process. */
export function createMetrics(db: Database) {
  const registry = new client.Registry();
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
  return {
    registry,
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
      }
    },
    observe(method: string, route: string, status: number, seconds: number) {
      requests.inc({ method, route, status: String(status) });
      duration.observe({ method, route }, seconds);
    },
  };
}
