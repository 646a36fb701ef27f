import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config/config.js';
import { resolveSecret } from '../src/config/secret.js';

const SECRET = 'a-secret-that-is-long-enough-0123456789';
const PG_URL = 'postgres://agentbase@db.internal:5432/agentbase';

/** The ConfigError thrown by fn; fails the test if it does not throw one. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

async function configErrorAsync(p: Promise<unknown>): Promise<ConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('parseConfig', () => {
  it('defaults to 127.0.0.1:4100 in embedded mode with ./.agentbase', () => {
    const c = parseConfig({});
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.http.port).toBe(4100);
    expect(c.database).toEqual({ mode: 'embedded', dataDir: './.agentbase', sharedBuffersMb: 16, wasmTierUp: false });
    expect(c.dataDir).toBe('./.agentbase');
    expect(c.secret).toBeUndefined();
    expect(c.http.bodyLimit).toBe(1_048_576);
    expect(c.logLevel).toBe('info');
  });

  it('switches to server mode when DATABASE_URL is set', () => {
    const c = parseConfig({ DATABASE_URL: PG_URL, DATABASE_POOL_MAX: '25' });
    expect(c.database).toEqual({
      mode: 'server', url: PG_URL, poolMax: 25,
      replicas: { urls: [], maxLagMs: 5000, readYourWritesMs: 2000, sampleIntervalMs: 2000 },
    });
    expect(parseConfig({ DATABASE_URL: 'postgresql://h/db' }).database.mode).toBe('server');
  });


  it('reads the replica URLs and says what is wrong with them', () => {
    const c = parseConfig({ DATABASE_URL: PG_URL, DATABASE_REPLICA_URLS: ' postgres://r1/db , postgresql://r2/db,', AGENTBASE_REPLICA_MAX_LAG_MS: '750' });
    expect(c.database.mode === 'server' && c.database.replicas).toMatchObject({ urls: ['postgres://r1/db', 'postgresql://r2/db'], maxLagMs: 750 });
    expect(() => parseConfig({ DATABASE_URL: PG_URL, DATABASE_REPLICA_URLS: 'postgres://r1/db,mysql://u:secret@r2/db' })).toThrow(/DATABASE_REPLICA_URLS: "mysql:\/\/u:\*\*\*@r2\/db" is not a postgres:\/\/ URL/);
    expect(() => parseConfig({ DATABASE_REPLICA_URLS: 'postgres://r1/db' })).toThrow(/DATABASE_REPLICA_URLS: read replicas need a primary; set DATABASE_URL/);
    expect(() => parseConfig({ DATABASE_URL: PG_URL, AGENTBASE_REPLICA_MAX_LAG_MS: '0' })).toThrow(/AGENTBASE_REPLICA_MAX_LAG_MS/);
  });

  it('reads numbers and strings from their variables', () => {
    const c = parseConfig({
      HOST: '0.0.0.0',
      PORT: '8080',
      AGENTBASE_DATA_DIR: '/var/lib/agentbase',
      AGENTBASE_SECRET: SECRET,
      BODY_LIMIT_BYTES: '2048',
      LOG_LEVEL: 'warn',
      ACCESS_TOKEN_TTL_SECONDS: '60',
    });
    expect(c.http).toEqual({ host: '0.0.0.0', port: 8080, bodyLimit: 2048, requestTimeoutMs: 60_000 });
    expect(c.database).toEqual({ mode: 'embedded', dataDir: '/var/lib/agentbase', sharedBuffersMb: 16, wasmTierUp: false });
    expect(c.secret).toBe(SECRET);
    expect(c.logLevel).toBe('warn');
    expect(c.auth.accessTokenTtl).toBe(60);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://x'],
    ['AGENTBASE_SECRET', 'too-short'],
    ['LOG_LEVEL', 'verbose'],
    ['BODY_LIMIT_BYTES', '10'],
  ])('refuses %s=%s with a ConfigError naming the variable', (name, value) => {
    const e = configError(() => parseConfig({ [name]: value }));
    expect(e.name).toBe('ConfigError');
    expect(e.message).toContain(name);
  });

  it('names every bad variable at once', () => {
    const e = configError(() => parseConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x', AGENTBASE_SECRET: 'short' }));
    for (const name of ['PORT', 'DATABASE_URL', 'AGENTBASE_SECRET']) expect(e.message).toContain(name);
  });

  it('does not echo the rejected secret in the error', () => {
    const e = configError(() => parseConfig({ AGENTBASE_SECRET: 'hunter2-short' }));
    expect(e.message).not.toContain('hunter2-short');
  });

  it('reads the embedded database settings: shared_buffers, wasm tier-up, the template', () => {
    const c = parseConfig({
      AGENTBASE_EMBEDDED_SHARED_BUFFERS_MB: '64',
      AGENTBASE_EMBEDDED_WASM_TIER_UP: 'true',
      AGENTBASE_EMBEDDED_TEMPLATE: '/opt/agentbase/template',
    });
    expect(c.database).toEqual({
      mode: 'embedded',
      dataDir: './.agentbase',
      sharedBuffersMb: 64,
      wasmTierUp: true,
      template: '/opt/agentbase/template',
    });
    expect(parseConfig({ AGENTBASE_EMBEDDED_TEMPLATE: 'none' }).database).toMatchObject({ template: false });
    for (const [name, value] of [
      ['AGENTBASE_EMBEDDED_SHARED_BUFFERS_MB', '0'],
      ['AGENTBASE_EMBEDDED_SHARED_BUFFERS_MB', '16MB'],
      ['AGENTBASE_EMBEDDED_WASM_TIER_UP', 'yes'],
    ]) {
      expect(configError(() => parseConfig({ [name!]: value })).message).toContain(name);
    }
  });

  it('treats empty strings as unset', () => {
    const c = parseConfig({ DATABASE_URL: '', PORT: '', HOST: '', AGENTBASE_SECRET: '', AGENTBASE_DATA_DIR: '' });
    expect(c.database).toEqual({ mode: 'embedded', dataDir: './.agentbase', sharedBuffersMb: 16, wasmTierUp: false });
    expect(c.http.port).toBe(4100);
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.secret).toBeUndefined();
  });

  it('ignores variables it does not know', () => {
    expect(() => parseConfig({ PATH: '/usr/bin', SOMETHING_ELSE: 'x' })).not.toThrow();
  });
});

describe('resolveSecret', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'agentbase-config-test-'));
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('generates a secret in embedded mode, stores it with mode 0600 and returns it again', async () => {
    const dir = join(root, 'data-a', 'nested');
    const config = parseConfig({ AGENTBASE_DATA_DIR: dir });
    const first = await resolveSecret(config);
    expect(first.length).toBeGreaterThanOrEqual(32);

    const file = join(dir, 'secret');
    expect((await readFile(file, 'utf8')).trim()).toBe(first);
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);

    expect(await resolveSecret(config)).toBe(first);
    expect(await resolveSecret(parseConfig({ AGENTBASE_DATA_DIR: dir }))).toBe(first);
  });

  it('gives different data folders different secrets', async () => {
    const a = await resolveSecret(parseConfig({ AGENTBASE_DATA_DIR: join(root, 'data-b') }));
    const b = await resolveSecret(parseConfig({ AGENTBASE_DATA_DIR: join(root, 'data-c') }));
    expect(a).not.toBe(b);
  });

  it('agrees on one secret when two callers race on a new data folder', async () => {
    const config = parseConfig({ AGENTBASE_DATA_DIR: join(root, 'data-race') });
    const all = await Promise.all(Array.from({ length: 5 }, () => resolveSecret(config)));
    expect(new Set(all).size).toBe(1);
    expect(all[0]!.length).toBeGreaterThanOrEqual(32);
  });

  it('prefers AGENTBASE_SECRET and then writes nothing', async () => {
    const dir = join(root, 'data-given');
    expect(await resolveSecret(parseConfig({ AGENTBASE_DATA_DIR: dir, AGENTBASE_SECRET: SECRET }))).toBe(SECRET);
    await expect(stat(join(dir, 'secret'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a stored secret that is too short', async () => {
    const dir = join(root, 'data-short');
    await resolveSecret(parseConfig({ AGENTBASE_DATA_DIR: dir }));
    await writeFile(join(dir, 'secret'), 'short');
    const e = await configErrorAsync(resolveSecret(parseConfig({ AGENTBASE_DATA_DIR: dir })));
    expect(e.message).toContain('32');
  });

  it('refuses server mode without AGENTBASE_SECRET with a ConfigError naming it', async () => {
    const e = await configErrorAsync(resolveSecret(parseConfig({ DATABASE_URL: PG_URL, AGENTBASE_DATA_DIR: join(root, 'srv') })));
    expect(e.message).toContain('AGENTBASE_SECRET');
    await expect(stat(join(root, 'srv'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('uses AGENTBASE_SECRET in server mode', async () => {
    expect(await resolveSecret(parseConfig({ DATABASE_URL: PG_URL, AGENTBASE_SECRET: SECRET }))).toBe(SECRET);
  });
});
