import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isPgError } from './pg-errors.js';
import type { Database } from './types.js';

/**
 * Forward-only migrations: numbered plain .sql files, each applied in its own
 * transaction and recorded with a SHA-256 checksum. Every transaction first
 * takes a transaction-scoped advisory lock, so concurrent `migrate` runs queue
 * behind each other (no session state: safe behind PgBouncer), and then
 * re-checks what is applied.
 */

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const LOCK_KEY = 7_245_101; // arbitrary, constant: "agentbase migrations"
const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  sql: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const out: Migration[] = [];
  for (const file of files) {
    const m = FILE_RE.exec(file);
    if (!m) throw new MigrationError(`migration file name ${file} must look like 0001_snake_case.sql`);
    const sql = await readFile(`${dir}/${file}`, 'utf8');
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) throw new MigrationError(`two migrations share number ${m[1]}`);
    out.push({ version, name: m[2]!, checksum: createHash('sha256').update(sql).digest('hex'), sql });
  }
  return out;
}

const ENSURE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum char(64) NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer NOT NULL
)`;

interface Applied {
  version: number;
  name: string;
  checksum: string;
}

async function applied(db: Database): Promise<Applied[]> {
  const r = await db.admin.query<Applied>(
    `SELECT version, name, checksum FROM schema_migrations ORDER BY version`,
  );
  return r.rows;
}

/** Refuses edited or unknown applied migrations before applying anything. */
function checkHistory(done: Applied[], files: Migration[]): void {
  const byVersion = new Map(files.map((f) => [f.version, f]));
  for (const a of done) {
    const f = byVersion.get(a.version);
    if (!f) {
      throw new MigrationError(
        `the database has migration ${a.version} (${a.name}) that this build does not know; it was migrated by a newer agentbase`,
      );
    }
    if (f.checksum !== a.checksum.trim()) {
      throw new MigrationError(
        `migration ${String(a.version).padStart(4, '0')}_${a.name}.sql was edited after it was applied (checksum differs); migrations are never edited: add a new one instead`,
      );
    }
  }
}

export interface MigrateResult {
  applied: string[];
  current: number;
}

/**
 * Whether the database has exactly these migrations, each with its checksum,
 * found with one query: what every start but the first finds, so it costs no
 * lock and no per-file transaction. Anything else (no table yet, something
 * pending, an edited or unknown migration) takes the full path, which applies
 * or refuses as before.
 */
async function allApplied(db: Database, migrations: Migration[]): Promise<boolean> {
  let done: Applied[];
  try {
    done = await applied(db);
  } catch (err) {
    if (isPgError(err, '42P01')) return false; // undefined_table: a new database
    throw err;
  }
  return (
    done.length === migrations.length &&
    done.every((a, i) => a.version === migrations[i]!.version && a.checksum.trim() === migrations[i]!.checksum)
  );
}

export async function migrate(db: Database, files?: Migration[]): Promise<MigrateResult> {
  const migrations = files ?? (await loadMigrations());
  if (await allApplied(db, migrations)) return { applied: [], current: migrations.at(-1)?.version ?? 0 };
  await db.admin.transaction(async (sql) => {
    await sql.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await sql.query(ENSURE_TABLE);
  });
  checkHistory(await applied(db), migrations);
  const done: string[] = [];
  for (const m of migrations) {
    const ran = await db.admin.transaction(async (sql) => {
      await sql.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      const exists = await sql.query<{ checksum: string }>(
        'SELECT checksum FROM schema_migrations WHERE version = $1',
        [m.version],
      );
      if (exists.rows[0]) return false;
      const started = performance.now();
      await sql.exec(m.sql);
      await sql.query(
        'INSERT INTO schema_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)',
        [m.version, m.name, m.checksum, Math.round(performance.now() - started)],
      );
      return true;
    });
    if (ran) done.push(`${String(m.version).padStart(4, '0')}_${m.name}`);
  }
  return { applied: done, current: migrations.at(-1)?.version ?? 0 };
}

export interface MigrationStatus {
  pending: string[];
  current: number;
}

/** Used by /readyz and `agentbase migrate --status`. */
export async function migrationStatus(db: Database, files: Migration[]): Promise<MigrationStatus> {
  const exists = await db.admin.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  const done = exists.rows[0]?.t ? await applied(db) : [];
  const have = new Set(done.map((a) => a.version));
  return {
    pending: files.filter((f) => !have.has(f.version)).map((f) => `${String(f.version).padStart(4, '0')}_${f.name}`),
    current: done.at(-1)?.version ?? 0,
  };
}
