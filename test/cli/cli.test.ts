import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/config.js';
import { loadMigrations, openDatabase, type Database } from '../../src/db/index.js';
import { createService } from '../../src/server.js';
import { createTestApp, signupUser, type TestApp } from '../helpers/app.js';
import { driver } from '../helpers/db.js';
import { cleanupProcesses, PROCESS_TIMEOUT, spawnCli, tempDir, waitForOutput } from '../helpers/processes.js';

/**
 * The agentbase CLI, in-process through runCli (exit codes and output), and as
 * real processes for the one thing only processes can show: a second process
 * is refused the embedded data folder while another holds it.
 */

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await cleanupProcesses();
  await t?.close();
});

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { env, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('help and usage errors', () => {
  it('--help lists every command and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['start', 'migrate', 'audit', 'partitions', 'matviews']) expect(r.out).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });

  it('migrate --help and audit verify --help describe their options', async () => {
    const m = await cli(['migrate', '--help']);
    expect(m.code).toBe(0);
    expect(m.out).toContain('--status');
    const a = await cli(['audit', 'verify', '--help']);
    expect(a.code).toBe(0);
    expect(a.out).toContain('--org <id>');
    expect(a.out).toContain('--json');
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r).toMatchObject({ code: 0, out: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  });

  it('an unknown command exits non-zero, names it and shows the usage', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("unknown command 'frobnicate'");
    expect(r.err).toContain('Usage: agentbase');
  });

  it('an unknown option exits non-zero and names it', async () => {
    const r = await cli(['migrate', '--force']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("unknown option '--force'");
  });
});

describe('bad configuration', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ AGENTBASE_SECRET: 'short' }, 'AGENTBASE_SECRET'],
  ])('%j → exit 1 naming the variable, before touching the data folder', async (env, name) => {
    const dir = join(await tempDir(), 'data');
    const r = await cli(['migrate'], { AGENTBASE_DATA_DIR: dir, ...env });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^agentbase: invalid configuration:/);
    expect(r.err).toContain(`${name}:`);
    expect(r.out).toBe('');
    expect(existsSync(dir)).toBe(false);
  });
});

describe('commands on an embedded data folder', () => {
  let dir: string;
  let files: number;
  beforeAll(async () => {
    dir = await tempDir();
    files = (await loadMigrations()).length;
  });

  it('migrate --status before anything: every migration pending, exit 1', async () => {
    // No template: the folder is made by initdb alone, so the migrations are left for `migrate` (a new
    // folder made from the template comes migrated: test/cli/template-start.test.ts).
    const r = await cli(['migrate', '--status'], { AGENTBASE_DATA_DIR: dir, AGENTBASE_EMBEDDED_TEMPLATE: 'none' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^current: 0\npending: 0001_roles_and_conventions, 0002_identity, 0003_audit/);
  });

  it('migrate applies every migration and creates partitions', async () => {
    const r = await cli(['migrate'], { AGENTBASE_DATA_DIR: dir });
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^applied: 0001_roles_and_conventions, 0002_identity, 0003_audit\b.*; at migration \d+; partitions created: \d+\n$/);
    expect(r.out.split(', ').length).toBeGreaterThanOrEqual(files);
  });

  it('migrate --status then says pending none; migrate again applies nothing', async () => {
    const s = await cli(['migrate', '--status'], { AGENTBASE_DATA_DIR: dir });
    expect(s).toMatchObject({ code: 0, err: '' });
    expect(s.out).toMatch(/^current: \d+\npending: none\n$/);
    const again = await cli(['migrate'], { AGENTBASE_DATA_DIR: dir });
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^nothing to apply; at migration \d+; partitions created: 0\n$/);
  });

  it('audit verify exits 0 on the folder; --org with an unknown organization reports an empty, intact chain', async () => {
    const all = await cli(['audit', 'verify'], { AGENTBASE_DATA_DIR: dir });
    expect(all).toMatchObject({ code: 0, err: '' });
    const id = randomUUID();
    const one = await cli(['audit', 'verify', '--org', id, '--json'], { AGENTBASE_DATA_DIR: dir });
    expect(one.code).toBe(0);
    expect(JSON.parse(one.out)).toEqual([{ orgId: id, ok: true, rowsChecked: 0, lastSeq: 0, firstBreak: null }]);
  });

  it('audit verify exits 0 and reports each organization once it has audit rows', async () => {
    const config = parseConfig({ AGENTBASE_DATA_DIR: dir, LOG_LEVEL: 'silent' });
    const db = await openDatabase(config);
    let orgId: string;
    try {
      const svc = await createService(config, db, false);
      const u = await signupUser(svc.app);
      orgId = u.orgId;
      const key = await svc.app.inject({ method: 'POST', url: '/v1/api-keys', headers: u.auth, payload: { name: 'cli', scopes: ['*'] } });
      expect(key.statusCode).toBe(201);
      await svc.close();
    } finally {
      await db.close();
    }
    const r = await cli(['audit', 'verify'], { AGENTBASE_DATA_DIR: dir });
    expect(r).toMatchObject({ code: 0, err: '' });
    // The system organization (migration 0027: jobs that belong to no tenant) has an empty chain.
    expect(r.out).toBe(`ok    org 00000000-0000-0000-0000-00000000a9e7: 0 rows, chain intact\nok    org ${orgId}: 3 rows, chain intact\n`);
  });

  it('audit verify --org not-a-uuid exits 2 without opening the database', async () => {
    const r = await cli(['audit', 'verify', '--org', 'not-a-uuid'], { AGENTBASE_DATA_DIR: join(dir, 'never-created') });
    expect(r.code).toBe(2);
    expect(r.err).toContain('--org must be an organization id (a UUID), got "not-a-uuid"');
    expect(existsSync(join(dir, 'never-created'))).toBe(false);
  });

  it('partitions creates nothing right after migrate and drops nothing', async () => {
    const r = await cli(['partitions'], { AGENTBASE_DATA_DIR: dir });
    expect(r).toMatchObject({ code: 0, out: 'partitions created: 0, dropped: 0; ingestion keys pruned: 0; finished jobs pruned: 0; expired memories purged: 0\n' });
  });

  it('matviews says when each view was refreshed; --refresh refreshes them (plain the first time, concurrently after)', async () => {
    const before = await cli(['matviews'], { AGENTBASE_DATA_DIR: dir });
    expect(before).toMatchObject({ code: 0, err: '' });
    expect(before.out).toMatch(/^mv_agent_daily_costs\tnever refreshed\tSTALE\n/);
    const first = await cli(['matviews', '--refresh', '--json'], { AGENTBASE_DATA_DIR: dir });
    expect(first).toMatchObject({ code: 0, err: '' });
    const j = JSON.parse(first.out) as { refreshed: Array<{ status: string; concurrent: boolean }>; status: Array<{ stale: boolean; populated: boolean }> };
    expect(j.refreshed.map((r) => [r.status, r.concurrent])).toEqual(j.refreshed.map(() => ['refreshed', false]));
    expect(j.status.every((s) => s.populated && !s.stale)).toBe(true);
    const again = await cli(['matviews', '--refresh'], { AGENTBASE_DATA_DIR: dir });
    expect(again).toMatchObject({ code: 0, err: '' });
    expect(again.out).toMatch(/^mv_agent_daily_costs\trefreshed \d+ s ago in [\d.]+ ms, \d+ rows \(concurrently\)\n/);
  });
});

describe.runIf(driver === 'postgres')('commands against server PostgreSQL (DATABASE_URL)', () => {
  it('migrate --status on the test database says pending none', async () => {
    const r = await cli(['migrate', '--status'], { DATABASE_URL: t.url });
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('pending: none');
  });
});

// ---------------------------------------------------------------- real processes

async function probeRows(db: Database): Promise<string[]> {
  const r = await db.admin.query<{ v: string }>('SELECT v FROM lock_probe ORDER BY n');
  return r.rows.map((x) => x.v);
}

describe.runIf(driver === 'pglite')('one process per embedded data folder', () => {
  it(
    'a second process is refused while the folder is open here, and nothing written here is lost',
    async () => {
      const dir = await tempDir();
      // No template: the folder must start without schema_migrations (see below).
      const config = parseConfig({ AGENTBASE_DATA_DIR: dir, AGENTBASE_EMBEDDED_TEMPLATE: 'none' });
      let db = await openDatabase(config);
      try {
        await db.admin.query('CREATE TABLE lock_probe (n serial PRIMARY KEY, v text NOT NULL)');
        await db.admin.query(`INSERT INTO lock_probe (v) VALUES ('before')`);

        const refused = await spawnCli(['migrate'], dir).done;
        expect(refused.code).not.toBe(0);
        expect(refused.err).toContain('in use by another agentbase process');
        expect(refused.err).toContain(`(pid ${process.pid})`);

        await db.admin.query(`INSERT INTO lock_probe (v) VALUES ('after')`);
        expect(await probeRows(db)).toEqual(['before', 'after']);
        // The refused process never migrated this folder.
        const m = await db.admin.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
        expect(m.rows[0]!.t).toBeNull();
      } finally {
        await db.close();
      }

      // Reopened, both rows are there: the other process wrote nothing over them.
      db = await openDatabase(config);
      try {
        expect(await probeRows(db)).toEqual(['before', 'after']);
      } finally {
        await db.close();
      }

      // Once closed here, the same command succeeds.
      const ok = await spawnCli(['migrate'], dir).done;
      expect(ok.err).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.out).toMatch(/^applied: 0001_roles_and_conventions/);

      db = await openDatabase(config);
      try {
        expect(await probeRows(db)).toEqual(['before', 'after']);
        const n = await db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
        expect(n.rows[0]!.n).toBe((await loadMigrations()).length);
      } finally {
        await db.close();
      }
    },
    PROCESS_TIMEOUT,
  );

  it(
    'a second `start` on the same folder is refused; the first serves, stops cleanly on SIGTERM and releases the folder',
    async () => {
      const dir = await tempDir();
      const first = spawnCli(['start'], dir, { PORT: '0' });
      const [, url] = await waitForOutput(first.child, /listening on (http:\/\/\S+) \(pglite\)/);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);

      const second = await spawnCli(['start'], dir, { PORT: '0' }).done;
      expect(second.code).not.toBe(0);
      expect(second.err).toContain('in use by another agentbase process');
      expect(second.err).toContain(`(pid ${first.child.pid})`);
      expect(second.out).not.toContain('listening');

      // The first one is unaffected.
      expect((await fetch(`${url}/readyz`)).status).toBe(200);

      first.child.kill('SIGTERM');
      const stopped = await first.done;
      expect(stopped).toMatchObject({ code: 0, signal: null });

      const after = await spawnCli(['migrate', '--status'], dir).done;
      expect(after.err).toBe('');
      expect(after.out).toContain('pending: none');
      expect(after.code).toBe(0);
    },
    PROCESS_TIMEOUT,
  );
});
