import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config, ServerDatabaseConfig } from '../config/config.js';
import { createDatabase } from './database.js';
import { lockDataDir, type LockHolder } from './data-dir-lock.js';
import { createPgDriver } from './pg-driver.js';
import { ReplicaRouter } from './replicas.js';
import { loadMigrations } from './migrate.js';
import { createPgliteDriver } from './pglite-driver.js';
import { createFromTemplate, DEFAULT_TEMPLATE_DIR, type TemplateOutcome } from './pglite-template.js';
import type { Database } from './types.js';

export type { AdminSql, Database, PoolStats, PoolStatsOptions, QueryResult, ReplicaStatus, Sql, StatementListener, StatementTiming } from './types.js';
export { ReplicaRouter, type ReplicaRouterOptions } from './replicas.js';
export { createDatabase, APP_ROLE } from './database.js';
export { createPgliteDriver, type PgliteDriverOptions } from './pglite-driver.js';
export { buildPgliteTemplate, DEFAULT_TEMPLATE_DIR, type TemplateOutcome } from './pglite-template.js';
export { createPgDriver } from './pg-driver.js';
export { migrate, migrationStatus, loadMigrations, MigrationError, type Migration } from './migrate.js';
export {
  ensureDayPartitions,
  ensureMonthPartitions,
  maintainPartitions,
  DAILY_PARTITIONED_TABLES,
  PARTITIONED_TABLES,
  WEEKLY_PARTITIONED_TABLES,
  type DailyPartitionedTable,
  type WeeklyPartitionedTable,
  type PartitionedTable,
} from './partitions.js';
export { DataDirLockedError, lockDataDir, type DataDirLock, type LockHolder } from './data-dir-lock.js';
// backup and restore of an embedded data folder (src/ops/backup) work below the seam: PGlite's own dump, the archive reader
export { openPglite, type PgliteHandle } from './pglite-driver.js';
export { extractTarGz, TarError } from './tar-extract.js';
export { pgliteVersion } from './pglite-template.js';
export { uuidv7, uuidV7Time } from './ids.js';
export { isPgError, pgErrorCode } from './pg-errors.js';

export interface OpenOptions {
  /** the embedded data folder's lock was lost (its refresh failed): stop writing */
  onLockLost?: (err: Error) => void;
  /** the embedded data folder was held by a process of this host that no longer exists, and this open took it over */
  onTakeover?: (previous: LockHolder) => void;
  /** a new embedded data folder was made: from the template, or (why not) by initdb */
  onNewDataFolder?: (outcome: TemplateOutcome) => void;
}

/** A server database: the primary's pool, and a router over the read replicas if any are configured. */
export async function openServerDatabase(c: ServerDatabaseConfig): Promise<Database> {
  const primary = createPgDriver({ connectionString: c.url, max: c.poolMax });
  if (c.replicas.urls.length === 0) return createDatabase(primary);
  const router = new ReplicaRouter({
    primary,
    replicas: c.replicas.urls.map((url) => ({
      url,
      driver: createPgDriver({ connectionString: url, max: c.poolMax, applicationName: 'agentbase-read', connectTimeoutMs: 2000 }),
    })),
    maxLagMs: c.replicas.maxLagMs,
    readYourWritesMs: c.replicas.readYourWritesMs,
    sampleIntervalMs: c.replicas.sampleIntervalMs,
  });
  // The first sample decides which replicas serve from the start; one that is
  // down is only marked so (reads go to the primary) and retried by the timer.
  await router.start();
  return createDatabase(primary, router);
}

/**
 * Opens the configured database. Embedded mode locks the data folder first, so a
 * second process is refused before it can open (and corrupt) the files.
 */
export async function openDatabase(config: Config, opts: OpenOptions = {}): Promise<Database> {
  if (config.database.mode === 'server') {
    return openServerDatabase(config.database);
  }
  const dir = resolve(config.database.dataDir);
  const lock = await lockDataDir(dir, opts.onLockLost ?? ((err) => {
    throw err;
  }));
  if (lock.tookOverFrom) opts.onTakeover?.(lock.tookOverFrom);
  try {
    const pgdata = join(dir, 'pgdata');
    if (!existsSync(pgdata)) {
      const template = config.database.template;
      const outcome =
        template === false
          ? ({ used: false, reason: 'AGENTBASE_EMBEDDED_TEMPLATE is none' } as const)
          : await createFromTemplate(pgdata, template ?? DEFAULT_TEMPLATE_DIR, await loadMigrations());
      opts.onNewDataFolder?.(outcome);
    }
    const driver = await createPgliteDriver({
      dataDir: pgdata,
      sharedBuffersMb: config.database.sharedBuffersMb,
      wasmTierUp: config.database.wasmTierUp,
    });
    const db = createDatabase(driver);
    return {
      ...db,
      async close() {
        await db.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
