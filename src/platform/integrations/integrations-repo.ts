import { uuidv7, type Sql } from '../../db/index.js';

export const INTEGRATION_STATUSES = ['pending', 'connected', 'expired', 'error', 'revoked', 'disabled'] as const;
export type IntegrationStatus = (typeof INTEGRATION_STATUSES)[number];
export type ClientAuth = 'basic' | 'post';

/** What the API shows of a token: its metadata. Never the token. */
export interface TokenMeta {
  tokenType: string;
  scopes: string[];
  expiresAt: Date | null;
  refreshTokenExpiresAt: Date | null;
  hasRefreshToken: boolean;
  source: 'authorization_code' | 'manual';
  obtainedAt: Date;
  refreshedAt: Date | null;
  lastUsedAt: Date | null;
}

/** An integration as the API shows it: no client secret, no tokens (only whether they are set). */
export interface Integration {
  id: string;
  userId: string;
  provider: string;
  displayName: string;
  providerAccountId: string | null;
  providerAccountName: string | null;
  config: Record<string, unknown>;
  scopes: string[];
  /** the hosts tools may send its token to */
  allowedHosts: string[];
  oauth: {
    authorizeUrl: string | null;
    tokenUrl: string | null;
    revocationUrl: string | null;
    redirectUri: string | null;
    clientId: string | null;
    clientSecretSet: boolean;
    clientAuth: ClientAuth;
    authorizeParams: Record<string, string>;
  };
  status: IntegrationStatus;
  lastUsedAt: Date | null;
  lastSyncAt: Date | null;
  lastError: string | null;
  token: TokenMeta | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** The columns an integration's fields are written to. */
export interface IntegrationFields {
  provider: string;
  displayName: string;
  providerAccountId: string | null;
  providerAccountName: string | null;
  config: Record<string, unknown>;
  scopes: string[];
  allowedHosts: string[];
  authorizeUrl: string | null;
  tokenUrl: string | null;
  revocationUrl: string | null;
  redirectUri: string | null;
  clientId: string | null;
  /** sealed; undefined in a patch keeps the stored one */
  clientSecretCiphertext: string | null;
  clientAuth: ClientAuth;
  authorizeParams: Record<string, string>;
}

/** The OAuth client settings with the sealed client secret: for the calls to the provider only. */
export interface OAuthClientRow {
  id: string;
  status: IntegrationStatus;
  scopes: string[];
  allowedHosts: string[];
  authorizeUrl: string | null;
  tokenUrl: string | null;
  revocationUrl: string | null;
  redirectUri: string | null;
  clientId: string | null;
  clientSecretCiphertext: string | null;
  clientAuth: ClientAuth;
  authorizeParams: Record<string, string>;
}

// Never selects client_secret_ciphertext or token ciphertext: only oauthClient
// (below) and tokens-repo's sealed reads do, so no API answer can carry them.
const VIEW = `i.id, i.user_id AS "userId", i.provider, i.display_name AS "displayName",
  i.provider_account_id AS "providerAccountId", i.provider_account_name AS "providerAccountName", i.config, i.scopes,
  i.allowed_hosts AS "allowedHosts",
  json_build_object('authorizeUrl', i.authorize_url, 'tokenUrl', i.token_url, 'revocationUrl', i.revocation_url,
    'redirectUri', i.redirect_uri, 'clientId', i.client_id, 'clientSecretSet', i.client_secret_ciphertext IS NOT NULL,
    'clientAuth', i.client_auth, 'authorizeParams', i.authorize_params) AS oauth,
  i.status, i.last_used_at AS "lastUsedAt", i.last_sync_at AS "lastSyncAt", i.last_error AS "lastError",
  CASE WHEN t.id IS NULL THEN NULL ELSE json_build_object('tokenType', t.token_type, 'scopes', t.scopes,
    'expiresAt', t.expires_at, 'refreshTokenExpiresAt', t.refresh_token_expires_at,
    'hasRefreshToken', t.refresh_token_ciphertext IS NOT NULL, 'source', t.source, 'obtainedAt', t.created_at,
    'refreshedAt', t.refreshed_at, 'lastUsedAt', t.last_used_at) END AS token,
  i.created_at AS "createdAt", i.updated_at AS "updatedAt", i.version`;
const FROM = `integrations i LEFT JOIN oauth_tokens t ON t.org_id = i.org_id AND t.integration_id = i.id`;

type Raw = Omit<Integration, 'token'> & { token: (Omit<TokenMeta, 'expiresAt' | 'refreshTokenExpiresAt' | 'obtainedAt' | 'refreshedAt' | 'lastUsedAt'> & Record<string, unknown>) | null };

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string));

// json_build_object renders timestamps as text: back to Dates, so every timestamp in an answer has one shape.
function fromRow(r: Raw): Integration {
  const t = r.token;
  return {
    ...r,
    token: t
      ? {
        tokenType: t.tokenType,
        scopes: t.scopes,
        expiresAt: date(t.expiresAt),
        refreshTokenExpiresAt: date(t.refreshTokenExpiresAt),
        hasRefreshToken: t.hasRefreshToken,
        source: t.source,
        obtainedAt: date(t.obtainedAt)!,
        refreshedAt: date(t.refreshedAt),
        lastUsedAt: date(t.lastUsedAt),
      }
      : null,
  };
}

export async function insertIntegration(sql: Sql, orgId: string, userId: string, f: IntegrationFields): Promise<string> {
  const id = uuidv7();
  await sql.query(
    `INSERT INTO integrations (id, org_id, user_id, provider, display_name, provider_account_id, provider_account_name, config, scopes,
       authorize_url, token_url, revocation_url, redirect_uri, client_id, client_secret_ciphertext, client_auth, authorize_params, allowed_hosts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::text[], $10, $11, $12, $13, $14, $15, $16, $17::jsonb, $18::text[])`,
    [id, orgId, userId, f.provider, f.displayName, f.providerAccountId, f.providerAccountName, JSON.stringify(f.config), f.scopes,
      f.authorizeUrl, f.tokenUrl, f.revocationUrl, f.redirectUri, f.clientId, f.clientSecretCiphertext, f.clientAuth, JSON.stringify(f.authorizeParams), f.allowedHosts],
  );
  return id;
}

export async function getIntegration(sql: Sql, orgId: string, id: string): Promise<Integration | undefined> {
  const r = await sql.query<Raw>(`SELECT ${VIEW} FROM ${FROM} WHERE i.org_id = $1 AND i.id = $2 AND i.deleted_at IS NULL`, [orgId, id]);
  return r.rows[0] && fromRow(r.rows[0]);
}

/** Row-locked: changes, token writes and deletes of one integration are serialized. */
export async function lockIntegration(sql: Sql, orgId: string, id: string): Promise<Integration | undefined> {
  const r = await sql.query<{ id: string }>(`SELECT id FROM integrations WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`, [orgId, id]);
  return r.rows[0] ? getIntegration(sql, orgId, id) : undefined;
}

export async function integrationExists(sql: Sql, orgId: string, id: string): Promise<boolean> {
  const r = await sql.query(`SELECT 1 FROM integrations WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, [orgId, id]);
  return r.rows.length > 0;
}

export async function listIntegrations(
  sql: Sql,
  orgId: string,
  f: { provider?: string | undefined; status?: IntegrationStatus | undefined; before?: { createdAt: string; id: string } | undefined; limit: number },
): Promise<Integration[]> {
  const r = await sql.query<Raw>(
    `SELECT ${VIEW} FROM ${FROM}
     WHERE i.org_id = $1 AND i.deleted_at IS NULL AND ($2::text IS NULL OR i.provider = $2) AND ($3::text IS NULL OR i.status = $3)
       AND ($4::timestamptz IS NULL OR (i.created_at, i.id) < ($4::timestamptz, $5::uuid))
     ORDER BY i.created_at DESC, i.id DESC LIMIT $6`,
    [orgId, f.provider ?? null, f.status ?? null, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows.map(fromRow);
}

/** Writes every field (the service merges a patch first); bumps version when it matches. */
export async function updateIntegration(sql: Sql, orgId: string, id: string, version: number, f: IntegrationFields & { status: IntegrationStatus }): Promise<boolean> {
  const r = await sql.query(
    `UPDATE integrations SET provider = $4, display_name = $5, provider_account_id = $6, provider_account_name = $7, config = $8::jsonb,
       scopes = $9::text[], authorize_url = $10, token_url = $11, revocation_url = $12, redirect_uri = $13, client_id = $14,
       client_secret_ciphertext = $15, client_auth = $16, authorize_params = $17::jsonb, status = $18,
       allowed_hosts = $19::text[], version = version + 1, updated_at = now()
     WHERE org_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL`,
    [orgId, id, version, f.provider, f.displayName, f.providerAccountId, f.providerAccountName, JSON.stringify(f.config), f.scopes,
      f.authorizeUrl, f.tokenUrl, f.revocationUrl, f.redirectUri, f.clientId, f.clientSecretCiphertext, f.clientAuth,
      JSON.stringify(f.authorizeParams), f.status, f.allowedHosts],
  );
  return r.rowCount > 0;
}

/** The sealed client secret of a live integration, for a patch that keeps it. */
export async function oauthClient(sql: Sql, orgId: string, id: string): Promise<OAuthClientRow | undefined> {
  const r = await sql.query<OAuthClientRow>(
    `SELECT id, status, scopes, allowed_hosts AS "allowedHosts", authorize_url AS "authorizeUrl", token_url AS "tokenUrl", revocation_url AS "revocationUrl",
       redirect_uri AS "redirectUri", client_id AS "clientId", client_secret_ciphertext AS "clientSecretCiphertext",
       client_auth AS "clientAuth", authorize_params AS "authorizeParams"
     FROM integrations WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
    [orgId, id],
  );
  return r.rows[0];
}

/**
 * The outcome of talking to the provider (a code exchange, a refresh, a
 * revocation, a failure): status and the error text (null clears it).
 * Service bookkeeping, not a user's edit: version stays.
 */
export async function setIntegrationState(
  sql: Sql,
  orgId: string,
  id: string,
  f: { status: IntegrationStatus; lastError: string | null; synced?: boolean },
): Promise<void> {
  await sql.query(
    `UPDATE integrations SET status = $3, last_error = $4, last_sync_at = CASE WHEN $5::boolean THEN now() ELSE last_sync_at END, updated_at = now()
     WHERE org_id = $1 AND id = $2`,
    [orgId, id, f.status, f.lastError === null ? null : f.lastError.slice(0, 2000), f.synced ?? false],
  );
}

export async function markIntegrationUsed(sql: Sql, orgId: string, id: string): Promise<void> {
  await sql.query(`UPDATE integrations SET last_used_at = now() WHERE org_id = $1 AND id = $2`, [orgId, id]);
}

/** The row stays for history; its sealed client secret does not (a credential is not history). */
export async function softDeleteIntegration(sql: Sql, orgId: string, id: string): Promise<void> {
  await sql.query(
    `UPDATE integrations SET deleted_at = now(), updated_at = now(), version = version + 1, client_secret_ciphertext = NULL WHERE org_id = $1 AND id = $2`,
    [orgId, id],
  );
}
