import { verifyAllChains, type ChainReport } from '../../audit/index.js';
import { loadMigrations, type Database } from '../../db/index.js';
import { compareState, readState, type Manifest, type Mismatch } from './manifest.js';
import type { Progress } from './progress.js';

export interface RestoreReport {
  file: string;
  mode: Manifest['mode'];
  tables: number;
  rows: number;
  /** tables whose rows or checksum differ from the manifest, and migration differences */
  mismatches: Mismatch[];
  chains: ChainReport[];
  warnings: string[];
  ok: boolean;
}

/** After a restore: the database must hold exactly what the manifest says, and every audit chain must verify. */
export async function verifyRestored(db: Database, file: string, manifest: Manifest, progress: Progress, warnings: string[]): Promise<RestoreReport> {
  const state = await db.admin.transaction((sql) => readState(sql, progress));
  const mismatches = compareState(manifest, state);
  progress.start('audit chains', undefined, 'items');
  const chains = await verifyAllChains(db);
  progress.end(`${chains.length} organizations`);
  const rows = state.tables.reduce((n, t) => n + t.rows, 0);
  return {
    file,
    mode: manifest.mode,
    tables: state.tables.length,
    rows,
    mismatches,
    chains,
    warnings,
    ok: mismatches.length === 0 && chains.every((c) => c.ok),
  };
}

/** What an operator must know about the backup's migrations against this build's. */
export async function migrationWarnings(manifest: Manifest): Promise<string[]> {
  const files = await loadMigrations();
  const known = new Map(files.map((f) => [f.version, f]));
  const unknown = manifest.migrations.filter((m) => !known.has(m.version));
  const changed = manifest.migrations.filter((m) => known.has(m.version) && known.get(m.version)!.checksum !== m.checksum);
  const applied = new Set(manifest.migrations.map((m) => m.version));
  const newer = files.filter((f) => !applied.has(f.version));
  const out: string[] = [];
  if (unknown.length) out.push(`the backup holds migrations this agentbase does not have (${unknown.map((m) => m.version).join(', ')}): run the agentbase version that made it (${manifest.agentbaseVersion}) or a newer one`);
  if (changed.length) out.push(`migrations ${changed.map((m) => m.version).join(', ')} differ from this build's files (checksum)`);
  if (newer.length && !unknown.length) out.push(`this agentbase has ${newer.length} migration(s) the backup predates (${newer.map((f) => f.version).join(', ')}): run \`agentbase migrate\` (or start the server) to apply them`);
  return out;
}
