import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDb } from '../helpers/db.js';

/**
 * Behind PgBouncer in transaction pooling every transaction may run on another
 * server connection, so the service must keep no state in the session. The
 * `pgbouncer` project runs the HTTP suite that way (vitest.config.ts); this
 * file checks the premise: nothing in the code asks for session state, the
 * seam's settings end with their transaction, and the project really is pooled.
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const pooled = process.env.AGENTBASE_TEST_POOLER === 'pgbouncer';

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

/** What keeps state in a server session, with why it breaks behind a transaction pooler. */
const SESSION_STATE: { re: RegExp; why: string }[] = [
  { re: /pg_(try_)?advisory_lock(_shared)?\s*\(/i, why: 'a session advisory lock outlives the transaction on a connection another client gets next; use pg_advisory_xact_lock' },
  { re: /\bLISTEN\s+[a-z_"]/i, why: 'LISTEN needs a session; use the direct URL (docs/scaling.md)' },
  { re: /set_config\([^)]*,\s*false\s*\)/i, why: 'a session-wide setting leaks to the next client; pass true (transaction-local)' },
  // Upper case only: the codebase writes SQL keywords in capitals, and prose says "set … to".
  { re: /(^|[`'";]\s*)SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)[a-z_.]+\s*(=|TO\b)/m, why: 'SET without LOCAL is session-wide; use SET LOCAL or set_config(…, true)' },
  { re: /CREATE\s+(GLOBAL\s+|LOCAL\s+)?TEMP(ORARY)?\s+TABLE/i, why: 'a temp table lives in the session' },
  { re: /WITH\s+HOLD/i, why: 'a holdable cursor lives in the session' },
  { re: /\bPREPARE\s+[a-z_]+\s+(\(|AS\b)/i, why: 'a prepared statement lives in the session' },
  { re: /\bname:\s*['"`][^'"`]+['"`]\s*,\s*text:/, why: 'a named prepared statement (node-postgres `name:`) lives in the session' },
];

describe('no session state (PgBouncer transaction pooling)', () => {
  it('the service code and migrations ask for none', () => {
    const found: string[] = [];
    const sources = [...files(join(ROOT, 'src'), '.ts'), ...files(join(ROOT, 'migrations'), '.sql')];
    expect(sources.length).toBeGreaterThan(50);
    for (const f of sources) {
      // SQL comments may talk about these; only code counts.
      const text = readFileSync(f, 'utf8').replace(/^\s*(--|\/\/|\*).*$/gm, '');
      for (const { re, why } of SESSION_STATE) {
        const m = re.exec(text);
        if (m) found.push(`${relative(ROOT, f)}: "${m[0].trim()}": ${why}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('the patterns catch what they are for', () => {
    const caught = (s: string) => SESSION_STATE.some(({ re }) => re.test(s));
    for (const bad of ["SELECT pg_advisory_lock(1)", "LISTEN jobs", "SELECT set_config('app.org_id', $1, false)", "`SET search_path = x`", "'SET statement_timeout TO 5'",
      'CREATE TEMP TABLE t (a int)', 'DECLARE c CURSOR WITH HOLD FOR SELECT 1', 'PREPARE q AS SELECT 1', "{ name: 'q1', text: 'SELECT 1' }"]) {
      expect(caught(bad), bad).toBe(true);
    }
    for (const ok of ["SELECT pg_advisory_xact_lock(1)", "SELECT set_config('role', 'x', true)", "'SET LOCAL lock_timeout = 5'", "UPDATE jobs\n  SET status = 'dead'",
      "'SET TRANSACTION READ ONLY; SELECT 1'"]) {
      expect(caught(ok), ok).toBe(false);
    }
  });
});

describe('the seam\'s settings end with their transaction', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDatabase();
  });
  afterAll(async () => t?.drop());

  it('role, tenant and read-only are gone on the next statement of any connection', async () => {
    const org = '0190a5b2-0000-7000-8000-000000000001';
    const inside = await t.db.tenant(org, async (sql) => (await sql.query<{ u: string; o: string }>(`SELECT current_user AS u, current_setting('app.org_id') AS o`)).rows[0]);
    expect(inside).toEqual({ u: 'agentbase_app', o: org });
    const ro = await t.db.tenantRead(org, async (sql) => (await sql.query<{ ro: string }>(`SELECT current_setting('transaction_read_only') AS ro`)).rows[0]!.ro);
    expect(ro).toBe('on');
    // Whatever connection serves these next, none carries the settings on.
    for (let i = 0; i < 10; i++) {
      const after = (await t.db.admin.query<{ u: string; o: string | null; ro: string }>(
        `SELECT current_user AS u, current_setting('app.org_id', true) AS o, current_setting('transaction_read_only') AS ro`,
      )).rows[0]!;
      expect(after.u).not.toBe('agentbase_app');
      expect(after.o ?? '').toBe('');
      expect(after.ro).toBe('off');
    }
  });

  it.skipIf(!pooled)('in the pgbouncer project the test database is reached through PgBouncer in transaction mode', async () => {
    const url = new URL(t.url!);
    const direct = new URL(process.env.TEST_DATABASE_URL!);
    expect(url.port).not.toBe(direct.port || '5432');
    const admin = new pg.Client({ connectionString: (() => {
      url.pathname = '/pgbouncer';
      return url.toString();
    })() });
    await admin.connect();
    try {
      const config = (await admin.query('SHOW CONFIG')).rows as { key: string; value: string }[];
      expect(config.find((r) => r.key === 'pool_mode')?.value).toBe('transaction');
      const pools = (await admin.query('SHOW POOLS')).rows as { database: string }[];
      expect(pools.map((p) => p.database)).toContain(new URL(t.url!).pathname.slice(1));
    } finally {
      await admin.end();
    }
  });
});
