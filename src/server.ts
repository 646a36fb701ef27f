import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config/index.js';
import { resolveSecret } from './config/index.js';
import { loadMigrations, maintainPartitions, migrate, openDatabase, type Database } from './db/index.js';
import { buildApp } from './http/index.js';
import { accessTokens, deriveKeys, type IdentityDeps } from './identity/index.js';
import { pruneFinishedJobs, Worker, type JobHandler } from './jobs/index.js';
import { pruneIngestKeys } from './runs/index.js';
import { AGENT_RUN_TASK, agentRunHandler, createRuntime, type RuntimeDeps } from './runtime/index.js';
import { workflowJobHandlers } from './workflows/index.js';
import { agentRunner, toolRunner } from './workflow-runners.js';

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
  /** what a job worker of this service runs, by task */
  jobHandlers: Record<string, JobHandler>;
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
  // One runtime serves the routes and the worker, so a cancel reaches a run in either.
  const runtime = createRuntime({ db, config: config.runtime, keys, ...(logger ? { log: logger } : {}) });
  const app = await buildApp({ config, identity, migrations, bodyLimit: config.http.bodyLimit, logger, version: VERSION, runtime });
  const jobHandlers: Record<string, JobHandler> = {
    ...workflowJobHandlers({ db, runAgent: agentRunner(runtime), runTool: toolRunner(runtime) }),
    [AGENT_RUN_TASK]: agentRunHandler(runtime),
  };
  return {
    app,
    db,
    identity,
    runtime,
    jobHandlers,
    async close() {
      await app.close();
    },
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

/** Periodic upkeep: partitions ahead and past retention, ingestion keys past their items' retention, finished jobs past theirs. */
export async function maintain(
  db: Database,
  now = new Date(),
): Promise<{ created: number; dropped: number; keysPruned: number; jobsPruned: number }> {
  const p = await maintainPartitions(db, now);
  return { ...p, keysPruned: await pruneIngestKeys(db, now), jobsPruned: await pruneFinishedJobs(db, now) };
}

/** `agentbase start`: open, migrate, keep partitions ahead, run the worker, serve until closed. */
export async function startServer(config: Config, logger: Logger): Promise<Service & { url: string }> {
  const db = await openDatabase(config, (err) => {
    logger.fatal({ err }, 'lost the data folder lock; stopping so two processes never write it');
    process.exit(1);
  });
  try {
    const m = await migrate(db);
    if (m.applied.length) logger.info({ applied: m.applied }, 'migrations applied');
    const p = await maintain(db);
    logger.info({ ...p }, 'maintenance done');
    const svc = await createService(config, db, logger);
    const timer = setInterval(() => {
      maintain(db).catch((err: unknown) => logger.error({ err }, 'maintenance failed'));
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
