import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import v8 from 'node:v8';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { buildPgliteTemplate, loadMigrations, migrate, openDatabase, type Database, type Migration, type TemplateOutcome } from '../../src/db/index.js';
import { createFromTemplate, pgliteVersion, templateMismatch, type TemplateManifest } from '../../src/db/pglite-template.js';
import { driver } from '../helpers/db.js';
import { cleanupProcesses, tempDir } from '../helpers/processes.js';

/**
 * Opening an embedded data folder: a new one starts from the prebuilt template
 * when it fits this build's migrations (else initdb, as before), and PGlite
 * runs with the memory settings of the configuration.
 */

afterAll(cleanupProcesses);
afterEach(() => {
  vi.restoreAllMocks();
});

let files: Migration[];
let template: string; // every migration but the last, so the newest is left for migrate

beforeAll(async () => {
  files = await loadMigrations();
  template = await tempDir('agentbase-template-');
  await buildPgliteTemplate(template, files.slice(0, -1));
}, 120_000);

const idOf = (m: Migration) => ({ version: m.version, name: m.name, checksum: m.checksum });
const label = (m: Migration) => `${String(m.version).padStart(4, '0')}_${m.name}`;

async function applied(db: Database) {
  return (await db.admin.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, trim(checksum) AS checksum FROM schema_migrations ORDER BY version',
  )).rows;
}

async function open(dir: string, env: Record<string, string> = {}): Promise<{ db: Database; outcomes: TemplateOutcome[] }> {
  const outcomes: TemplateOutcome[] = [];
  const config = parseConfig({ AGENTBASE_DATA_DIR: dir, AGENTBASE_EMBEDDED_TEMPLATE: template, ...env });
  const db = await openDatabase(config, { onNewDataFolder: (o) => outcomes.push(o) });
  return { db, outcomes };
}

/** A copy of the template with its manifest changed by `edit`. */
async function editedTemplate(edit: (m: TemplateManifest) => void): Promise<string> {
  const dir = await tempDir('agentbase-template-');
  await copyFile(join(template, 'pgdata.tar.gz'), join(dir, 'pgdata.tar.gz'));
  const m = JSON.parse(await readFile(join(template, 'manifest.json'), 'utf8')) as TemplateManifest;
  edit(m);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

// Files and a few PGlite instances: once is enough.
describe.runIf(driver === 'pglite')('a new embedded data folder from the template', () => {
  it('building it again for the same migrations does nothing', async () => {
    const before = await stat(join(template, 'pgdata.tar.gz'));
    expect((await buildPgliteTemplate(template, files.slice(0, -1))).built).toBe(false);
    expect((await stat(join(template, 'pgdata.tar.gz'))).mtimeMs).toBe(before.mtimeMs);
  });

  it('has the template’s migrations recorded with their checksums; migrate then applies the newer ones', async () => {
    const dir = await tempDir();
    const { db, outcomes } = await open(dir);
    try {
      expect(outcomes).toEqual([{ used: true, migrations: files.length - 1 }]);
      expect(await applied(db)).toEqual(files.slice(0, -1).map(idOf));
      expect(existsSync(join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);
      const r = await migrate(db, files);
      expect(r.applied).toEqual([label(files.at(-1)!)]);
      expect(await applied(db)).toEqual(files.map(idOf));
      const sql = 'CREATE TABLE zz_later (id int);';
      const later = { version: 9001, name: 'later', sql, checksum: createHash('sha256').update(sql).digest('hex') };
      expect((await migrate(db, [...files, later])).applied).toEqual(['9001_later']);
      // The service works on it: a tenant write through the app role, under row-level security.
      const org = await db.admin.query<{ id: string }>(`INSERT INTO organizations (name, slug) VALUES ('T', 't') RETURNING id`);
      expect(org.rows).toHaveLength(1);
    } finally {
      await db.close();
    }
    const again = await open(dir);
    try {
      expect(again.outcomes).toEqual([]); // an existing folder is opened as it is
      expect((await applied(again.db)).at(-1)!.version).toBe(9001);
    } finally {
      await again.db.close();
    }
  });

  it('is unpacked without the dump’s postmaster.pid, and a leftover of a start killed while unpacking is removed', async () => {
    const parent = await tempDir();
    await mkdir(join(parent, 'pgdata.partial-999999', 'base'), { recursive: true });
    expect(await createFromTemplate(join(parent, 'pgdata'), template, files)).toEqual({ used: true, migrations: files.length - 1 });
    expect((await readdir(parent)).sort()).toEqual(['pgdata']);
    expect(existsSync(join(parent, 'pgdata', 'postmaster.pid'))).toBe(false);
  });

  it('a damaged archive is reported and leaves nothing behind', async () => {
    const damaged = await editedTemplate(() => {});
    await truncate(join(damaged, 'pgdata.tar.gz'), 100_000);
    const parent = await tempDir();
    const r = await createFromTemplate(join(parent, 'pgdata'), damaged, files);
    expect(r).toMatchObject({ used: false, reason: expect.stringMatching(/is damaged/) });
    expect(await readdir(parent)).toEqual([]);
  });

  it(
    'a template that does not fit is not used: initdb makes the folder and migrate applies every migration',
    async () => {
      const edited = await editedTemplate((m) => {
        m.migrations[1]!.checksum = '0'.repeat(64);
      });
      const { db, outcomes } = await open(await tempDir(), { AGENTBASE_EMBEDDED_TEMPLATE: edited });
      try {
        expect(outcomes).toEqual([{ used: false, reason: expect.stringMatching(/does not fit: its migration 2 \(identity\)/) }]);
        expect((await migrate(db, files)).applied).toEqual(files.map(label));
      } finally {
        await db.close();
      }
    },
    120_000,
  );

  it('tells why a manifest does not fit', () => {
    const m: TemplateManifest = { format: 1, pglite: pgliteVersion(), migrations: files.map(idOf) };
    expect(templateMismatch(m, files)).toBeUndefined();
    expect(templateMismatch(m, files.slice(0, -1))).toMatch(/migrations this build does not have/);
    expect(templateMismatch({ ...m, pglite: '0.0.1' }, files)).toMatch(/made by PGlite 0\.0\.1/);
    const renamed = files.map((f, i) => (i === 2 ? { ...f, name: 'other' } : f));
    expect(templateMismatch(m, renamed)).toMatch(/not this build's 3 \(other\)/);
  });

  it('no template folder, or AGENTBASE_EMBEDDED_TEMPLATE=none: the folder is made by initdb', async () => {
    const parent = await tempDir();
    expect(await createFromTemplate(join(parent, 'pgdata'), join(parent, 'nothing-here'), files)).toMatchObject({
      used: false,
      reason: expect.stringMatching(/no template in/),
    });
    expect(parseConfig({ AGENTBASE_EMBEDDED_TEMPLATE: 'none' }).database).toMatchObject({ template: false });
  });
});

describe.runIf(driver === 'pglite')('PGlite memory settings', () => {
  it('shared_buffers is the configured size', async () => {
    const { db } = await open(await tempDir(), { AGENTBASE_EMBEDDED_SHARED_BUFFERS_MB: '24' });
    try {
      expect((await db.admin.query('SHOW shared_buffers')).rows).toEqual([{ shared_buffers: '24MB' }]);
    } finally {
      await db.close();
    }
  });

  it('V8 compiles it with the baseline compiler only unless AGENTBASE_EMBEDDED_WASM_TIER_UP is set', async () => {
    // (spied on, not applied: the flag is process-wide)
    const flags = vi.spyOn(v8, 'setFlagsFromString').mockImplementation(() => {});
    const dir = await tempDir();
    for (const [env, calls] of [[{}, [['--liftoff-only']]], [{ AGENTBASE_EMBEDDED_WASM_TIER_UP: 'true' }, []]] as const) {
      flags.mockClear();
      const { db } = await open(dir, env);
      await db.close();
      expect(flags.mock.calls).toEqual(calls);
    }
  });
});
