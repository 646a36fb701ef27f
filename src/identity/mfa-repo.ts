import type { Sql } from '../db/index.js';

export interface MfaDeviceRow {
  id: string;
  userId: string;
  deviceType: string;
  name: string;
  secretCiphertext: string;
  confirmedAt: Date | null;
  lastUsedStep: number | null;
  createdAt: Date;
}

const COLUMNS = `id, user_id AS "userId", device_type AS "deviceType", name, secret_ciphertext AS "secretCiphertext",
  confirmed_at AS "confirmedAt", last_used_step AS "lastUsedStep", created_at AS "createdAt"`;

export async function insertDevice(sql: Sql, userId: string, name: string, secretCiphertext: string): Promise<MfaDeviceRow> {
  const r = await sql.query<MfaDeviceRow>(
    `INSERT INTO mfa_devices (user_id, device_type, name, secret_ciphertext) VALUES ($1, 'totp', $2, $3) RETURNING ${COLUMNS}`,
    [userId, name, secretCiphertext],
  );
  return r.rows[0]!;
}

export async function getDevice(sql: Sql, userId: string, id: string): Promise<MfaDeviceRow | undefined> {
  const r = await sql.query<MfaDeviceRow>(
    `SELECT ${COLUMNS} FROM mfa_devices WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL FOR UPDATE`,
    [id, userId],
  );
  return r.rows[0];
}

/** The confirmed device (one per user for now), locked so a code cannot be used twice concurrently. */
export async function confirmedDevice(sql: Sql, userId: string): Promise<MfaDeviceRow | undefined> {
  const r = await sql.query<MfaDeviceRow>(
    `SELECT ${COLUMNS} FROM mfa_devices WHERE user_id = $1 AND confirmed_at IS NOT NULL AND deleted_at IS NULL
     ORDER BY confirmed_at DESC LIMIT 1 FOR UPDATE`,
    [userId],
  );
  return r.rows[0];
}

export async function confirmDevice(sql: Sql, id: string, step: number): Promise<void> {
  await sql.query(`UPDATE mfa_devices SET confirmed_at = now(), last_used_at = now(), last_used_step = $2 WHERE id = $1`, [id, step]);
}

export async function markStepUsed(sql: Sql, id: string, step: number): Promise<void> {
  await sql.query(`UPDATE mfa_devices SET last_used_at = now(), last_used_step = $2 WHERE id = $1`, [id, step]);
}

export async function removeDevices(sql: Sql, userId: string): Promise<number> {
  const r = await sql.query(`UPDATE mfa_devices SET deleted_at = now() WHERE user_id = $1 AND deleted_at IS NULL`, [userId]);
  return r.rowCount;
}

export async function replaceRecoveryCodes(sql: Sql, userId: string, hashes: string[]): Promise<void> {
  await sql.query(`UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`, [userId]);
  await sql.query(
    `INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])`,
    [userId, hashes],
  );
}

/** Consumes a recovery code; true when it existed and was unused. */
export async function useRecoveryCode(sql: Sql, userId: string, hash: string): Promise<boolean> {
  const r = await sql.query(
    `UPDATE mfa_recovery_codes SET used_at = now()
     WHERE id = (SELECT id FROM mfa_recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL LIMIT 1 FOR UPDATE)`,
    [userId, hash],
  );
  return r.rowCount > 0;
}

export async function remainingRecoveryCodes(sql: Sql, userId: string): Promise<number> {
  const r = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL`,
    [userId],
  );
  return r.rows[0]?.n ?? 0;
}
