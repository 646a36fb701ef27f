import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDb } from '../helpers/db.js';

/**
 * The schema against docs/scaling.md, from the catalog: tables without org_id
 * are exactly the doc's reference tables, and every unique index (primary
 * keys and unique constraints included) of a tenant table contains org_id,
 * or is in the doc's exception list with one of its reasons. The doc is the
 * one source: this file reads the lists from it.
 */

const DOC = readFileSync(new URL('../../docs/scaling.md', import.meta.url), 'utf8');

function between(name: string): string {
  const m = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)<!-- ${name}:end -->`).exec(DOC);
  if (!m) throw new Error(`docs/scaling.md has no ${name} block`);
  return m[1]!;
}

const reference = between('citus-reference')
  .split('\n')
  .filter((l) => l.startsWith('- '))
  .map((l) => /^- `([a-z_0-9]+)`: .+/.exec(l)?.[1] ?? `unparseable line: ${l}`);

interface Exception { table: string; index: string; columns: string; reason: string }
const exceptions: Exception[] = between('citus-exceptions')
  .split('\n')
  .filter((l) => l.startsWith('| ') && !l.startsWith('| table ') && !l.startsWith('| ---'))
  .map((l) => {
    const [table, index, columns, reason] = l.split('|').slice(1, -1).map((c) => c.trim());
    return { table: table!, index: index!, columns: columns!, reason: reason! };
  });
const reasons = [...DOC.matchAll(/^- \*\*([a-z-]+)\*\*: \S/gm)].map((m) => m[1]!);

let t: TestDb;
beforeAll(async () => {
  t = await freshDatabase();
});
afterAll(async () => t?.drop());

const tables = (withOrg: boolean) =>
  t.db.admin.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped) = $1
     ORDER BY 1`,
    [withOrg],
  ).then((r) => r.rows.map((x) => x.name));

interface Violation { table: string; index: string; columns: string }

/** Unique indexes (primary keys and unique constraints included) of the named tables that do not contain org_id. */
const VIOLATIONS = `
  SELECT c.relname AS "table", i.relname AS "index",
         (SELECT string_agg(a.attname, ', ' ORDER BY k.ord)
            FROM unnest(x.indkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum) AS columns
  FROM pg_class c JOIN pg_index x ON x.indrelid = c.oid AND x.indisunique JOIN pg_class i ON i.oid = x.indexrelid
  WHERE c.relname = ANY($1::text[]) AND c.relnamespace = 'public'::regnamespace
    AND NOT EXISTS (SELECT 1 FROM unnest(x.indkey) k(attnum)
                    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum WHERE a.attname = 'org_id')
  ORDER BY 1, 2`;

describe('the schema is laid out for Citus (docs/scaling.md)', () => {
  it('the doc parses: reference tables, exception rows, and the reasons they use', () => {
    expect(reference.length).toBeGreaterThan(0);
    expect(exceptions.length).toBeGreaterThan(0);
    expect(reasons).toEqual(expect.arrayContaining(['uuid-key', 'parent-unique', 'global-lookup']));
    for (const e of exceptions) expect(reasons, `${e.table}.${e.index}`).toContain(e.reason);
    expect(new Set(exceptions.map((e) => e.index)).size).toBe(exceptions.length);
  });

  it('the tables without org_id are exactly the reference tables the doc lists', async () => {
    expect((await tables(false)).sort()).toEqual([...reference].sort());
  });

  it('every unique index of a tenant table contains org_id, or is a listed exception with its columns', async () => {
    const tenant = await tables(true);
    expect(tenant.length).toBeGreaterThan(50);
    const r = await t.db.admin.query<Violation>(VIOLATIONS, [tenant]);
    const key = (e: Violation) => `${e.table} | ${e.index} | ${e.columns}`;
    expect(r.rows.map(key).sort()).toEqual(exceptions.map(key).sort());
  });

  it('the check would see a key without org_id: a unique index on id alone is found', async () => {
    // The same catalog test on a throwaway table, so a broken query cannot pass by finding nothing.
    await t.db.admin.transaction(async (sql) => {
      await sql.exec(`CREATE TABLE citus_probe (org_id uuid NOT NULL, id uuid PRIMARY KEY, slug text, UNIQUE (org_id, slug))`);
      const found = await sql.query<Violation>(VIOLATIONS, [['citus_probe']]);
      expect(found.rows).toEqual([{ table: 'citus_probe', index: 'citus_probe_pkey', columns: 'id' }]);
      await sql.exec('DROP TABLE citus_probe');
    });
  });
});
