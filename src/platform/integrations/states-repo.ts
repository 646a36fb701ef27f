import { uuidv7, type Sql } from '../../db/index.js';

/** oauth_states: authorization requests in flight, found by the SHA-256 of their state. */

export interface StateRow {
  id: string;
  integrationId: string;
  userId: string | null;
  codeVerifierCiphertext: string;
  redirectUri: string;
  expiresAt: Date;
  usedAt: Date | null;
}

export async function insertState(
  sql: Sql,
  orgId: string,
  f: { integrationId: string; userId: string | null; stateHash: string; codeVerifierCiphertext: string; redirectUri: string; createdAt: Date; expiresAt: Date },
): Promise<void> {
  await sql.query(
    `INSERT INTO oauth_states (id, org_id, integration_id, user_id, state_hash, code_verifier_ciphertext, redirect_uri, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [uuidv7(), orgId, f.integrationId, f.userId, f.stateHash, f.codeVerifierCiphertext, f.redirectUri, f.createdAt, f.expiresAt],
  );
}

/** Expired and used requests of the organization: nothing can redeem them any more. */
export async function deleteStaleStates(sql: Sql, orgId: string, now: Date): Promise<void> {
  await sql.query(`DELETE FROM oauth_states WHERE org_id = $1 AND (expires_at <= $2 OR used_at IS NOT NULL)`, [orgId, now]);
}

export async function deleteStatesOf(sql: Sql, orgId: string, integrationId: string): Promise<void> {
  await sql.query(`DELETE FROM oauth_states WHERE org_id = $1 AND integration_id = $2`, [orgId, integrationId]);
}

/** Which organization's request a state hash names (no tenant yet: the 0022 lookup function). */
export async function findState(sql: Sql, stateHash: string): Promise<{ id: string; orgId: string } | undefined> {
  const r = await sql.query<{ id: string; orgId: string }>(`SELECT id, org_id AS "orgId" FROM oauth_state_find($1)`, [stateHash]);
  return r.rows[0];
}

/** Locked, so two callbacks with one state are serialized and only the first redeems it. */
export async function lockState(sql: Sql, orgId: string, id: string): Promise<StateRow | undefined> {
  const r = await sql.query<StateRow>(
    `SELECT id, integration_id AS "integrationId", user_id AS "userId", code_verifier_ciphertext AS "codeVerifierCiphertext",
       redirect_uri AS "redirectUri", expires_at AS "expiresAt", used_at AS "usedAt"
     FROM oauth_states WHERE org_id = $1 AND id = $2 FOR UPDATE`,
    [orgId, id],
  );
  return r.rows[0];
}

export async function markStateUsed(sql: Sql, orgId: string, id: string, at: Date): Promise<void> {
  await sql.query(`UPDATE oauth_states SET used_at = $3 WHERE org_id = $1 AND id = $2`, [orgId, id, at]);
}
