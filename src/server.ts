import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { createQueryCache, DEFAULT_CACHE_MAX_BYTES, maintainQueryCache, type QueryCache } from './cache/index.js';
import type { Config, RetentionConfig } from './config/index.js';
import { loadConsoleAssets } from './console/index.js';
import { ConfigError, resolveSecret } from './config/index.js';
import { loadMigrations, maintainPartitions, migrate, openDatabase, type Database } from './db/index.js';
import { buildApp } from './http/index.js';
import { cleanupSystemMetrics, createOpsMetrics, DEFAULT_MATVIEW_REFRESH_SECONDS, DEFAULT_RETENTION, enableQueryStats, enforceRetention, enqueueMatviewRefreshes, matviewJobHandlers, matviewStatus, type OpsMetrics, prunePoolStats } from './ops/index.js';
import { accessTokens, deriveKeys, type IdentityDeps } from './identity/index.js';
import { pruneFinishedJobs, Worker, type JobHandler } from './jobs/index.js';
import { createMemory, enableVectors, memoryJobHandlers, purgeExpiredMemories, type MemoryModule } from './memory/index.js';
import { pruneIngestKeys, recordEmbeddingCall } from './runs/index.js';
import { AGENT_RUN_TASK, agentRunHandler, createRuntime, embeddingEgress, MEMORY_EXTRACT_TASK, memoryExtractHandler, type RuntimeDeps } from './runtime/index.js';
import { workflowJobHandlers } from './workflows/index.js';
import { billingDeps, billingJobHandlers, enqueueDueBillingJobs, evalJobHandlers, integrationAccessToken, integrationsDeps, refreshExpiringTokens, type IntegrationsDeps, webhookJobHandlers } from './platform/index.js';
import { agentRunner, evalAgentRunner, toolRunner } from './workflow-runners.js';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    // Credentials never reach the log, whatever logs a request.
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.password', '*.refreshToken', '*.token', '*.key'],
      censor: '[redacted]',
    },
  });
}

export interface Service {
  app: FastifyInstance;
  db: Database;
  identity: IdentityDeps;
  runtime: RuntimeDeps;
  memory: MemoryModule;
  /** integrations and OAuth tokens (maintenance refreshes tokens expiring soon) */
  integrations: IntegrationsDeps;
  /** what a job worker of this service runs, by task */
  jobHandlers: Record<string, JobHandler>;
  /** the service's own measurements (operational tables); flush() writes what is buffered */
  opsMetrics: OpsMetrics;
  /** the query cache of expensive reads (its hit ratio: cache.orgStats / cache.totals) */
  cache: QueryCache;
  close(): Promise<void>;
}

/** Builds the service on an already-open database (tests pass their own). */
export async function createService(config: Config, db: Database, logger: Logger | false): Promise<Service> {
  const secret = await resolveSecret(config);
  const keys = deriveKeys(secret);
  const identity: IdentityDeps = {
    db,
    keys,
    tokens: accessTokens(keys.accessToken, config.auth.accessTokenTtl),
    auth: config.auth,
  };
  const migrations = await loadMigrations();
  const cache = createQueryCache(db, config.cache, (err) => {
    if (logger) logger.error({ err }, 'query cache statistics not written');
  });
  // pg_stat_statements for GET /v1/ops/queries, created here when the server has it and the owner may; otherwise that route says how.
  await enableQueryStats(db);
  // The openai embedder goes out through the runtime's egress policy and secrets bound to hosts.
  const memory = createMemory({
    db,
    config: config.memory,
    vectors: await enableVectors(db, config.memory),
    ...embeddingEgress({ db, config: config.runtime, keys }),
    // A paid embedder's calls for an agent are priced into the cost ledger (runs owns it; memory must not import runs' ingestion).
    recordEmbedding: (u) => recordEmbeddingCall({ db }, u),
    ...(logger ? { log: logger } : {}),
  });
  // One runtime serves the routes and the worker, so a cancel reaches a run in either.
  // http tools with auth.integrationId take their token from platform's integrations (the runtime must not import platform).
  const integrations = integrationsDeps(db, keys, config.runtime);
  const runtime = createRuntime({
    db, config: config.runtime, keys, memory, ...(logger ? { log: logger } : {}),
    integrationToken: (orgId, id, host) => integrationAccessToken(integrations, orgId, id, { host }),
  });
  // Started here and stopped in close(): every service measures itself, tests included (they call flush()).
  const opsMetrics = createOpsMetrics({ db, config: config.opsMetrics, version: VERSION, ...(logger ? { log: logger } : {}) });
  const matviewOpts = { intervalSeconds: config.matviews.refreshSeconds };
  const app = await buildApp({
    config, identity, migrations, bodyLimit: config.http.bodyLimit, logger, version: VERSION, runtime, memory, opsMetrics, cache,
    consoleAssets: loadConsoleAssets(),
    // The overview's and /metrics' sections owned by modules the http layer does not import.
    overviewSources: {
      cache: () => cache.totals(),
      matviews: () => matviewStatus(db, matviewOpts),
      replicas: async () => db.replicaStatus(),
    },
    metricGauges: [
      {
        name: 'agentbase_query_cache_hit_ratio',
        help: 'Query cache hits / (hits + misses) over the last 30 days, every organization (absent before the first read)',
        read: async () => {
          const t = await cache.totals();
          return t.ratio === null ? [] : [{ value: t.ratio }];
        },
      },
      {
        name: 'agentbase_matview_staleness_seconds',
        help: 'Seconds since each materialized view\'s last successful refresh (absent: never refreshed)',
        labelNames: ['view'],
        read: async () =>
          (await matviewStatus(db, matviewOpts)).flatMap((m) => (m.stalenessSeconds === null ? [] : [{ labels: { view: m.name }, value: m.stalenessSeconds }])),
      },
      {
        name: 'agentbase_replica_lag_seconds',
        help: 'Replay lag of each read replica at its last sample (absent: unreachable; see agentbase_replica_healthy)',
        labelNames: ['replica'],
        read: async () => db.replicaStatus().flatMap((r) => (r.lagMs === null ? [] : [{ labels: { replica: r.url }, value: r.lagMs / 1000 }])),
      },
      {
        name: 'agentbase_replica_healthy',
        help: 'Whether each read replica serves reads (reachable and within AGENTBASE_REPLICA_MAX_LAG_MS): 1 or 0',
        labelNames: ['replica'],
        read: async () => db.replicaStatus().map((r) => ({ labels: { replica: r.url }, value: r.healthy ? 1 : 0 })),
      },
    ],
  });
  opsMetrics.start();
  // A sample of statements and query cache reads become performance_metrics rows (query, cache).
  const unobserve = opsMetrics.recordsQueries ? db.onStatement((st) => opsMetrics.observeStatement(st)) : () => {};
  if (opsMetrics.recordsQueries) cache.onOutcome((outcome, name, d) => opsMetrics.observeCacheRead({ outcome, name, ...d }));
  const jobHandlers: Record<string, JobHandler> = {
    ...workflowJobHandlers({ db, runAgent: agentRunner(runtime), runTool: toolRunner(runtime) }),
    [AGENT_RUN_TASK]: agentRunHandler(runtime),
    ...memoryJobHandlers(memory),
    // Extraction calls the agent's model, which only the runtime can do; memory must not import the runtime.
    [MEMORY_EXTRACT_TASK]: memoryExtractHandler(runtime),
    ...billingJobHandlers(billingDeps(db, config.billing)),
    // Eval cases run agents (the runtime) and embed (memory); platform imports neither.
    ...evalJobHandlers({ db, runAgent: evalAgentRunner(runtime), embed: memoryEmbed(memory) }),
    ...webhookJobHandlers({ db, keys, config: config.webhooks }),
    ...matviewJobHandlers({ db }),
  };
  return {
    app,
    db,
    identity,
    runtime,
    memory,
    integrations,
    jobHandlers,
    opsMetrics,
    cache,
    async close() {
      await app.close();
      // After the app: the last answers' rows are buffered by now.
      unobserve();
      await opsMetrics.close();
      await cache.flush();
      await memory.close();
    },
  };
}

/** The memory module's embedder for an agent, as evals' embedding_similarity scorer uses it. */
function memoryEmbed(memory: MemoryModule) {
  return async (orgId: string, agentId: string | null, texts: string[]): Promise<number[][]> => {
    const e = await memory.embedderFor(orgId, agentId);
    if (!e) throw new Error('no embedder: the memory embedder is none or vectors are unavailable (AGENTBASE_MEMORY_EMBEDDER)');
    return (await e.embed(texts)).vectors;
  };
}

/**
 * The in-process worker: async agent runs, workflow steps and cron schedules.
 * No prefetch: these jobs take seconds, so claiming ahead would only park work
 * another process could start now.
 */
function startWorker(svc: Service, config: Config, logger: Logger): Worker {
  const worker = new Worker({
    db: svc.db,
    handlers: svc.jobHandlers,
    concurrency: config.worker.concurrency,
    prefetch: 0,
    // Cron schedules: every replica may run them; a slot is enqueued once (idempotency key per slot).
    schedulerIntervalMs: 10_000,
    onError: (err, info) => logger.error({ err, ...info }, 'job worker error'),
  });
  worker.start();
  return worker;
}

/** What maintenance is given beyond the database; each part it lacks is skipped or defaulted. */
export interface MaintainOptions {
  /** integrations whose OAuth tokens expire within refreshWithinMs are refreshed now */
  tokens?: { integrations: IntegrationsDeps; refreshWithinMs: number };
  /** the query cache (or just its size cap) to expire and evict; the default cap otherwise */
  cache?: QueryCache | { maxBytes: number };
  /** materialized view refreshes are enqueued for every slot until now + horizonSeconds (none ahead by default) */
  matviews?: { intervalSeconds: number; horizonSeconds: number };
  /** the platform's retention bounds and batch sizes for organizations' retention policies (defaults otherwise) */
  retention?: RetentionConfig;
}

/**
 * Periodic upkeep: partitions ahead and past retention, ingestion keys past their items' retention, finished jobs past theirs, expired memories,
 * system metrics past their own retention and old pool samples, organizations' retention policies (batched deletes of rows older than their periods),
 * and, given the integrations, OAuth tokens that expire before the next run (refreshWithinMs) refreshed now; materialized view refreshes
 * enqueued for every slot until the next run (matviews.horizonSeconds).
 */
export async function maintain(
  db: Database,
  now = new Date(),
  opts: MaintainOptions = {},
): Promise<{
  created: number; dropped: number; keysPruned: number; jobsPruned: number; memoriesPurged: number; billingJobs: number;
  systemMetricsDeleted: number; poolStatsDeleted: number; matviewJobs: number; tokensRefreshed: number; tokenRefreshesFailed: number;
  cacheExpired: number; cacheEvicted: number; retentionDeleted: number; retentionUnfinished: number;
}> {
  const p = await maintainPartitions(db, now);
  // the query cache: expired entries out, then least recently used ones down to its size cap
  const cache = opts.cache ?? { maxBytes: DEFAULT_CACHE_MAX_BYTES };
  const c = 'maintain' in cache ? await cache.maintain() : await maintainQueryCache(db, cache.maxBytes);
  const tokens = opts.tokens;
  const t = tokens ? await refreshExpiringTokens(tokens.integrations, { withinMs: tokens.refreshWithinMs }) : { refreshed: 0, failed: 0 };
  return {
    ...p,
    keysPruned: await pruneIngestKeys(db, now),
    jobsPruned: await pruneFinishedJobs(db, now),
    memoriesPurged: await purgeExpiredMemories(db),
    // period ends and trial ends due: one billing.close_period job per organization and moment
    billingJobs: await enqueueDueBillingJobs(db, now),
    // seed 000 cleanup_old_system_metrics: per-row retention (tag, column, 30 days)
    systemMetricsDeleted: await cleanupSystemMetrics(db, now),
    poolStatsDeleted: await prunePoolStats(db, now),
    // one ops.refresh_matview job per view and slot (idempotency key per slot)
    matviewJobs: await enqueueMatviewRefreshes(db, now, opts.matviews ?? { intervalSeconds: DEFAULT_MATVIEW_REFRESH_SECONDS, horizonSeconds: 0 }),
    tokensRefreshed: t.refreshed,
    tokenRefreshesFailed: t.failed,
    cacheExpired: c.expired,
    cacheEvicted: c.evicted,
    ...(await enforceRetention({ db, config: opts.retention ?? DEFAULT_RETENTION }, now).then((r) => ({ retentionDeleted: r.deleted, retentionUnfinished: r.unfinished }))),
  };
}

/**
 * What `start` needs that parsing the environment cannot tell, checked before
 * anything is opened: a refused start leaves the database as it was. Returns
 * the configuration with its secret resolved (embedded mode makes one in the
 * data folder on first start; server mode must be given one).
 */
export async function preflight(config: Config): Promise<Config> {
  const secret = await resolveSecret(config);
  const dir = config.runtime.scriptsDir;
  if (dir) {
    const s = await stat(dir).catch(() => undefined);
    if (!s?.isDirectory()) throw new ConfigError(`invalid configuration:\n  AGENTBASE_SCRIPTS_DIR: ${dir} is not a folder`);
  }
  await assertPortFree(config.http.host, config.http.port);
  return { ...config, secret };
}

/** Refuses a port something else listens on now (the usual "a second server" mistake), before the database is touched. */
function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new ConfigError(`${host}:${port} is already in use (another agentbase?); stop it or set PORT`)
          : err.code === 'EADDRNOTAVAIL'
            ? new ConfigError(`HOST ${host} is not an address of this machine`)
            : err,
      );
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** `agentbase start`: check, open, migrate, keep partitions ahead, run the worker, serve until closed. */
export async function startServer(given: Config, logger: Logger): Promise<Service & { url: string }> {
  const config = await preflight(given);
  const db = await openDatabase(config, {
    onLockLost: (err) => {
      logger.fatal({ err }, 'lost the data folder lock; stopping so two processes never write it');
      process.exit(1);
    },
    onTakeover: (previous) => {
      logger.warn(
        { previous: { pid: previous.pid, host: previous.host, processStartedAt: previous.processStartedAt, lockedAt: previous.lockedAt } },
        `the data folder was held by pid ${previous.pid}, which is no longer running (it crashed or was killed); took over its lock`,
      );
    },
    onNewDataFolder: (outcome) => {
      if (outcome.used) logger.info({ migrations: outcome.migrations }, 'new data folder made from the prebuilt template');
      else logger.info({ reason: outcome.reason }, 'new data folder: running initdb and every migration (~5 s)');
    },
  });
  try {
    const m = await migrate(db);
    if (m.applied.length) logger.info({ applied: m.applied }, 'migrations applied');
    // Refreshes are enqueued for every slot until the next maintenance run.
    const matviews = { intervalSeconds: config.matviews.refreshSeconds, horizonSeconds: config.maintenanceIntervalSeconds };
    const p = await maintain(db, new Date(), { cache: config.cache, matviews, retention: config.retention });
    logger.info({ ...p }, 'maintenance done');
    const svc = await createService(config, db, logger);
    // Tokens expiring before the next run (and a margin) are refreshed in this one.
    const tokens = { integrations: svc.integrations, refreshWithinMs: (config.maintenanceIntervalSeconds + 300) * 1000 };
    const timer = setInterval(() => {
      maintain(db, new Date(), { tokens, cache: svc.cache, matviews, retention: config.retention }).catch((err: unknown) => logger.error({ err }, 'maintenance failed'));
    }, config.maintenanceIntervalSeconds * 1000);
    timer.unref();
    const worker = config.worker.enabled ? startWorker(svc, config, logger) : null;
    const url = await svc.app.listen({ host: config.http.host, port: config.http.port });
    logger.info({ url, database: db.kind, worker: worker?.id ?? 'off' }, 'agentbase is listening');
    return {
      ...svc,
      url,
      async close() {
        clearInterval(timer);
        // Stop claiming first; running jobs get time to finish, the rest are given back.
        if (worker) logger.info({ ...(await worker.stop({ timeoutMs: 20_000 })) }, 'job worker stopped');
        await svc.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}
