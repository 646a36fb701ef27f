import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../db/index.js';
import { extractPayload, fileDigest, readArchive, writeArchive } from './archive.js';
import {
  ensureServiceRoles,
  grantServiceRolesToCurrentUser,
  occupancy,
  recreateSchemaScript,
  roleExists,
  rolesNamed,
  serverFacts,
} from './catalog-repo.js';
import { BackupError } from './errors.js';
import { readState, type Manifest } from './manifest.js';
import { connectionFor, findPgTool, restoreThroughPsql, runTool, writeRestoreList } from './pg-tools.js';
import type { Progress } from './progress.js';
import { migrationWarnings, verifyRestored, type RestoreReport } from './verify-restore.js';
import { refuseOccupied, summarizeManifest, type BackupReport } from './summary.js';

/** The roles agentbase's migrations create; a restore makes them when the target cluster has none (roles are cluster-wide, not in a dump). */
const SERVICE_ROLES = ['agentbase_app', 'agentbase_auth'];
export const DUMP_ENTRY = 'agentbase.dump';

export interface ServerOptions {
  db: Database;
  url: string;
  file: string;
  agentbaseVersion: string;
  progress: Progress;
  /** where pg_dump/pg_restore live, when not on PATH or under /usr/lib/postgresql/N/bin */
  binDir?: string;
  pathEnv?: string;
}

const majorOf = (num: number) => Math.floor(num / 10000);

/**
 * pg_dump -Fc of the whole database, and the manifest, from one snapshot: the
 * counts and checksums are read in a repeatable-read transaction whose
 * snapshot pg_dump then shares (--snapshot), so they describe exactly the rows
 * in the dump while the server keeps taking writes.
 */
export async function backupServer(o: ServerOptions): Promise<BackupReport> {
  const tmp = `${o.file}.dump-${process.pid}`;
  try {
    const { manifest } = await o.db.admin.transaction(async (sql) => {
      await sql.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const facts = await serverFacts(sql);
      if (!facts.owner) throw new BackupError('database_missing', `database ${facts.database} holds no agentbase schema (no schema_migrations table): nothing to back up`);
      const tool = await findPgTool('pg_dump', majorOf(facts.serverVersionNum), { binDir: o.binDir, pathEnv: o.pathEnv });
      const snapshot = (await sql.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
      const state = await readState(sql, o.progress);
      const roles = await rolesNamed(sql);
      const conn = connectionFor(o.url);
      o.progress.start('pg_dump', undefined, 'bytes');
      const poll = setInterval(() => {
        stat(tmp).then(
          (s) => o.progress.set(s.size),
          () => {},
        );
      }, 250);
      try {
        await runTool(tool, ['--format=custom', `--file=${tmp}`, `--snapshot=${snapshot}`, '--no-password', `--dbname=${conn.dbname}`], conn.env);
      } finally {
        clearInterval(poll);
      }
      const digest = await fileDigest(tmp);
      o.progress.set(digest.bytes);
      o.progress.end();
      const m: Manifest = {
        format: 'agentbase-backup',
        formatVersion: 1,
        agentbaseVersion: o.agentbaseVersion,
        createdAt: new Date().toISOString(),
        mode: 'server',
        schema: state.schema,
        server: {
          postgresVersion: facts.serverVersion,
          serverVersionNum: facts.serverVersionNum,
          database: facts.database,
          owner: facts.owner,
          roles,
          pgDump: tool.version,
        },
        migrations: state.migrations,
        tables: state.tables,
        payload: { name: DUMP_ENTRY, ...digest },
      };
      return { manifest: m };
    });
    const bytes = await writeArchive(o.file, manifest, DUMP_ENTRY, tmp);
    return summarizeManifest(o.file, bytes, manifest);
  } finally {
    await rm(tmp, { force: true });
  }
}

export interface ServerRestoreOptions extends ServerOptions {
  force: boolean;
}

/**
 * pg_restore into a database the operator made (createdb), in one
 * transaction: a failure leaves the database as it was. Ownership is kept,
 * since some functions are deliberately owned by agentbase_auth (SECURITY
 * DEFINER lookups that must not run as the owner), so the roles the dump names
 * must exist; the two service roles are made when missing.
 */
export async function restoreServer(o: ServerRestoreOptions): Promise<RestoreReport> {
  const opened = await readArchive(o.file);
  const m = opened.manifest;
  if (m.mode !== 'server' || !m.server) {
    throw new BackupError('wrong_mode', `${o.file} is a backup of an embedded data folder: restore it with AGENTBASE_DATA_DIR set (and DATABASE_URL unset)`);
  }
  const work = await mkdtemp(join(tmpdir(), 'agentbase-restore-'));
  try {
    const dump = join(work, DUMP_ENTRY);
    o.progress.start('checking the backup', m.payload.bytes, 'bytes');
    await extractPayload(o.file, opened, dump);
    o.progress.set(m.payload.bytes);
    o.progress.end();
    const { facts, tool } = await o.db.admin.transaction(async (sql) => {
      const f = await serverFacts(sql);
      if (majorOf(f.serverVersionNum) < majorOf(m.server!.serverVersionNum)) {
        throw new BackupError('version_too_old', `the backup is of PostgreSQL ${m.server!.postgresVersion}; this server is ${f.serverVersion}: restore into PostgreSQL ${majorOf(m.server!.serverVersionNum)} or newer`);
      }
      refuseOccupied(await occupancy(sql), `database ${f.database}`, o.force);
      const t = await findPgTool('pg_restore', majorOf(f.serverVersionNum), { binDir: o.binDir, pathEnv: o.pathEnv });
      return { facts: f, tool: t };
    });
    await o.db.admin.transaction(async (sql) => {
      // Checked before anything is made, so a refused restore leaves the cluster as it was.
      const missing: string[] = [];
      for (const role of m.server!.roles) if (!SERVICE_ROLES.includes(role) && !(await roleExists(sql, role))) missing.push(role);
      if (missing.length) {
        throw new BackupError(
          'role_missing',
          `the backup's objects are owned by or granted to ${missing.map((r) => `"${r}"`).join(', ')}, which this cluster does not have: ` +
            `create ${missing.length > 1 ? 'them' : 'it'} first (CREATE ROLE ${missing[0]} ...; roles are cluster-wide and not in a dump), then restore again as a superuser or a member of ${missing.length > 1 ? 'them' : 'it'}`,
        );
      }
      await ensureServiceRoles(sql, SERVICE_ROLES);
      await grantServiceRolesToCurrentUser(sql, SERVICE_ROLES);
    });
    const conn = connectionFor(o.url);
    const list = join(work, 'restore.list');
    const items = await writeRestoreList(tool, dump, list);
    if (o.force) {
      // pg_restore --clean cannot drop a partitioned table's inherited
      // constraints; emptying the schema first, in the same transaction as the
      // restore's script, can, and a failure rolls both back.
      const psql = await findPgTool('psql', majorOf(facts.serverVersionNum), { binDir: o.binDir, pathEnv: o.pathEnv });
      const preamble = await o.db.admin.transaction((sql) => recreateSchemaScript(sql));
      o.progress.start(`restoring into ${facts.database} (replacing its contents)`, undefined, 'bytes');
      await restoreThroughPsql(tool, psql, dump, preamble, conn, (n) => o.progress.set(n), list);
      o.progress.end();
    } else {
      o.progress.start(`pg_restore into ${facts.database}`, items, 'items');
      const args = ['--exit-on-error', '--single-transaction', '--verbose', '--no-password', `--use-list=${list}`, `--dbname=${conn.dbname}`];
      await runTool(tool, [...args, dump], conn.env, (line) => {
        const item = /^pg_restore: (creating|processing|executing) (.*)$/.exec(line);
        if (item) o.progress.tick(1, item[2]!.slice(0, 60));
      });
      o.progress.end();
    }
    // The materialized views come back empty (their data is not restored): the first maintenance
    // run of `agentbase start` refreshes them, or `agentbase matviews --refresh`.
    return await verifyRestored(o.db, o.file, m, o.progress, await migrationWarnings(m));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

