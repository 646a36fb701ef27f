import { uuidv7, type Sql } from '../../db/index.js';

/**
 * oauth_tokens: the sealed token set of an integration. The functions that
 * read ciphertext say so in their name (sealed…); the API's answers come from
 * integrations-repo's view, which selects metadata only.
 */

export interface SealedTokens {
  id: string;
  accessTokenCiphertext: string;
  refreshTokenCiphertext: string | null;
  tokenType: string;
  scopes: string[];
  expiresAt: Date | null;
  refreshedAt: Date | null;
  version: number;
}

export interface TokenWrite {
  accessTokenCiphertext: string;
  refreshTokenCiphertext: string | null;
  tokenType: string;
  scopes: string[];
  expiresAt: Date | null;
  refreshTokenExpiresAt: Date | null;
}

const SEALED = `id, access_token_ciphertext AS "accessTokenCiphertext", refresh_token_ciphertext AS "refreshTokenCiphertext",
  token_type AS "tokenType", scopes, expires_at AS "expiresAt", refreshed_at AS "refreshedAt", version`;

/** The token set of an integration, replacing any earlier one (a new authorization or PUT …/token). */
export async function replaceTokens(sql: Sql, orgId: string, integrationId: string, source: 'authorization_code' | 'manual', t: TokenWrite): Promise<void> {
  await sql.query(
    `INSERT INTO oauth_tokens (id, org_id, integration_id, access_token_ciphertext, refresh_token_ciphertext, token_type, scopes,
       expires_at, refresh_token_expires_at, source)
     VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8, $9, $10)
     ON CONFLICT (org_id, integration_id) DO UPDATE SET
       access_token_ciphertext = EXCLUDED.access_token_ciphertext, refresh_token_ciphertext = EXCLUDED.refresh_token_ciphertext,
       token_type = EXCLUDED.token_type, scopes = EXCLUDED.scopes, expires_at = EXCLUDED.expires_at,
       refresh_token_expires_at = EXCLUDED.refresh_token_expires_at, source = EXCLUDED.source,
       created_at = now(), updated_at = now(), refreshed_at = NULL, last_used_at = NULL, version = oauth_tokens.version + 1`,
    [uuidv7(), orgId, integrationId, t.accessTokenCiphertext, t.refreshTokenCiphertext, t.tokenType, t.scopes, t.expiresAt, t.refreshTokenExpiresAt, source],
  );
}

/** Read for use; lock: FOR UPDATE, taken by a refresh before it spends the refresh token. */
export async function sealedTokens(sql: Sql, orgId: string, integrationId: string, lock: boolean): Promise<SealedTokens | undefined> {
  const r = await sql.query<SealedTokens>(
    `SELECT ${SEALED} FROM oauth_tokens WHERE org_id = $1 AND integration_id = $2${lock ? ' FOR UPDATE' : ''}`,
    [orgId, integrationId],
  );
  return r.rows[0];
}

/**
 * After a refresh (RFC 6749 §6): the new access token; the refresh token
 * replaced when the provider rotated it (null refreshTokenCiphertext keeps
 * the old one); scopes kept when the answer names none.
 */
export async function refreshedTokens(
  sql: Sql,
  orgId: string,
  id: string,
  t: { accessTokenCiphertext: string; refreshTokenCiphertext: string | null; tokenType: string; scopes: string[] | null; expiresAt: Date | null },
): Promise<void> {
  await sql.query(
    `UPDATE oauth_tokens SET access_token_ciphertext = $3, refresh_token_ciphertext = COALESCE($4, refresh_token_ciphertext),
       token_type = $5, scopes = COALESCE($6::text[], scopes), expires_at = $7, refreshed_at = now(), updated_at = now(), version = version + 1
     WHERE org_id = $1 AND id = $2`,
    [orgId, id, t.accessTokenCiphertext, t.refreshTokenCiphertext, t.tokenType, t.scopes, t.expiresAt],
  );
}

export async function markTokensUsed(sql: Sql, orgId: string, id: string): Promise<void> {
  await sql.query(`UPDATE oauth_tokens SET last_used_at = now() WHERE org_id = $1 AND id = $2`, [orgId, id]);
}

export async function deleteTokens(sql: Sql, orgId: string, integrationId: string): Promise<boolean> {
  const r = await sql.query(`DELETE FROM oauth_tokens WHERE org_id = $1 AND integration_id = $2`, [orgId, integrationId]);
  return r.rowCount > 0;
}

/** Refreshable tokens of every organization expiring before `before` (the SECURITY DEFINER lookup of 0022). */
export async function tokensDue(sql: Sql, before: Date, limit: number): Promise<{ orgId: string; integrationId: string }[]> {
  const r = await sql.query<{ orgId: string; integrationId: string }>(
    `SELECT org_id AS "orgId", integration_id AS "integrationId" FROM oauth_tokens_due($1, $2)`,
    [before, limit],
  );
  return r.rows;
}
