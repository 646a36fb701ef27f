import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config/index.js';
import { resolveSecret } from './config/index.js';
import { loadMigrations, maintainPartitions, migrate, openDatabase, type Database } from './db/index.js';
import { buildApp } from './http/index.js';
import { accessTokens, deriveKeys, type IdentityDeps } from './identity/index.js';
import { pruneIngestKeys } from './runs/index.js';

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
  const app = await buildApp({ config, identity, migrations, bodyLimit: config.http.bodyLimit, logger, version: VERSION });
  return {
    app,
    db,
    identity,
    async close() {
      await app.close();
    },
  };
}

/** `agentbase start`: open, migrate, keep partitions ahead, serve until closed. */
/** Periodic upkeep: partitions ahead and past retention, then ingestion keys past their items' retention. */
export async function maintain(db: Database, now = new Date()): Promise<{ created: number; dropped: number; keysPruned: number }> {
  const p = await maintainPartitions(db, now);
  return { ...p, keysPruned: await pruneIngestKeys(db, now) };
}

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
    const url = await svc.app.listen({ host: config.http.host, port: config.http.port });
    logger.info({ url, database: db.kind }, 'agentbase is listening');
    return {
      ...svc,
      url,
      async close() {
        clearInterval(timer);
        await svc.close();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}
