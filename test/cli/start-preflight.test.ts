import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { TEST_SECRET } from '../helpers/app.js';
import { driver, freshDatabase, type TestDb } from '../helpers/db.js';
import { cleanupProcesses, tempDir } from '../helpers/processes.js';

/**
 * A start that cannot succeed is refused before it touches the database:
 * configuration and environment are checked first, so nothing is created,
 * migrated or locked by a refused start.
 */

const opened: TestDb[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) s.close();
  for (const t of opened) await t.drop();
  await cleanupProcesses();
});

async function start(env: Record<string, string>): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await runCli(['start'], { env: { LOG_LEVEL: 'silent', ...env }, out: () => {}, err: (s) => (err += s), stopSignal: Promise.resolve() });
  return { code, err };
}

async function relations(t: TestDb): Promise<number> {
  const r = await t.db.admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'public'`,
  );
  return r.rows[0]!.n;
}

function busyPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port));
    servers.push(s);
  });
}

describe.runIf(driver === 'postgres')('server mode: a refused start leaves the database untouched', () => {
  it('without AGENTBASE_SECRET: exit 1 naming it, and the database still has no tables', async () => {
    const t = await freshDatabase({ migrated: false });
    opened.push(t);
    const r = await start({ DATABASE_URL: t.url! });
    expect(r.code).toBe(1);
    expect(r.err).toContain('AGENTBASE_SECRET is required when DATABASE_URL is set');
    expect(await relations(t)).toBe(0);
  });

  it('on a port another process listens on: exit 1 naming the port, and the database still has no tables', async () => {
    const t = await freshDatabase({ migrated: false });
    opened.push(t);
    const port = await busyPort();
    const r = await start({ DATABASE_URL: t.url!, AGENTBASE_SECRET: TEST_SECRET, PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`127.0.0.1:${port} is already in use`);
    expect(await relations(t)).toBe(0);
  });
});

describe.runIf(driver === 'pglite')('embedded mode: a refused start creates no database', () => {
  it('with a stored secret that is too short', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'secret'), 'short');
    const r = await start({ AGENTBASE_DATA_DIR: dir, PORT: '0' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('shorter than 32 characters');
    expect(existsSync(join(dir, 'pgdata'))).toBe(false);
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });

  it('with AGENTBASE_SCRIPTS_DIR naming a folder that does not exist', async () => {
    const dir = await tempDir();
    const r = await start({ AGENTBASE_DATA_DIR: dir, PORT: '0', AGENTBASE_SCRIPTS_DIR: join(dir, 'no-such-folder') });
    expect(r.code).toBe(1);
    expect(r.err).toContain('AGENTBASE_SCRIPTS_DIR');
    expect(existsSync(join(dir, 'pgdata'))).toBe(false);
  });

  it('on a port another process listens on', async () => {
    const dir = await tempDir();
    const port = await busyPort();
    const r = await start({ AGENTBASE_DATA_DIR: dir, PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.err).toContain('is already in use');
    expect(existsSync(join(dir, 'pgdata'))).toBe(false);
  });
});
