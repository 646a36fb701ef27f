import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDatabase, createPgDriver, createPgliteDriver, migrate, type Database } from '../../src/db/index.js';

export type Driver = 'pglite' | 'postgres';
export const driver: Driver = process.env.AGENTBASE_TEST_DRIVER === 'postgres' ? 'postgres' : 'pglite';

export interface TestDb {
  db: Database;
  /** a postgres:// URL for this database (server driver only) */
  url: string | undefined;
  /** open another, independent connection to the same database */
  reopen(): Promise<Database>;
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  return url;
}

export function databaseUrl(name: string): string {
  const u = new URL(serverUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * The URL the service under test uses: the server's, or, in the `pgbouncer`
 * project, PgBouncer's in transaction pooling (CREATE/DROP DATABASE still go
 * direct: they cannot run through a pooler's transaction).
 */
export function pooledUrl(name: string): string {
  if (process.env.AGENTBASE_TEST_POOLER !== 'pgbouncer') return databaseUrl(name);
  const u = new URL(inject('pgbouncerUrl'));
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh database: in-memory PGlite, or a new database on the test server. */
export async function freshDatabase(opts: { migrated?: boolean } = {}): Promise<TestDb> {
  const migrated = opts.migrated ?? true;
  if (driver === 'pglite') {
    const db = createDatabase(await createPgliteDriver());
    if (migrated) await migrate(db);
    return { db, url: undefined, reopen: () => Promise.reject(new Error('PGlite in memory has one connection')), drop: () => db.close() };
  }
  const name = `agentbase_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = pooledUrl(name);
  const opened: Database[] = [];
  const open = async () => {
    const d = createDatabase(createPgDriver({ connectionString: url, max: 5 }));
    opened.push(d);
    return d;
  };
  const db = await open();
  if (migrated) await migrate(db);
  return {
    db,
    url,
    reopen: open,
    async drop() {
      for (const d of opened) await d.close().catch(() => {});
      const c = new pg.Client({ connectionString: serverUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
