import { copyFileSync, openSync, readFileSync, closeSync, writeFileSync, writeSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { openDatabase } from '../../src/db/index.js';
import { readArchive } from '../../src/ops/index.js';
import { extractPayload, writeArchive } from '../../src/ops/backup/archive.js';
import { findPgTool } from '../../src/ops/backup/pg-tools.js';
import { signupUser } from '../helpers/app.js';
import { driver } from '../helpers/db.js';
import { cleanupProcesses, tempDir } from '../helpers/processes.js';
import { cli, emptyPlace, expectOk, withService, type Place } from './backup-fixtures.js';

/** What restore refuses, and how it reports a restore that does not match its manifest. */

let source: Place;
const targets: Place[] = [];
let dir: string;
let file: string;

beforeAll(async () => {
  dir = await tempDir('agentbase-backup-errors-');
  file = join(dir, 'good.backup');
  source = await emptyPlace();
  await withService(source, async (app) => {
    await signupUser(app);
  });
  expectOk(await cli(['backup', file], source.env));
}, 120_000);

afterAll(async () => {
  await source?.drop();
  for (const t of targets) await t.drop();
  await cleanupProcesses();
});

async function target(): Promise<Place> {
  const t = await emptyPlace();
  targets.push(t);
  return t;
}

describe('restore refuses what is not a whole backup', () => {
  it('a file that is not a backup at all', async () => {
    const junk = join(dir, 'junk.backup');
    writeFileSync(junk, 'hello, this is not a tar archive\n'.repeat(40));
    const r = await cli(['restore', junk], (await target()).env);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${junk} is not an agentbase backup`);
  });

  it('a missing file', async () => {
    const r = await cli(['restore', join(dir, 'nope.backup')], (await target()).env);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot open .*nope\.backup/);
  });

  it('a cut-short file', async () => {
    const cut = join(dir, 'cut.backup');
    copyFileSync(file, cut);
    truncateSync(cut, Math.floor(statSync(cut).size / 2));
    const r = await cli(['restore', cut], (await target()).env);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/is cut short/);
  });

  it('a changed byte in the payload, before anything is restored', async () => {
    const bad = join(dir, 'flipped.backup');
    copyFileSync(file, bad);
    const opened = await readArchive(bad);
    const at = opened.payload.offset + Math.floor(opened.payload.size / 2);
    const fd = openSync(bad, 'r+');
    const byte = readFileSync(bad).subarray(at, at + 1);
    writeSync(fd, Buffer.from([byte[0]! ^ 0xff]), 0, 1, at);
    closeSync(fd);
    const t = await target();
    const r = await cli(['restore', bad], t.env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('is damaged');
    expect(r.err).toContain('does not match the SHA-256 in its manifest');
    // nothing was restored: the target is still empty, so a proper restore goes through
    expectOk(await cli(['restore', file], t.env));
  }, 120_000);

  it('a backup of the other mode', async () => {
    const env = driver === 'pglite' ? { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } : { AGENTBASE_DATA_DIR: join(dir, 'embedded') };
    const r = await cli(['restore', file], env);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(driver === 'pglite' ? /is a backup of an embedded data folder: restore it with AGENTBASE_DATA_DIR/ : /is a backup of a PostgreSQL server database/);
  });
});

describe('restore verifies against the manifest', () => {
  it('exits 1 naming the table whose rows differ from the manifest', async () => {
    const opened = await readArchive(file);
    const m = structuredClone(opened.manifest);
    const users = m.tables.find((t) => t.name === 'users')!;
    users.rows += 1;
    const payload = join(dir, 'payload.bin');
    await extractPayload(file, opened, payload);
    const lying = join(dir, 'lying.backup');
    await writeArchive(lying, m, m.payload.name, payload);
    const r = await cli(['restore', lying], (await target()).env);
    expect(r.code).toBe(1);
    expect(r.out).toContain('MISMATCH: 1 difference(s) from the manifest');
    expect(r.out).toContain(`table users rows: expected ${users.rows}, found ${users.rows - 1}`);
  }, 120_000);
});

describe('restore needs the roles the dump names', () => {
  it.runIf(driver === 'postgres')('refuses, before changing anything, when a role the backup names does not exist', async () => {
    const opened = await readArchive(file);
    const m = structuredClone(opened.manifest);
    m.server!.roles.push('agentbase_backup_test_no_such_role');
    const payload = join(dir, 'payload-roles.bin');
    await extractPayload(file, opened, payload);
    const odd = join(dir, 'roles.backup');
    await writeArchive(odd, m, m.payload.name, payload);
    const t = await target();
    const r = await cli(['restore', odd], t.env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('"agentbase_backup_test_no_such_role", which this cluster does not have: create it first (CREATE ROLE agentbase_backup_test_no_such_role');
    expectOk(await cli(['restore', file], t.env)); // still empty
  }, 120_000);
});

describe('backup', () => {
  it('says which pg_dump it needs when none of that major is found', async () => {
    await expect(findPgTool('pg_dump', 99, { pathEnv: '' })).rejects.toThrow(
      /pg_dump for PostgreSQL 99 \(the server's major version\) was not found.*\(Debian\/Ubuntu: postgresql-client-99\) or pass --pg-bin DIR/,
    );
    // one of another major on PATH is named, with its version
    const onPath = await findPgTool('pg_dump', 15, { pathEnv: process.env.PATH }).catch(() => undefined);
    if (onPath) {
      const dirOf = onPath.path.slice(0, onPath.path.lastIndexOf('/'));
      await expect(findPgTool('pg_dump', 98, { pathEnv: dirOf })).rejects.toThrow(`${onPath.path} is ${onPath.version}`);
    }
  });

  it.runIf(driver === 'pglite')('refuses an embedded data folder a running server holds, naming it', async () => {
    const db = await openDatabase(parseConfig(source.env));
    try {
      const r = await cli(['backup', join(dir, 'live.backup')], source.env);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`is in use by another agentbase process (pid ${process.pid})`);
      expect(r.err).toContain('backed up and restored with the server stopped');
    } finally {
      await db.close();
    }
  });

  it.runIf(driver === 'postgres')('refuses a database without the agentbase schema', async () => {
    const t = await target();
    const r = await cli(['backup', join(dir, 'empty.backup')], t.env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('holds no agentbase schema');
  });
});
