import type { Sql } from '../../db/index.js';
import { appliedMigrations, deterministicSession, listTables, tableStats, type AppliedMigration } from './catalog-repo.js';
import type { Progress } from './progress.js';

export interface TableEntry {
  name: string;
  rows: number;
  checksum: string;
}

/** What a backup holds, written as manifest.json at the front of the file. */
export interface Manifest {
  format: 'agentbase-backup';
  formatVersion: 1;
  agentbaseVersion: string;
  createdAt: string;
  mode: 'server' | 'embedded';
  /** the schema the migrations ran in (its tables are the ones counted) */
  schema: string;
  server?: {
    postgresVersion: string;
    serverVersionNum: number;
    database: string;
    /** the role that owns the objects; it must exist where the backup is restored */
    owner: string;
    /** the cluster-wide roles the dump's grants and ownerships name */
    roles: string[];
    pgDump: string;
  };
  embedded?: {
    /** a data folder is read only by the PGlite version that wrote it */
    pglite: string;
  };
  migrations: AppliedMigration[];
  tables: TableEntry[];
  payload: { name: string; bytes: number; sha256: string };
}

export interface DatabaseState {
  schema: string;
  migrations: AppliedMigration[];
  tables: TableEntry[];
}

/**
 * Counts and checksums every table. Must run inside a transaction (the caller
 * makes it a repeatable-read one when others may write), since it sets
 * transaction-local settings.
 */
export async function readState(sql: Sql, progress?: Progress): Promise<DatabaseState> {
  await deterministicSession(sql);
  const schema = (await sql.query<{ s: string }>(`SELECT current_schema() AS s`)).rows[0]!.s;
  const migrations = await appliedMigrations(sql);
  const infos = await listTables(sql);
  progress?.start('checksums', infos.length, 'tables');
  const tables: TableEntry[] = [];
  for (const t of infos) {
    tables.push({ name: t.name, ...(await tableStats(sql, t.name)) });
    progress?.tick(1, t.name);
  }
  progress?.end();
  return { schema, migrations, tables };
}

export interface Mismatch {
  what: string;
  expected: string;
  actual: string;
}

/** Every difference between what the manifest promised and what the database holds. */
export function compareState(manifest: Pick<Manifest, 'migrations' | 'tables'>, actual: DatabaseState): Mismatch[] {
  const out: Mismatch[] = [];
  const mig = (ms: AppliedMigration[]) => ms.map((m) => `${m.version}:${m.name}:${m.checksum}`).join(',');
  if (mig(manifest.migrations) !== mig(actual.migrations)) {
    out.push({
      what: 'migrations',
      expected: manifest.migrations.map((m) => m.version).join(',') || 'none',
      actual: actual.migrations.map((m) => m.version).join(',') || 'none',
    });
  }
  const have = new Map(actual.tables.map((t) => [t.name, t]));
  for (const t of manifest.tables) {
    const a = have.get(t.name);
    if (!a) out.push({ what: `table ${t.name}`, expected: `${t.rows} rows`, actual: 'missing' });
    else if (a.rows !== t.rows) out.push({ what: `table ${t.name} rows`, expected: String(t.rows), actual: String(a.rows) });
    else if (a.checksum !== t.checksum) out.push({ what: `table ${t.name} checksum`, expected: t.checksum, actual: a.checksum });
    have.delete(t.name);
  }
  for (const extra of have.values()) out.push({ what: `table ${extra.name}`, expected: 'absent', actual: `present (${extra.rows} rows)` });
  return out;
}
