import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, MigrationError, migrationStatus, type Database, type Migration } from '../../src/db/index.js';
import { enableVectors } from '../../src/memory/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { driver, freshDatabase, type TestDb } from '../helpers/db.js';

/** Forward-only, checksummed migrations; the resulting schema is pinned by a snapshot per driver. */

let t: TestApp;
let files: Migration[];
const dbs: TestDb[] = [];
const tmpDirs: string[] = [];

beforeAll(async () => {
  t = await createTestApp();
  files = await loadMigrations();
});
afterAll(async () => {
  for (const d of dbs) await d.drop().catch(() => {});
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
  await t?.close();
});

async function unmigrated(): Promise<TestDb> {
  const d = await freshDatabase({ migrated: false });
  dbs.push(d);
  return d;
}

const label = (m: Migration) => `${String(m.version).padStart(4, '0')}_${m.name}`;

function extra(version: number, name: string, sql: string): Migration {
  return { version, name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
}

async function applied(db: Database): Promise<Array<{ version: number; name: string; checksum: string }>> {
  const r = await db.admin.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  return r.rows;
}

async function tableExists(db: Database, name: string): Promise<boolean> {
  const r = await db.admin.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name]);
  return r.rows[0]!.t !== null;
}

describe('loading migration files', () => {
  it('loads the numbered files in order with their SHA-256', async () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(files.slice(0, 3).map(label)).toEqual(['0001_roles_and_conventions', '0002_identity', '0003_audit']);
    const versions = files.map((f) => f.version);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    for (const f of files) expect(f.checksum).toBe(createHash('sha256').update(f.sql).digest('hex'));
  });

  it('refuses a badly named file and a duplicated number', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentbase-mig-'));
    tmpDirs.push(dir);
    await writeFile(join(dir, '0001_ok.sql'), 'SELECT 1;');
    await writeFile(join(dir, '2-Bad Name.sql'), 'SELECT 1;');
    await expect(loadMigrations(dir)).rejects.toThrow(MigrationError);
    await expect(loadMigrations(dir)).rejects.toThrow(/2-Bad Name\.sql/);
    await rm(join(dir, '2-Bad Name.sql'));
    await writeFile(join(dir, '0001_again.sql'), 'SELECT 2;');
    await expect(loadMigrations(dir)).rejects.toThrow(/share number 0001/);
  });
});

describe('migrate on a fresh database', () => {
  let d: TestDb;
  beforeAll(async () => {
    d = await unmigrated();
  });

  it('status before: everything pending, current 0', async () => {
    expect(await migrationStatus(d.db, files)).toEqual({ pending: files.map(label), current: 0 });
  });

  it('applies every migration once and records its checksum', async () => {
    const r = await migrate(d.db, files);
    expect(r).toEqual({ applied: files.map(label), current: files.at(-1)!.version });
    expect(await applied(d.db)).toEqual(files.map((f) => ({ version: f.version, name: f.name, checksum: f.checksum })));
  });

  it('a second run applies nothing', async () => {
    expect(await migrate(d.db, files)).toEqual({ applied: [], current: files.at(-1)!.version });
    expect((await applied(d.db)).length).toBe(files.length);
  });

  it('status after: nothing pending', async () => {
    expect(await migrationStatus(d.db, files)).toEqual({ pending: [], current: files.at(-1)!.version });
  });

  it('a new migration applies alone; a failing one rolls back entirely and later ones wait', async () => {
    const ok = extra(9001, 'test_extra', 'CREATE TABLE zz_extra (id int); INSERT INTO zz_extra VALUES (1);');
    const bad = extra(9002, 'test_broken', 'CREATE TABLE zz_half (id int); SELECT 1 / 0;');
    const after = extra(9003, 'test_after', 'CREATE TABLE zz_after (id int);');
    await expect(migrate(d.db, [...files, ok, bad, after])).rejects.toMatchObject({ code: '22012' });
    expect(await tableExists(d.db, 'zz_extra')).toBe(true);
    expect(await tableExists(d.db, 'zz_half')).toBe(false);
    expect(await tableExists(d.db, 'zz_after')).toBe(false);
    expect((await applied(d.db)).map((a) => a.version).slice(-1)).toEqual([9001]);
    expect(await migrationStatus(d.db, [...files, ok, bad, after])).toMatchObject({
      pending: ['9002_test_broken', '9003_test_after'],
      current: 9001,
    });
  });
});

describe('a start with every migration applied', () => {
  it('checks them with one query, no lock and no transaction', async () => {
    const calls: string[] = [];
    const counting: Database = {
      ...t.db,
      admin: {
        query: (text, params) => {
          calls.push(text);
          return t.db.admin.query(text, params);
        },
        transaction: (fn) => {
          calls.push('(transaction)');
          return t.db.admin.transaction(fn);
        },
      },
    };
    expect(await migrate(counting, files)).toEqual({ applied: [], current: files.at(-1)!.version });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/FROM schema_migrations/);
  });
});

describe('refusing a history that does not match the files', () => {
  it('an edited applied migration is refused, naming the file, and nothing is applied', async () => {
    const before = await applied(t.db);
    const edited = files.map((f) => (f.version === 2 ? extra(f.version, f.name, `${f.sql}\n-- a harmless-looking edit\n`) : f));
    const pending = extra(9101, 'would_apply', 'CREATE TABLE zz_never (id int);');
    const err = await migrate(t.db, [...edited, pending]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toMatch(/0002_identity\.sql was edited after it was applied/);
    expect(await applied(t.db)).toEqual(before);
    expect(await tableExists(t.db, 'zz_never')).toBe(false);
  });

  it('a migration the files do not know (applied by a newer build) is refused and nothing is applied', async () => {
    const before = await applied(t.db);
    const older = files.slice(0, -1);
    const last = files.at(-1)!;
    const err = await migrate(t.db, [...older, extra(9102, 'would_apply', 'CREATE TABLE zz_never2 (id int);')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toContain(`migration ${last.version} (${last.name})`);
    expect((err as Error).message).toMatch(/newer agentbase/);
    expect(await applied(t.db)).toEqual(before);
    expect(await tableExists(t.db, 'zz_never2')).toBe(false);
  });
});

describe.runIf(driver === 'postgres')('concurrent migrate (server PostgreSQL)', () => {
  it('two connections migrating one un-migrated database both succeed and apply each migration once', async () => {
    const d = await unmigrated();
    const other = await d.reopen();
    const [r1, r2] = await Promise.all([migrate(d.db, files), migrate(other, files)]);
    expect([...r1.applied, ...r2.applied].sort()).toEqual(files.map(label));
    expect(r1.current).toBe(files.at(-1)!.version);
    expect(r2.current).toBe(files.at(-1)!.version);
    const rows = await applied(d.db);
    expect(rows.map((r) => r.version)).toEqual(files.map((f) => f.version));
  });

  it('two databases in one cluster migrate at the same time (cluster-wide roles tolerate a concurrent creator)', async () => {
    const [x, y] = await Promise.all([unmigrated(), unmigrated()]);
    const [rx, ry] = await Promise.all([migrate(x.db, files), migrate(y.db, files)]);
    expect(rx.applied).toEqual(files.map(label));
    expect(ry.applied).toEqual(files.map(label));
  });
});

/** A stable text description of the schema: no partitions (their names follow the clock), no OIDs. */
async function describeSchema(db: Database): Promise<string> {
  const q = async (title: string, sql: string): Promise<string> => {
    const r = await db.admin.query<{ line: string }>(sql);
    return `## ${title}\n${r.rows.map((x) => x.line).join('\n')}\n`;
  };
  const tables = `SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`;
  const parts = await Promise.all([
    q('tables', `SELECT c.relname || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
      || coalesce(' partition by ' || pg_get_partkeydef(c.oid), '') || ' owner_is_app=' || (c.relowner = 'agentbase_app'::regrole) AS line
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`),
    q('columns', `SELECT t.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
      || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
      || coalesce(CASE WHEN a.attgenerated = 's' THEN ' generated ' ELSE ' default ' END || pg_get_expr(d.adbin, d.adrelid), '') AS line
      FROM (${tables}) t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      ORDER BY t.relname, a.attnum`),
    q('indexes', `SELECT i.indexname || ': ' || i.indexdef AS line FROM pg_indexes i JOIN (${tables}) t ON t.relname = i.tablename
      WHERE i.schemaname = 'public' ORDER BY i.tablename, i.indexname`),
    q('constraints', `SELECT t.relname || '.' || c.conname || ' ' || c.contype::text || ': ' || pg_get_constraintdef(c.oid) AS line
      FROM pg_constraint c JOIN (${tables}) t ON t.oid = c.conrelid WHERE c.contype <> 'n' ORDER BY t.relname, c.conname`),
    q('policies', `SELECT p.tablename || '.' || p.policyname || ' ' || p.cmd || ' to ' || array_to_string(p.roles, ',')
      || coalesce(' using ' || p.qual, '') || coalesce(' check ' || p.with_check, '') AS line
      FROM pg_policies p WHERE p.schemaname = 'public' ORDER BY p.tablename, p.policyname`),
    q('triggers', `SELECT t.relname || '.' || g.tgname || ': ' || pg_get_triggerdef(g.oid) AS line
      FROM pg_trigger g JOIN (${tables}) t ON t.oid = g.tgrelid WHERE NOT g.tgisinternal ORDER BY t.relname, g.tgname`),
    q('functions', `SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') owner=' || pg_get_userbyid(p.proowner)
      || ' returns ' || pg_get_function_result(p.oid) || CASE WHEN p.prosecdef THEN ' security definer' ELSE '' END AS line
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
        -- an extension's own functions (pgvector's) are its business, not our schema's
        AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
      ORDER BY 1`),
    q('grants', `SELECT g.grantee || ' ' || g.privilege_type || ' on ' || g.table_name AS line
      FROM information_schema.role_table_grants g JOIN (${tables}) t ON t.relname = g.table_name
      WHERE g.table_schema = 'public' AND g.grantee IN ('agentbase_app', 'agentbase_auth') ORDER BY g.grantee, g.table_name, g.privilege_type`),
  ]);
  // The owner's name differs between installations; the function owners that matter are the agentbase roles.
  const owner = (await db.admin.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  return parts.join('\n').replaceAll(`owner=${owner}`, 'owner=<migrator>');
}

describe('the schema', () => {
  it(`matches the snapshot for ${driver} (update with vitest -u when a migration changes it on purpose)`, async () => {
    const text = await describeSchema(t.db);
    expect(text).not.toMatch(/_p\d{6}/); // no month-named partitions
    expect(text).not.toMatch(/pg_toast|RI_ConstraintTrigger/); // nothing internal, nothing named by OID
    await expect(text).toMatchFileSnapshot(`./__snapshots__/schema.${driver}.txt`);
  });

  it('is the same on a database migrated from scratch', async () => {
    const d = await unmigrated();
    await migrate(d.db, files);
    await enableVectors(d.db, { vectors: 'auto' }); // as the service does at start-up
    expect(await describeSchema(d.db)).toBe(await describeSchema(t.db));
  });
});
