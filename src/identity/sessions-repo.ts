import type { Sql } from '../db/index.js';

export async function insertSession(
  sql: Sql,
  s: { orgId: string; userId: string; ip: string | null; userAgent: string | null; mfaVerified: boolean; expiresAt: Date },
): Promise<string> {
  const r = await sql.query<{ id: string }>(
    `INSERT INTO sessions (org_id, user_id, ip_address, user_agent, mfa_verified, expires_at, last_used_at)
     VALUES ($1, $2, $3::inet, $4, $5, $6, now()) RETURNING id`,
    [s.orgId, s.userId, s.ip, s.userAgent, s.mfaVerified, s.expiresAt.toISOString()],
  );
  return r.rows[0]!.id;
}

export async function insertRefreshToken(
  sql: Sql,
  t: { orgId: string; sessionId: string; userId: string; tokenHash: string; expiresAt: Date },
): Promise<string> {
  const r = await sql.query<{ id: string }>(
    `INSERT INTO refresh_tokens (org_id, session_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [t.orgId, t.sessionId, t.userId, t.tokenHash, t.expiresAt.toISOString()],
  );
  return r.rows[0]!.id;
}

export async function findRefreshToken(
  sql: Sql,
  tokenHash: string,
): Promise<{ id: string; orgId: string; sessionId: string; userId: string } | undefined> {
  const r = await sql.query<{ id: string; orgId: string; sessionId: string; userId: string }>(
    `SELECT id, org_id AS "orgId", session_id AS "sessionId", user_id AS "userId" FROM auth_find_refresh_token($1)`,
    [tokenHash],
  );
  return r.rows[0];
}

export interface RefreshTokenState {
  id: string;
  sessionId: string;
  userId: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  sessionRevokedAt: Date | null;
  sessionExpiresAt: Date;
  mfaVerified: boolean;
}

/** Locks the token row: two concurrent refreshes with one token cannot both rotate it. */
export async function lockRefreshToken(sql: Sql, id: string): Promise<RefreshTokenState | undefined> {
  const r = await sql.query<RefreshTokenState>(
    `SELECT t.id, t.session_id AS "sessionId", t.user_id AS "userId", t.expires_at AS "expiresAt", t.used_at AS "usedAt",
            t.revoked_at AS "revokedAt", s.revoked_at AS "sessionRevokedAt", s.expires_at AS "sessionExpiresAt",
            s.mfa_verified AS "mfaVerified"
     FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
     WHERE t.id = $1 FOR UPDATE OF t`,
    [id],
  );
  return r.rows[0];
}

export async function markRefreshTokenUsed(sql: Sql, id: string, replacedById: string): Promise<void> {
  await sql.query(`UPDATE refresh_tokens SET used_at = now(), replaced_by_id = $2 WHERE id = $1`, [id, replacedById]);
  await sql.query(
    `UPDATE sessions SET last_used_at = now() WHERE id = (SELECT session_id FROM refresh_tokens WHERE id = $1)`,
    [id],
  );
}

/** Revokes a session and every refresh token of its family. */
export async function revokeSession(sql: Sql, sessionId: string, reason: string): Promise<boolean> {
  const r = await sql.query(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL`,
    [sessionId, reason],
  );
  await sql.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE session_id = $1 AND revoked_at IS NULL`, [sessionId]);
  return r.rowCount > 0;
}

/** Every live session of a user in the current tenant (RLS scopes it). */
export async function revokeUserSessions(sql: Sql, userId: string, reason: string): Promise<number> {
  const r = await sql.query(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL`,
    [userId, reason],
  );
  await sql.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [userId]);
  return r.rowCount;
}

/** Whether a session is still live, and whether it passed two-factor: what a switch of organization carries over. */
export async function sessionState(sql: Sql, sessionId: string): Promise<{ live: boolean; mfaVerified: boolean } | undefined> {
  const r = await sql.query<{ live: boolean; mfaVerified: boolean }>(
    `SELECT (revoked_at IS NULL AND expires_at > now()) AS live, mfa_verified AS "mfaVerified" FROM sessions WHERE id = $1`,
    [sessionId],
  );
  return r.rows[0];
}
