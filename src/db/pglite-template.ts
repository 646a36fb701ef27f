import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase } from './database.js';
import { migrate, type Migration } from './migrate.js';
import { openPglite } from './pglite-driver.js';
import { extractTarGz, TarError } from './tar-extract.js';

/**
 * A new embedded data folder starts as a copy of a template instead of running
 * initdb and every migration. initdb alone is ~5 s of CPU in WebAssembly (it
 * also starts a second PGlite with its own heap, which stays resident), and
 * the migrations ~0.8 s more; unpacking the template takes a fraction of that.
 *
 * The template is PGlite's own dump (dumpDataDir) of an in-memory database
 * that was initdb'd and migrated at build time (`npm run build`, see
 * tools/build-pglite-template.js), with a manifest of the PGlite version and
 * the migrations (name and checksum) it holds. It is used only when that
 * PGlite version is the one installed (a data folder is read only by the
 * PostgreSQL that wrote it) and its migrations are exactly the first of this
 * build's files; `migrate` then applies the rest as on any database. Otherwise
 * (a stale or missing template) the folder is made the slow way, as before.
 *
 * What differs from a folder made by initdb + migrate at first start: the
 * applied_at and duration_ms of the template's migrations are those of the
 * build, the seed rows' ids (roles, permissions) are the same in every folder
 * made from one template, and the time partitions the migrations make are
 * those around the build date (the start's maintenance adds the current ones;
 * ingestion makes past ones on demand, as it does anyway).
 */

export const DEFAULT_TEMPLATE_DIR = fileURLToPath(new URL('../../dist/pglite-template/', import.meta.url));
const ARCHIVE = 'pgdata.tar.gz';
const MANIFEST = 'manifest.json';
const PARTIAL = 'pgdata.partial-';

interface MigrationId {
  version: number;
  name: string;
  checksum: string;
}

export interface TemplateManifest {
  format: 1;
  /** the @electric-sql/pglite version that made the folder */
  pglite: string;
  /** the migrations applied in it, in order */
  migrations: MigrationId[];
}

let installedPglite: string | undefined;
/** The installed @electric-sql/pglite version (its package.json is not in its exports map: found beside its entry point). */
export function pgliteVersion(): string {
  if (!installedPglite) {
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite'); // <package>/dist/index.cjs
    installedPglite = (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
  }
  return installedPglite;
}

const idOf = (m: MigrationId): MigrationId => ({ version: m.version, name: m.name, checksum: m.checksum });

/** Why a template cannot be used with these migration files, or undefined when it can. */
export function templateMismatch(manifest: TemplateManifest, files: readonly Migration[]): string | undefined {
  if (manifest.format !== 1) return `unknown template format ${String(manifest.format)}`;
  if (manifest.pglite !== pgliteVersion()) return `made by PGlite ${manifest.pglite}, this is ${pgliteVersion()}`;
  if (manifest.migrations.length > files.length) return 'it holds migrations this build does not have';
  for (const [i, m] of manifest.migrations.entries()) {
    const f = files[i]!;
    if (m.version !== f.version || m.name !== f.name || m.checksum !== f.checksum) {
      return `its migration ${m.version} (${m.name}) is not this build's ${f.version} (${f.name}) with the same checksum`;
    }
  }
  return undefined;
}

async function readManifest(dir: string): Promise<TemplateManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as TemplateManifest;
  } catch {
    return undefined;
  }
}

export type TemplateOutcome =
  | { used: true; migrations: number }
  | { used: false; reason: string };

/**
 * Makes `pgdata` (which must not exist) from the template in `templateDir` if
 * it fits `files`. The archive is unpacked beside it and renamed into place, so
 * a start killed halfway leaves no half-made database (the next start removes
 * the leftover and begins again). A damaged archive is reported, not thrown:
 * the caller then makes the database the slow way.
 */
export async function createFromTemplate(pgdata: string, templateDir: string, files: readonly Migration[]): Promise<TemplateOutcome> {
  const parent = dirname(pgdata);
  for (const e of readdirSync(parent)) if (e.startsWith(PARTIAL)) rmSync(join(parent, e), { recursive: true, force: true });
  const manifest = await readManifest(templateDir);
  if (!manifest) return { used: false, reason: `no template in ${templateDir}` };
  const mismatch = templateMismatch(manifest, files);
  if (mismatch) return { used: false, reason: `the template in ${templateDir} does not fit: ${mismatch}` };
  const partial = join(parent, `${PARTIAL}${process.pid}`);
  try {
    // postmaster.pid: the dump was taken from a running instance.
    await extractTarGz(join(templateDir, ARCHIVE), partial, (name) => name === 'postmaster.pid');
    renameSync(partial, pgdata);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    const damaged = err instanceof TarError || (err as NodeJS.ErrnoException).code?.startsWith('Z_') || (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (damaged) return { used: false, reason: `the template in ${templateDir} is damaged: ${(err as Error).message}` };
    throw err;
  }
  return { used: true, migrations: manifest.migrations.length };
}

/**
 * Builds the template for `files` into `outDir` unless the one there already
 * fits exactly. In memory: initdb, migrate, CHECKPOINT (so the dump needs no
 * WAL replay), dump. The archive is written before the manifest that makes it
 * usable, each through a rename, so a reader never sees half of either.
 */
export async function buildPgliteTemplate(outDir: string, files: readonly Migration[]): Promise<{ built: boolean; bytes: number }> {
  const existing = await readManifest(outDir);
  const want = files.map(idOf);
  if (
    existing &&
    !templateMismatch(existing, files) &&
    existing.migrations.length === files.length &&
    existsSync(join(outDir, ARCHIVE))
  ) {
    return { built: false, bytes: readFileSync(join(outDir, ARCHIVE)).length };
  }
  const { pg, driver } = await openPglite();
  let archive: Buffer;
  try {
    await migrate(createDatabase(driver), [...files]);
    await pg.exec('CHECKPOINT');
    archive = Buffer.from(await (await pg.dumpDataDir('gzip')).arrayBuffer());
  } finally {
    await pg.close();
  }
  await mkdir(outDir, { recursive: true });
  const manifest: TemplateManifest = { format: 1, pglite: pgliteVersion(), migrations: want };
  const tmp = `.tmp-${process.pid}`;
  await rm(join(outDir, MANIFEST), { force: true });
  await writeFile(join(outDir, ARCHIVE + tmp), archive);
  await rename(join(outDir, ARCHIVE + tmp), join(outDir, ARCHIVE));
  await writeFile(join(outDir, MANIFEST + tmp), `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(join(outDir, MANIFEST + tmp), join(outDir, MANIFEST));
  return { built: true, bytes: archive.length };
}
