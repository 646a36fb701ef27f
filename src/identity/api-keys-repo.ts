import type { Sql } from '../db/index.js';

export interface ApiKeyRow {
  id: string;
  userId: string;
  name: string;
  keyPrefix: string;
  scopes: string[];
  rateLimit: number;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

const COLUMNS = `id, user_id AS "userId", name, key_prefix AS "keyPrefix", scopes, rate_limit AS "rateLimit",
  expires_at AS "expiresAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt", created_at AS "createdAt"`;

export async function insertApiKey(
  sql: Sql,
  orgId: string,
  k: { userId: string; name: string; keyPrefix: string; keyHash: string; scopes: string[]; rateLimit: number; expiresAt: Date | null },
): Promise<ApiKeyRow> {
  const r = await sql.query<ApiKeyRow>(
    `INSERT INTO api_keys (org_id, user_id, name, key_prefix, key_hash, scopes, rate_limit, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [orgId, k.userId, k.name, k.keyPrefix, k.keyHash, k.scopes, k.rateLimit, k.expiresAt?.toISOString() ?? null],
  );
  return r.rows[0]!;
}

export async function getApiKey(sql: Sql, id: string): Promise<ApiKeyRow | undefined> {
  const r = await sql.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [id]);
  return r.rows[0];
}

export async function listApiKeys(
  sql: Sql,
  opts: { includeRevoked: boolean; beforeId?: string; limit: number; userId?: string },
): Promise<ApiKeyRow[]> {
  const params: unknown[] = [opts.limit];
  const where: string[] = [];
  if (!opts.includeRevoked) where.push('revoked_at IS NULL');
  if (opts.userId) {
    params.push(opts.userId);
    where.push(`user_id = $${params.length}`);
  }
  if (opts.beforeId) {
    // Keyset on the cursor row's own values: exact whatever the timestamp precision.
    params.push(opts.beforeId);
    where.push(`(created_at, id) < (SELECT created_at, id FROM api_keys WHERE id = $${params.length})`);
  }
  const r = await sql.query<ApiKeyRow>(
    `SELECT ${COLUMNS} FROM api_keys ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at DESC, id DESC LIMIT $1`,
    params,
  );
  return r.rows;
}

export async function revokeApiKey(sql: Sql, id: string): Promise<ApiKeyRow | undefined> {
  const r = await sql.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
    [id],
  );
  return r.rows[0];
}

export interface AuthenticatedKey {
  id: string;
  orgId: string;
  userId: string;
  scopes: string[];
  rateLimit: number;
  expiresAt: Date | null;
  revokedAt: Date | null;
  windowCount: number;
  windowResetAt: Date;
}

/** One round trip: find the key by prefix and hash, count this request in its rate window. */
export async function authenticateApiKey(sql: Sql, prefix: string, hash: string): Promise<AuthenticatedKey | undefined> {
  const r = await sql.query<AuthenticatedKey>(
    `SELECT id, org_id AS "orgId", user_id AS "userId", scopes, rate_limit AS "rateLimit", expires_at AS "expiresAt",
            revoked_at AS "revokedAt", window_count AS "windowCount", window_reset_at AS "windowResetAt"
     FROM auth_authenticate_api_key($1, $2)`,
    [prefix, hash],
  );
  return r.rows[0];
}

export async function revokeUserApiKeys(sql: Sql, userId: string): Promise<number> {
  const r = await sql.query(`UPDATE api_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [userId]);
  return r.rowCount;
}
