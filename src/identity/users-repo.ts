import type { Sql } from '../db/index.js';

export interface UserRow {
  id: string;
  email: string;
  username: string;
  fullName: string | null;
  status: string;
  tier: string;
  isActive: boolean;
  emailVerified: boolean;
  lastLoginAt: Date | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const USER_COLUMNS = `u.id, u.email, u.username, u.full_name AS "fullName", u.status, u.tier, u.is_active AS "isActive",
  u.email_verified AS "emailVerified", u.last_login_at AS "lastLoginAt", u.version, u.created_at AS "createdAt",
  u.updated_at AS "updatedAt"`;

export async function getUser(sql: Sql, id: string): Promise<UserRow | undefined> {
  const r = await sql.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL`, [id]);
  return r.rows[0];
}

export interface LoginRow extends UserRow {
  passwordHash: string;
  failedLoginCount: number;
  lockedUntil: Date | null;
  mfaEnabled: boolean;
}

export async function findLoginByEmail(sql: Sql, email: string): Promise<LoginRow | undefined> {
  const r = await sql.query<LoginRow>(
    `SELECT ${USER_COLUMNS}, c.password_hash AS "passwordHash", c.failed_login_count AS "failedLoginCount",
            c.locked_until AS "lockedUntil", c.mfa_enabled AS "mfaEnabled"
     FROM users u JOIN user_credentials c ON c.user_id = u.id
     WHERE u.email = $1 AND u.deleted_at IS NULL`,
    [email],
  );
  return r.rows[0];
}

export async function findUserIdByEmail(sql: Sql, email: string): Promise<string | undefined> {
  const r = await sql.query<{ id: string }>(`SELECT id FROM users WHERE email = $1 AND deleted_at IS NULL`, [email]);
  return r.rows[0]?.id;
}

export async function insertUser(
  sql: Sql,
  u: { email: string; username: string; fullName: string | null; passwordHash: string },
): Promise<UserRow> {
  const r = await sql.query<UserRow>(
    `WITH u AS (INSERT INTO users (email, username, full_name) VALUES ($1, $2, $3) RETURNING *),
          c AS (INSERT INTO user_credentials (user_id, password_hash, password_changed_at) SELECT id, $4, now() FROM u)
     SELECT ${USER_COLUMNS} FROM u`,
    [u.email, u.username, u.fullName, u.passwordHash],
  );
  return r.rows[0]!;
}

export async function usernameExists(sql: Sql, username: string): Promise<boolean> {
  const r = await sql.query(`SELECT 1 FROM users WHERE lower(username) = lower($1) AND deleted_at IS NULL`, [username]);
  return r.rows.length > 0;
}

/** Counts a failed login; once the count reaches maxAttempts the account locks, doubling each further failure. */
export async function recordFailedLogin(
  sql: Sql,
  userId: string,
  maxAttempts: number,
  baseLockSeconds: number,
): Promise<Date | null> {
  const r = await sql.query<{ lockedUntil: Date | null }>(
    `UPDATE user_credentials SET
       failed_login_count = failed_login_count + 1,
       last_failed_login_at = now(),
       locked_until = CASE WHEN failed_login_count + 1 >= $2
         THEN now() + make_interval(secs => least($3 * power(2, least(failed_login_count + 1 - $2, 16)), 3600))
         ELSE locked_until END
     WHERE user_id = $1
     RETURNING locked_until AS "lockedUntil"`,
    [userId, maxAttempts, baseLockSeconds],
  );
  return r.rows[0]?.lockedUntil ?? null;
}

export async function clearFailedLogins(sql: Sql, userId: string): Promise<void> {
  await sql.query(
    `UPDATE user_credentials SET failed_login_count = 0, locked_until = NULL
     WHERE user_id = $1 AND (failed_login_count <> 0 OR locked_until IS NOT NULL)`,
    [userId],
  );
}

export async function touchLastLogin(sql: Sql, userId: string): Promise<void> {
  await sql.query(`UPDATE users SET last_login_at = now() WHERE id = $1`, [userId]);
}

export interface LockedCredentials {
  passwordHash: string;
  lockedUntil: Date | null;
  mfaEnabled: boolean;
}

/** The credentials row, locked until the transaction ends: one check at a time per account. */
export async function lockCredentials(sql: Sql, userId: string): Promise<LockedCredentials | undefined> {
  const r = await sql.query<LockedCredentials>(
    `SELECT password_hash AS "passwordHash", locked_until AS "lockedUntil", mfa_enabled AS "mfaEnabled"
     FROM user_credentials WHERE user_id = $1 FOR UPDATE`,
    [userId],
  );
  return r.rows[0];
}

export async function getPasswordHash(sql: Sql, userId: string): Promise<string | undefined> {
  const r = await sql.query<{ h: string }>(`SELECT password_hash AS h FROM user_credentials WHERE user_id = $1`, [userId]);
  return r.rows[0]?.h;
}

export async function setMfaEnabled(sql: Sql, userId: string, enabled: boolean): Promise<void> {
  await sql.query(`UPDATE user_credentials SET mfa_enabled = $2 WHERE user_id = $1`, [userId, enabled]);
}
