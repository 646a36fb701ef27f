import { uuidv7, type Sql } from '../db/index.js';

/** A secret as the API shows it: everything but the value. */
export interface SecretMeta {
  id: string;
  name: string;
  description: string | null;
  /** where the value may be sent (src/secrets/allowed-hosts.ts); not secret */
  allowedHosts: string[];
  version: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt: Date | null;
}

// Never lists ciphertext: only useSecrets below reads it, so no other query can leak it.
const META = `id, name, description, allowed_hosts AS "allowedHosts", version, created_by AS "createdBy", created_at AS "createdAt",
  updated_at AS "updatedAt", last_used_at AS "lastUsedAt"`;

export async function insertSecret(
  sql: Sql,
  orgId: string,
  createdBy: string | null,
  f: { name: string; description: string | null; ciphertext: string; allowedHosts: readonly string[] },
): Promise<SecretMeta> {
  const r = await sql.query<SecretMeta>(
    `INSERT INTO secrets (id, org_id, name, description, ciphertext, allowed_hosts, created_by)
     VALUES ($1, $2, $3, $4, $5, $6::text[], $7) RETURNING ${META}`,
    [uuidv7(), orgId, f.name, f.description, f.ciphertext, f.allowedHosts, createdBy],
  );
  return r.rows[0]!;
}

export async function getSecret(sql: Sql, orgId: string, name: string): Promise<SecretMeta | undefined> {
  const r = await sql.query<SecretMeta>(`SELECT ${META} FROM secrets WHERE org_id = $1 AND name = $2`, [orgId, name]);
  return r.rows[0];
}

/** Row-locked, so a replace and a delete of one secret are serialized and each audits what it saw. */
export async function lockSecret(sql: Sql, orgId: string, name: string): Promise<SecretMeta | undefined> {
  const r = await sql.query<SecretMeta>(`SELECT ${META} FROM secrets WHERE org_id = $1 AND name = $2 FOR UPDATE`, [orgId, name]);
  return r.rows[0];
}

/** Names in byte order (COLLATE "C"), so the cursor comparison and the order agree on every server. */
export async function listSecrets(sql: Sql, orgId: string, f: { afterName?: string; limit: number }): Promise<SecretMeta[]> {
  const r = await sql.query<SecretMeta>(
    `SELECT ${META} FROM secrets
     WHERE org_id = $1 AND ($2::text IS NULL OR name COLLATE "C" > $2::text COLLATE "C")
     ORDER BY name COLLATE "C" LIMIT $3`,
    [orgId, f.afterName ?? null, f.limit],
  );
  return r.rows;
}

/**
 * The trigger (secrets_versioned) bumps version and updated_at. undefined
 * description or allowedHosts keeps the current one.
 */
export async function replaceSecret(
  sql: Sql,
  orgId: string,
  name: string,
  f: { ciphertext: string; description: string | null | undefined; allowedHosts: readonly string[] | undefined },
): Promise<SecretMeta | undefined> {
  const r = await sql.query<SecretMeta>(
    `UPDATE secrets SET ciphertext = $3, description = CASE WHEN $4::boolean THEN $5::text ELSE description END,
       allowed_hosts = COALESCE($6::text[], allowed_hosts)
     WHERE org_id = $1 AND name = $2 RETURNING ${META}`,
    [orgId, name, f.ciphertext, f.description !== undefined, f.description ?? null, f.allowedHosts ?? null],
  );
  return r.rows[0];
}

export async function deleteSecret(sql: Sql, orgId: string, name: string): Promise<boolean> {
  const r = await sql.query(`DELETE FROM secrets WHERE org_id = $1 AND name = $2`, [orgId, name]);
  return r.rowCount > 0;
}

/**
 * The sealed values of the named secrets and where each may be sent, marking them used in the same
 * statement. Updating only last_used_at does not fire the versioning trigger
 * (it watches ciphertext and description), so use is not a new version.
 */
export async function useSecrets(
  sql: Sql,
  orgId: string,
  names: readonly string[],
): Promise<{ name: string; ciphertext: string; allowedHosts: string[] }[]> {
  if (names.length === 0) return [];
  const r = await sql.query<{ name: string; ciphertext: string; allowedHosts: string[] }>(
    `UPDATE secrets SET last_used_at = now() WHERE org_id = $1 AND name = ANY($2::text[])
     RETURNING name, ciphertext, allowed_hosts AS "allowedHosts"`,
    [orgId, names],
  );
  return r.rows;
}
