/**
 * Backup, restore and export (issue 15).
 *
 * Terminology:
 * - backup:   one file (a tar) holding manifest.json and the payload: pg_dump's
 *             custom format for a server database, PGlite's dump of the data
 *             folder for an embedded one.
 * - manifest: what the backup holds: migrations applied, per-table row count and
 *             checksum, agentbase and PostgreSQL/PGlite versions, the payload's
 *             size and SHA-256. A restore is checked against it.
 * - restore:  the backup put into an empty database (or, with --force, over one
 *             that is not), then verified: migrations, every table's count and
 *             checksum, and every audit hash chain.
 * - export:   one organization's rows as JSON lines, secrets left out: data
 *             portability, not a way back in.
 */
export { backupServer, restoreServer, DUMP_ENTRY, type ServerOptions, type ServerRestoreOptions } from './server-backup.js';
export { backupEmbedded, restoreEmbedded, PGDATA_ENTRY, type EmbeddedOptions, type EmbeddedRestoreOptions } from './embedded-backup.js';
export { exportOrg, type ExportManifest, type ExportOptions } from './export-org.js';
export { isSecretColumn, SECRET_COLUMN } from './export-repo.js';
export { readArchive, MANIFEST_ENTRY } from './archive.js';
export { readState, compareState, type Manifest, type DatabaseState, type TableEntry, type Mismatch } from './manifest.js';
export { BackupError, type BackupErrorCode } from './errors.js';
export { createProgress, silentProgress, formatBytes, type Progress } from './progress.js';
export type { BackupReport } from './summary.js';
export type { RestoreReport } from './verify-restore.js';
