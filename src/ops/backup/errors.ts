/**
 * Why a backup, restore or export stopped. These are command-line failures,
 * not HTTP errors (no route serves them), so they carry their own small
 * vocabulary; the CLI prints the message, which says what to do, and exits 1.
 */
export type BackupErrorCode =
  | 'not_a_backup'
  | 'backup_damaged'
  | 'backup_not_found'
  | 'wrong_mode'
  | 'database_not_empty'
  | 'database_missing'
  | 'data_dir_in_use'
  | 'pg_tool_missing'
  | 'pg_tool_failed'
  | 'role_missing'
  | 'version_too_old'
  | 'org_not_found'
  | 'output_exists';

export class BackupError extends Error {
  override name = 'BackupError';
  constructor(
    readonly code: BackupErrorCode,
    message: string,
  ) {
    super(message);
  }
}
