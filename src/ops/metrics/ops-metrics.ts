import { AsyncLocalStorage } from 'node:async_hooks';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OpsMetricsConfig } from '../../config/config.js';
import { pgErrorCode, type Database, type StatementTiming } from '../../db/index.js';
import { MetricsRecorder, type RecorderStats } from './recorder.js';
import type { CacheRead, KeptBecause, PerformanceRecord } from './rows.js';
import { statementShape } from './statement-shape.js';
import { poolSampler, SystemSampler } from './samplers.js';
import { scrubSecrets } from './scrub.js';

export interface OpsMetricsLog {
  warn(obj: object, msg: string): void;
}

export interface OpsMetricsDeps {
  db: Database;
  config: OpsMetricsConfig;
  /** system_metrics.version */
  version: string;
  log?: OpsMetricsLog;
  /** recorder tuning (tests, benchmarks): rows per early write, buffer bound */
  batchSize?: number;
  maxBuffered?: number;
}

/**
 * The service measuring itself (issue 15): API requests (sampled), 5xx errors,
 * pool statistics and process gauges, buffered and written in batches to the
 * operational tables of migration 0025. Made by the composition root
 * (src/server.ts), fed by src/http (onResponse hook, error handler).
 */
export interface OpsMetrics {
  readonly enabled: boolean;
  /** the onResponse hook: keeps a share of ordinary requests, every slow one and every 5xx */
  observeRequest(req: FastifyRequest, reply: FastifyReply): void;
  /** the error handler, for an answer of 5xx: one error_logs row with the request id the client got */
  observeError(err: unknown, req: FastifyRequest, answer: { status: number; code: string }): void;
  /** a performance_metrics row of another kind (query, cache, frontend) measured elsewhere */
  recordPerformance(r: PerformanceRecord): void;
  /**
   * Runs `next` (a Fastify hook's done) with `req` as the current request, so
   * statements and cache reads made on its behalf are recorded with its
   * request id, user, session and route. Only with linksRequests.
   */
  inRequest(req: FastifyRequest, next: () => void): void;
  /** statement and cache rows are linked to their request (AGENTBASE_METRICS_QUERY_CONTEXT): the http layer then calls inRequest */
  readonly linksRequests: boolean;
  /** a statement of an app-role transaction (db.onStatement): a share of them, and every slow one, become query rows */
  observeStatement(s: StatementTiming): void;
  /** a query cache read: a share of them, and every slow one, become cache rows */
  observeCacheRead(r: CacheRead): void;
  /** whether statements and cache reads are recorded at all (the composition root subscribes only then) */
  readonly recordsQueries: boolean;
  /** one connection_pool_stats row now (the timer calls this every AGENTBASE_POOL_STATS_INTERVAL_SECONDS) */
  samplePoolStats(): Promise<void>;
  /** system_metrics gauges now (every AGENTBASE_SYSTEM_METRICS_INTERVAL_SECONDS) */
  sampleSystemMetrics(): void;
  /** writes everything buffered; tests call it to see their rows */
  flush(): Promise<void>;
  stats(): RecorderStats;
  /** starts the flush and sampling timers (all unref'd) */
  start(): void;
  /** stops the timers and writes what is left (bounded wait) */
  close(): Promise<void>;
}

const DISABLED: OpsMetrics = {
  enabled: false,
  observeRequest() {},
  observeError() {},
  recordPerformance() {},
  inRequest: (_req, next) => next(),
  linksRequests: false,
  observeStatement() {},
  observeCacheRead() {},
  recordsQueries: false,
  samplePoolStats: async () => {},
  sampleSystemMetrics() {},
  flush: async () => {},
  stats: () => ({ buffered: 0, written: 0, dropped: 0, failed: 0 }),
  start() {},
  close: async () => {},
};

const header = (v: unknown): number | null => {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isSafeInteger(n) && n >= 0 && n <= 2_147_483_647 ? n : null;
};

const address = (ip: string | undefined): string | null => (ip && isIP(ip) ? ip : null);

export function createOpsMetrics(deps: OpsMetricsDeps): OpsMetrics {
  const cfg = deps.config;
  if (!cfg.enabled) return DISABLED;
  const { db } = deps;
  const recorder = new MetricsRecorder({
    db,
    flushIntervalMs: cfg.flushIntervalMs,
    ...(deps.batchSize ? { batchSize: deps.batchSize } : {}),
    ...(deps.maxBuffered ? { maxBuffered: deps.maxBuffered } : {}),
    onError: (err, info) => deps.log?.warn({ err, ...info }, 'operational metrics could not be written; these rows are lost'),
  });
  let dbName: string | undefined;
  const databaseName = async () => {
    if (dbName === undefined) {
      // Once, off the request path: which database (or the embedded one) the pool serves.
      if (db.kind === 'pglite') dbName = 'embedded';
      else dbName = (await db.admin.query<{ d: string }>('SELECT current_database() AS d')).rows[0]?.d ?? 'unknown';
    }
    return dbName;
  };
  const samplePool = poolSampler(db, databaseName);
  const recordsQueries = cfg.querySampleRate > 0 || cfg.slowQueryMs > 0;
  // Which request a statement serves. AsyncLocalStorage enables async hooks
  // for the whole process, which on Node 20 costs a light request ~5 % of its
  // p50 (npm run bench -- ops-metrics), so it exists only when asked for.
  const current = recordsQueries && cfg.queryContext ? new AsyncLocalStorage<FastifyRequest>() : undefined;
  const keepQuery = (ms: number) =>
    (cfg.slowQueryMs > 0 && ms >= cfg.slowQueryMs) || (cfg.querySampleRate > 0 && Math.random() < cfg.querySampleRate);
  const requestFields = () => {
    const req = current?.getStore();
    if (!req) return { userId: null, sessionId: null, requestId: null, endpoint: null };
    const p = req.principal;
    return { userId: p?.userId ?? null, sessionId: p?.sessionId ?? null, requestId: req.id, endpoint: req.routeOptions?.url ?? null };
  };
  let system: SystemSampler | undefined;
  const systemSampler = () =>
    (system ??= new SystemSampler({
      serviceName: 'agentbase',
      environment: cfg.environment,
      version: deps.version,
      retentionDays: 90,
      dropped: () => recorder.stats().dropped + recorder.stats().failed,
    }));
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => Promise<void> | void) => {
    if (ms <= 0) return;
    const t = setInterval(() => {
      Promise.resolve()
        .then(fn)
        .catch((err: unknown) => deps.log?.warn({ err }, 'operational metrics sample failed'));
    }, ms);
    t.unref();
    timers.push(t);
  };
  const samplePoolStats = async () => {
    recorder.poolStats(await samplePool());
  };
  const sampleSystemMetrics = () => {
    for (const r of systemSampler().sample()) recorder.system(r);
  };

  return {
    enabled: true,
    observeRequest(req, reply) {
      const route = req.routeOptions.url;
      const status = reply.statusCode;
      // The API only: health checks and /metrics scrapes would drown it (a 5xx anywhere is kept).
      if (status < 500 && !route?.startsWith('/v1/')) return;
      const ms = reply.elapsedTime;
      let kept: KeptBecause;
      if (status >= 500) kept = 'error';
      else if (ms >= cfg.slowMs) kept = 'slow';
      else if (cfg.sampleRate > 0 && Math.random() < cfg.sampleRate) kept = 'sampled';
      else return;
      const p = req.principal;
      const ua = req.headers['user-agent'];
      recorder.request({
        requestId: req.id,
        method: req.method,
        route: route ?? 'unmatched',
        status,
        durationMs: ms,
        orgId: p?.orgId ?? null,
        userId: p?.userId ?? null,
        apiKeyId: p?.apiKeyId ?? null,
        sessionId: p?.sessionId ?? null,
        principalType: p?.kind ?? null,
        ip: address(req.ip),
        userAgent: typeof ua === 'string' ? ua : null,
        requestBytes: header(req.headers['content-length']),
        responseBytes: header(reply.getHeader('content-length')),
        keptBecause: kept,
        sampleRate: cfg.sampleRate,
        at: new Date(),
      });
    },
    observeError(err, req, answer) {
      const e = err as { name?: unknown; message?: unknown; stack?: unknown } | null;
      const p = req.principal;
      recorder.error({
        requestId: req.id,
        orgId: p?.orgId ?? null,
        userId: p?.userId ?? null,
        apiKeyId: p?.apiKeyId ?? null,
        method: req.method,
        route: req.routeOptions?.url ?? null,
        status: answer.status,
        errorCode: answer.code,
        errorName: typeof e?.name === 'string' ? e.name : null,
        pgCode: pgErrorCode(err) ?? null,
        message: scrubSecrets(typeof e?.message === 'string' && e.message ? e.message : String(err), 2000),
        stack: typeof e?.stack === 'string' ? scrubSecrets(e.stack, 8000) : null,
        at: new Date(),
      });
    },
    recordPerformance(r) {
      recorder.performance(r);
    },
    recordsQueries,
    linksRequests: current !== undefined,
    inRequest(req, next) {
      if (current) current.run(req, next);
      else next();
    },
    observeStatement(st) {
      if (!keepQuery(st.durationMs)) return;
      const shape = statementShape(st.text);
      recorder.performance({
        metricType: 'query',
        metricName: shape.name,
        durationMs: st.durationMs,
        orgId: st.orgId,
        ...requestFields(),
        queryHash: shape.hash,
        metadata: { statement: shape.text, readOnly: st.readOnly, ok: st.ok, kept: cfg.slowQueryMs > 0 && st.durationMs >= cfg.slowQueryMs ? 'slow' : 'sampled' },
      });
    },
    observeCacheRead(r) {
      if (!keepQuery(r.durationMs)) return;
      const fields = requestFields();
      recorder.performance({
        metricType: 'cache',
        metricName: `${r.outcome} ${r.name}`,
        durationMs: r.durationMs,
        orgId: r.orgId,
        ...fields,
        userId: r.userId ?? fields.userId,
        queryHash: r.queryHash,
        metadata: { outcome: r.outcome, read: r.name, bytes: r.bytes, stored: r.stored },
      });
    },
    samplePoolStats,
    sampleSystemMetrics,
    flush: () => recorder.flush(),
    stats: () => recorder.stats(),
    start() {
      recorder.start();
      every(cfg.poolStatsIntervalMs, samplePoolStats);
      if (cfg.systemMetricsIntervalMs > 0) {
        systemSampler(); // the first sample measures from now
        every(cfg.systemMetricsIntervalMs, sampleSystemMetrics);
      }
    },
    async close() {
      for (const t of timers.splice(0)) clearInterval(t);
      system?.stop();
      await recorder.close();
    },
  };
}
