import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/config.js';
import { createDatabase, createPgDriver, migrate, openDatabase, type Database } from '../../src/db/index.js';
import { createService } from '../../src/server.js';
import { TEST_SECRET } from '../helpers/app.js';
import { driver, freshDatabase, type TestDb } from '../helpers/db.js';
import { tempDir } from '../helpers/processes.js';

export interface Run {
  code: number;
  out: string;
  err: string;
}

export async function cli(argv: string[], env: Record<string, string | undefined>): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { env: { PATH: process.env.PATH, ...env }, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/**
 * Where a backup comes from and a restore goes: an embedded data folder
 * (pglite project) or a database on the test server (postgres project), with
 * the env that points the CLI at it.
 */
export interface Place {
  env: Record<string, string>;
  /** opens the database (the embedded folder's lock is taken: close before running the CLI on it) */
  open(): Promise<Database>;
  drop(): Promise<void>;
}

const SERVICE_ENV = { AGENTBASE_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', AGENTBASE_MEMORY_EMBEDDER: 'hashed' };

/** An empty place (no migrations): a new data folder, or a new database. */
export async function emptyPlace(): Promise<Place> {
  if (driver === 'pglite') {
    const dir = join(await tempDir(), 'data');
    const env = { AGENTBASE_DATA_DIR: dir };
    return { env, open: () => openDatabase(parseConfig({ ...SERVICE_ENV, ...env })), drop: async () => {} };
  }
  const t: TestDb = await freshDatabase({ migrated: false });
  return {
    env: { DATABASE_URL: t.url! },
    open: async () => createDatabase(createPgDriver({ connectionString: t.url!, max: 2 })),
    drop: () => t.drop(),
  };
}

/** A migrated place whose service the callback may use through HTTP (closed afterwards). */
export async function withService<T>(place: Place, fn: (app: FastifyInstance, db: Database) => Promise<T>): Promise<T> {
  const config = parseConfig({ ...SERVICE_ENV, ...place.env });
  const db = await (driver === 'pglite' ? openDatabase(config) : place.open());
  try {
    await migrate(db);
    const svc = await createService(config, db, false);
    try {
      return await fn(svc.app, db);
    } finally {
      await svc.close();
    }
  } finally {
    await db.close();
  }
}

/**
 * Every table's row count and a digest of its rows, computed here
 * independently of the code under test (sorted row texts, md5 of the lot), so
 * the round trip is not judged by the manifest code alone.
 */
export async function fingerprint(db: Database): Promise<Map<string, { rows: number; digest: string }>> {
  return db.admin.transaction(async (sql) => {
    await sql.query(`SELECT set_config('TimeZone', 'UTC', true), set_config('extra_float_digits', '1', true)`);
    const tables = await sql.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    );
    const out = new Map<string, { rows: number; digest: string }>();
    for (const { name } of tables.rows) {
      const r = await sql.query<{ n: number; d: string | null }>(`SELECT count(*)::int AS n, md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS d FROM "${name}" t`);
      out.set(name, { rows: r.rows[0]!.n, digest: r.rows[0]!.d ?? '' });
    }
    return out;
  });
}

export async function fingerprintOf(place: Place): Promise<Map<string, { rows: number; digest: string }>> {
  const db = await place.open();
  try {
    return await fingerprint(db);
  } finally {
    await db.close();
  }
}

export function expectOk(r: Run): void {
  expect(r.code, `exit ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`).toBe(0);
}
