import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { createProgress } from '../../src/ops/index.js';
import { driver, freshDatabase, type TestDb } from '../helpers/db.js';
import { cleanupProcesses, tempDir } from '../helpers/processes.js';

/** The backup commands' help, exit codes for bad arguments, and progress on a terminal versus a log. */

interface Run {
  code: number;
  out: string;
  err: string;
}
async function cli(argv: string[], env: Record<string, string | undefined>, errIsTTY = false): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { env: { PATH: process.env.PATH, ...env }, out: (s) => (out += s), err: (s) => (err += s), errIsTTY });
  return { code, out, err };
}

let env: Record<string, string>;
let dir: string;
let server: TestDb | undefined;

beforeAll(async () => {
  dir = await tempDir('agentbase-backup-cli-');
  if (driver === 'postgres') {
    server = await freshDatabase();
    env = { DATABASE_URL: server.url! };
  } else {
    env = { AGENTBASE_DATA_DIR: join(dir, 'data') };
    expect((await cli(['migrate'], env)).code).toBe(0);
  }
}, 120_000);
afterAll(async () => {
  await server?.drop();
  await cleanupProcesses();
});

describe('agentbase backup, restore, export: usage', () => {
  it('--help lists the three commands', async () => {
    const r = await cli(['--help'], {});
    expect(r.code).toBe(0);
    for (const c of ['backup', 'restore', 'export']) expect(r.out).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const restore = await cli(['restore', '--help'], {});
    expect(restore.out).toContain('--force');
    expect(restore.out).toContain('--pg-bin <dir>');
  });

  it('a missing argument is a usage error', async () => {
    expect((await cli(['backup'], env)).code).toBe(1);
    const e = await cli(['export'], env);
    expect(e.code).toBe(1);
    expect(e.err).toContain("required option '--org <id>' not specified");
  });
});

describe('progress', () => {
  it('draws a bar in place on a terminal and one line per phase otherwise', async () => {
    const tty = await cli(['backup', join(dir, 'tty.backup')], env, true);
    expect(tty.code, tty.err).toBe(0);
    expect(tty.err).toMatch(/\r\x1b\[2Kchecksums: \[#+ *\] \d+\/\d+ tables/);
    const plain = await cli(['backup', join(dir, 'plain.backup')], env, false);
    expect(plain.code, plain.err).toBe(0);
    expect(plain.err).not.toContain('\r');
    expect(plain.err).toMatch(/^checksums \(\d+ tables\)\.\.\.\nchecksums: done \(\d+ tables\)\n/);
    const json = await cli(['backup', join(dir, 'json.backup'), '--json'], env, true);
    expect(json.err).not.toContain('\r');
    expect(JSON.parse(json.out)).toMatchObject({ tables: expect.any(Number), rows: expect.any(Number), migration: expect.any(Number) });
  }, 120_000);

  it('formats byte counts and totals', () => {
    let s = '';
    const p = createProgress((x) => (s += x), false);
    p.start('pg_dump', undefined, 'bytes');
    p.set(3 * 1024 * 1024);
    p.end();
    expect(s).toBe('pg_dump...\npg_dump: done (3.0 MiB)\n');
  });
});
