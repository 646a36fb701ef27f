import type { Occupancy } from './catalog-repo.js';
import { BackupError } from './errors.js';
import type { Manifest } from './manifest.js';

export interface BackupReport {
  file: string;
  bytes: number;
  mode: Manifest['mode'];
  createdAt: string;
  /** the last migration applied in the backed-up database */
  migration: number;
  tables: number;
  rows: number;
  emptyTables: string[];
}

/** A restore never lands on data silently: refused unless the operator said --force. */
export function refuseOccupied(o: Occupancy, what: string, force: boolean): void {
  if (force || (o.migrations === 0 && o.tablesWithRows.length === 0)) return;
  const tables = o.tablesWithRows.length > 6 ? `${o.tablesWithRows.slice(0, 6).join(', ')} and ${o.tablesWithRows.length - 6} more` : o.tablesWithRows.join(', ');
  const held = [o.migrations ? `${o.migrations} migrations applied` : '', o.tablesWithRows.length ? `rows in ${tables}` : ''].filter(Boolean).join(', ');
  throw new BackupError(
    'database_not_empty',
    `${what} is not empty (${held}): restore into an empty database, or pass --force to replace everything in it with the backup`,
  );
}

export function summarizeManifest(file: string, bytes: number, m: Manifest): BackupReport {
  return {
    file,
    bytes,
    mode: m.mode,
    createdAt: m.createdAt,
    migration: m.migrations.at(-1)?.version ?? 0,
    tables: m.tables.length,
    rows: m.tables.reduce((n, t) => n + t.rows, 0),
    emptyTables: m.tables.filter((t) => t.rows === 0).map((t) => t.name),
  };
}
