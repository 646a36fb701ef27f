import type { Sql } from '../../db/index.js';

export const SHARE_TYPES = ['public', 'private', 'link'] as const;
export type ShareType = (typeof SHARE_TYPES)[number];
export const SHARE_PERMISSIONS = ['read', 'comment', 'edit'] as const;
export type SharePermission = (typeof SHARE_PERMISSIONS)[number];

/** A share as its plan's members see it: never the token, its hash or the password hash. */
export interface ShareRow {
  id: string;
  planId: string;
  sharedByUserId: string;
  sharedWithUserId: string | null;
  tokenPrefix: string;
  shareType: ShareType;
  permissions: SharePermission[];
  isPublic: boolean;
  publicSlug: string | null;
  hasPassword: boolean;
  planVersion: number | null;
  accessCount: number;
  maxAccessCount: number | null;
  createdAt: Date;
  expiresAt: Date | null;
  lastAccessedAt: Date | null;
  isActive: boolean;
  revokedAt: Date | null;
}

/** What opening a share needs besides the row members see: the password hash and the guessing counters. */
export interface ShareSecretRow extends ShareRow {
  passwordHash: string | null;
  failedPasswordAttempts: number;
  failedPasswordWindowStart: Date | null;
}

const COLUMNS = `id, plan_id AS "planId", shared_by_user_id AS "sharedByUserId", shared_with_user_id AS "sharedWithUserId",
  share_token_prefix AS "tokenPrefix", share_type AS "shareType", permissions, is_public AS "isPublic",
  public_url_slug AS "publicSlug", password_hash IS NOT NULL AS "hasPassword", plan_version AS "planVersion",
  access_count AS "accessCount", max_access_count AS "maxAccessCount", created_at AS "createdAt", expires_at AS "expiresAt",
  last_accessed_at AS "lastAccessedAt", is_active AS "isActive", revoked_at AS "revokedAt"`;

export interface NewShare {
  id: string;
  planId: string;
  sharedByUserId: string;
  sharedWithUserId: string | null;
  tokenHash: string;
  tokenPrefix: string;
  shareType: ShareType;
  permissions: SharePermission[];
  publicSlug: string | null;
  passwordHash: string | null;
  planVersion: number | null;
  maxAccessCount: number | null;
  expiresAt: Date | null;
  at: Date;
}

export async function insertShare(sql: Sql, orgId: string, s: NewShare): Promise<ShareRow> {
  const r = await sql.query<ShareRow>(
    `INSERT INTO plan_shares (id, org_id, plan_id, shared_by_user_id, shared_with_user_id, share_token_hash, share_token_prefix,
       share_type, permissions, is_public, public_url_slug, password_hash, plan_version, max_access_count, expires_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[], $8::varchar = 'public', $10, $11, $12, $13, $14, $15)
     RETURNING ${COLUMNS}`,
    [s.id, orgId, s.planId, s.sharedByUserId, s.sharedWithUserId, s.tokenHash, s.tokenPrefix, s.shareType, s.permissions,
      s.publicSlug, s.passwordHash, s.planVersion, s.maxAccessCount, s.expiresAt?.toISOString() ?? null, s.at.toISOString()],
  );
  return r.rows[0]!;
}

/** A plan's shares, newest first (idx_plan_shares_plan_id). */
export async function listShares(
  sql: Sql, orgId: string, planId: string, f: { before?: { createdAt: string; id: string } | undefined; limit: number },
): Promise<ShareRow[]> {
  const r = await sql.query<ShareRow>(
    `SELECT ${COLUMNS} FROM plan_shares WHERE org_id = $1 AND plan_id = $2
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $5`,
    [orgId, planId, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

export async function getShareSecret(sql: Sql, orgId: string, id: string): Promise<ShareSecretRow | undefined> {
  const r = await sql.query<ShareSecretRow>(
    `SELECT ${COLUMNS}, password_hash AS "passwordHash", failed_password_attempts AS "failedPasswordAttempts",
       failed_password_window_start AS "failedPasswordWindowStart"
     FROM plan_shares WHERE org_id = $1 AND id = $2`,
    [orgId, id],
  );
  return r.rows[0];
}

/** Revokes a live share of the plan; undefined when there is none (unknown, another plan's, or revoked already). */
export async function revokeShare(sql: Sql, orgId: string, planId: string, id: string, at: Date): Promise<ShareRow | undefined> {
  const r = await sql.query<ShareRow>(
    `UPDATE plan_shares SET revoked_at = $4, is_active = false
     WHERE org_id = $1 AND plan_id = $2 AND id = $3 AND revoked_at IS NULL AND is_active
     RETURNING ${COLUMNS}`,
    [orgId, planId, id, at.toISOString()],
  );
  return r.rows[0];
}

/**
 * Counts one open, exactly: a single conditional UPDATE, so concurrent opens
 * of a share with an access limit queue on its row and at most the limit of
 * them succeed. Undefined when the share is used up (or was revoked or
 * expired meanwhile).
 */
export async function consumeAccess(sql: Sql, orgId: string, id: string, at: Date): Promise<{ accessCount: number } | undefined> {
  const r = await sql.query<{ accessCount: number }>(
    `UPDATE plan_shares SET access_count = access_count + 1, last_accessed_at = $3
     WHERE org_id = $1 AND id = $2 AND is_active AND revoked_at IS NULL
       AND (expires_at IS NULL OR expires_at > $3)
       AND (max_access_count IS NULL OR access_count < max_access_count)
     RETURNING access_count AS "accessCount"`,
    [orgId, id, at.toISOString()],
  );
  return r.rows[0];
}

/** The share a token hash or a slug names, found before the tenant is known (plan_share_find, SECURITY DEFINER). */
export async function findShare(sql: Sql, ref: { hash: string | null; slug: string | null }): Promise<{ id: string; orgId: string; planId: string } | undefined> {
  const r = await sql.query<{ id: string; orgId: string; planId: string }>(
    `SELECT id, org_id AS "orgId", plan_id AS "planId" FROM plan_share_find($1, $2)`,
    [ref.hash, ref.slug],
  );
  return r.rows[0];
}

export async function slugTaken(sql: Sql, slug: string): Promise<boolean> {
  // Slugs are unique across organizations: ask the lookup function, which sees every share.
  return (await findShare(sql, { hash: null, slug })) !== undefined;
}
