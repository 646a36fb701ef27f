import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/config.js';
import { openDatabase } from '../../src/db/index.js';
import { createService } from '../../src/server.js';
import { createTestApp, signupUser, type TestApp } from '../helpers/app.js';
import { driver } from '../helpers/db.js';
import { cleanupProcesses, tempDir } from '../helpers/processes.js';

/**
 * `agentbase admin grant|revoke|list` against the configured database: an
 * embedded data folder (PGlite) or DATABASE_URL (the postgres project).
 */

interface Run {
  code: number;
  out: string;
  err: string;
}
async function cli(argv: string[], env: Record<string, string | undefined>): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { env, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

let env: Record<string, string | undefined>;
let email: string;
let t: TestApp | undefined;

beforeAll(async () => {
  if (driver === 'postgres') {
    t = await createTestApp();
    env = { DATABASE_URL: t.url };
    email = (await signupUser(t.app)).email;
    return;
  }
  const dir = join(await tempDir(), 'data');
  env = { AGENTBASE_DATA_DIR: dir };
  expect((await cli(['migrate'], env)).code).toBe(0);
  const config = parseConfig({ AGENTBASE_DATA_DIR: dir, LOG_LEVEL: 'silent' });
  const db = await openDatabase(config);
  try {
    const svc = await createService(config, db, false);
    email = (await signupUser(svc.app)).email;
    await svc.close();
  } finally {
    await db.close();
  }
});
afterAll(async () => {
  await cleanupProcesses();
  await t?.close();
});

describe('agentbase admin', () => {
  it('--help lists grant, revoke and list', async () => {
    const r = await cli(['admin', '--help'], {});
    expect(r.code).toBe(0);
    for (const c of ['grant', 'revoke', 'list']) expect(r.out).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
  });

  it('list before any grant says so', async () => {
    expect(await cli(['admin', 'list'], env)).toMatchObject({ code: 0, out: 'no platform administrators\n', err: '' });
  });

  it('grant makes the user an admin (exit 0); again is unchanged (exit 0); list shows who and by whom', async () => {
    const g = await cli(['admin', 'grant', email, '--note', 'on call', '--by', 'alice'], env);
    expect(g).toMatchObject({ code: 0, err: '' });
    expect(g.out).toMatch(new RegExp(`^granted: ${email} \\(user [0-9a-f-]{36}\\) is a platform administrator\\n$`));
    const again = await cli(['admin', 'grant', email], { ...env, USER: 'bob' });
    expect(again).toMatchObject({ code: 0, out: `unchanged: ${email} already is a platform administrator\n` });
    const l = await cli(['admin', 'list'], env);
    expect(l.code).toBe(0);
    expect(l.out).toMatch(new RegExp(`^${email}\\t[0-9a-f-]{36}\\tgranted \\S+ by alice\\ton call\\n$`));
    const j = await cli(['admin', 'list', '--json'], env);
    expect(JSON.parse(j.out)).toEqual([expect.objectContaining({ email, grantedBy: 'alice', note: 'on call' })]);
  });

  it('an unknown email exits non-zero with a clear message and grants nothing', async () => {
    const r = await cli(['admin', 'grant', 'nobody-here@example.com'], env);
    expect(r.code).not.toBe(0);
    expect(r.err).toBe('agentbase: user with email nobody-here@example.com does not exist\n');
    expect(r.out).toBe('');
    const bad = await cli(['admin', 'revoke', 'not-an-email'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('is not an email address');
  });

  it('grant without an email is a usage error', async () => {
    const r = await cli(['admin', 'grant'], env);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("missing required argument 'email'");
  });

  it('revoke takes the rights away (exit 0); revoking again exits non-zero', async () => {
    const r = await cli(['admin', 'revoke', email, '--by', 'carol'], env);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^revoked: /);
    expect((await cli(['admin', 'list'], env)).out).toBe('no platform administrators\n');
    const again = await cli(['admin', 'revoke', email], env);
    expect(again.code).not.toBe(0);
    expect(again.err).toBe(`agentbase: ${email} is not a platform administrator\n`);
  });
});
