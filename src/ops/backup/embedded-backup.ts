import { createWriteStream, existsSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createDatabase,
  DataDirLockedError,
  extractTarGz,
  lockDataDir,
  openPglite,
  pgliteVersion,
  type Database,
  type DataDirLock,
  type PgliteHandle,
} from '../../db/index.js';
import { extractPayload, fileDigest, readArchive, writeArchive } from './archive.js';
import { occupancy } from './catalog-repo.js';
import { BackupError } from './errors.js';
import { readState, type Manifest } from './manifest.js';
import type { Progress } from './progress.js';
import { refuseOccupied, summarizeManifest, type BackupReport } from './summary.js';
import { migrationWarnings, verifyRestored, type RestoreReport } from './verify-restore.js';

/**
 * Embedded mode (PGlite) is backed up offline: PGlite is one process's
 * database and a running server holds the data folder's lock, so a backup
 * takes that lock itself and is refused, naming the holder, while a server
 * runs. (Reading the files under a live server would copy a torn database.)
 * With the lock held it opens the folder, counts and checksums every table,
 * checkpoints and takes PGlite's own dump of the folder (dumpDataDir, a
 * .tar.gz), the same form the start-up template uses.
 */

export const PGDATA_ENTRY = 'pgdata.tar.gz';
const RESTORING = 'pgdata.restoring-';

export interface EmbeddedOptions {
  dataDir: string;
  file: string;
  agentbaseVersion: string;
  progress: Progress;
  sharedBuffersMb?: number;
  wasmTierUp?: boolean;
}

async function lock(dir: string): Promise<DataDirLock> {
  try {
    return await lockDataDir(dir, () => {});
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      throw new BackupError('data_dir_in_use', `${err.message}. An embedded database is backed up and restored with the server stopped.`);
    }
    throw err;
  }
}

async function openFolder(pgdata: string, o: Pick<EmbeddedOptions, 'sharedBuffersMb' | 'wasmTierUp'>): Promise<{ pg: PgliteHandle; db: Database }> {
  const { pg, driver } = await openPglite({ dataDir: pgdata, sharedBuffersMb: o.sharedBuffersMb, wasmTierUp: o.wasmTierUp });
  return { pg, db: createDatabase(driver) };
}

export async function backupEmbedded(o: EmbeddedOptions): Promise<BackupReport> {
  const dir = resolve(o.dataDir);
  const pgdata = join(dir, 'pgdata');
  if (!existsSync(pgdata)) throw new BackupError('database_missing', `there is no embedded database in ${dir} (no pgdata folder): check AGENTBASE_DATA_DIR`);
  const tmp = `${o.file}.pgdata-${process.pid}`;
  const held = await lock(dir);
  try {
    const { pg, db } = await openFolder(pgdata, o);
    let manifest: Manifest;
    try {
      const state = await db.admin.transaction((sql) => readState(sql, o.progress));
      if (!state.migrations.length) throw new BackupError('database_missing', `the embedded database in ${dir} has no migrations applied: nothing to back up`);
      o.progress.start('dumping the data folder', undefined, 'bytes');
      await pg.exec('CHECKPOINT');
      const blob = await pg.dumpDataDir('gzip');
      await pipeline(Readable.fromWeb(blob.stream() as import('node:stream/web').ReadableStream<Uint8Array>), createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      const digest = await fileDigest(tmp);
      o.progress.set(digest.bytes);
      o.progress.end();
      manifest = {
        format: 'agentbase-backup',
        formatVersion: 1,
        agentbaseVersion: o.agentbaseVersion,
        createdAt: new Date().toISOString(),
        mode: 'embedded',
        schema: state.schema,
        embedded: { pglite: pgliteVersion() },
        migrations: state.migrations,
        tables: state.tables,
        payload: { name: PGDATA_ENTRY, ...digest },
      };
    } finally {
      await db.close();
    }
    const bytes = await writeArchive(o.file, manifest, PGDATA_ENTRY, tmp);
    return summarizeManifest(o.file, bytes, manifest);
  } finally {
    await rm(tmp, { force: true });
    await held.release();
  }
}

export interface EmbeddedRestoreOptions extends EmbeddedOptions {
  force: boolean;
}

/**
 * Unpacks the dump beside `pgdata` and renames it into place, so a restore
 * that fails halfway leaves the folder as it was. With --force the database
 * it replaces is kept as `pgdata.replaced-<time>` (a mistaken --force can be
 * undone by renaming it back); the operator deletes it.
 */
export async function restoreEmbedded(o: EmbeddedRestoreOptions): Promise<RestoreReport & { replacedFolder?: string }> {
  const opened = await readArchive(o.file);
  const m = opened.manifest;
  if (m.mode !== 'embedded' || !m.embedded) {
    throw new BackupError('wrong_mode', `${o.file} is a backup of a PostgreSQL server database (pg_dump): restore it with DATABASE_URL set to an empty database`);
  }
  if (m.embedded.pglite !== pgliteVersion()) {
    throw new BackupError(
      'version_too_old',
      `${o.file} was made by PGlite ${m.embedded.pglite} (agentbase ${m.agentbaseVersion}); this agentbase has PGlite ${pgliteVersion()}, which cannot open that data folder: restore with agentbase ${m.agentbaseVersion}`,
    );
  }
  const dir = resolve(o.dataDir);
  const pgdata = join(dir, 'pgdata');
  const held = await lock(dir);
  const staging = join(dir, `${RESTORING}${process.pid}`);
  const payload = join(dir, `restore-${process.pid}.tar.gz`);
  try {
    for (const e of await readdir(dir)) if (e.startsWith(RESTORING)) await rm(join(dir, e), { recursive: true, force: true });
    if (existsSync(pgdata)) {
      const { db } = await openFolder(pgdata, o);
      try {
        refuseOccupied(await db.admin.transaction((sql) => occupancy(sql)), `the embedded database in ${dir}`, o.force);
      } finally {
        await db.close();
      }
    }
    o.progress.start('checking the backup', m.payload.bytes, 'bytes');
    await extractPayload(o.file, opened, payload);
    o.progress.set(m.payload.bytes);
    o.progress.end();
    o.progress.start('unpacking the data folder', undefined, 'items');
    const files = await extractTarGz(payload, staging, (name) => name === 'postmaster.pid');
    o.progress.tick(files);
    o.progress.end();
    let replacedFolder: string | undefined;
    if (existsSync(pgdata)) {
      replacedFolder = join(dir, `pgdata.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      await rename(pgdata, replacedFolder);
    }
    await rename(staging, pgdata);
    const { db } = await openFolder(pgdata, o);
    try {
      const report = await verifyRestored(db, o.file, m, o.progress, await migrationWarnings(m));
      return replacedFolder ? { ...report, replacedFolder } : report;
    } finally {
      await db.close();
    }
  } finally {
    await rm(payload, { force: true });
    await rm(staging, { recursive: true, force: true });
    await held.release();
  }
}
