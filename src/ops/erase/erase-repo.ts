import type { Sql } from '../../db/index.js';

// ---- app role, tenant-scoped (the checks before an erasure)

export async function orgIdentity(sql: Sql, orgId: string): Promise<{ name: string; slug: string } | undefined> {
  const r = await sql.query<{ name: string; slug: string }>(`SELECT name, slug FROM organizations WHERE id = $1`, [orgId]);
  return r.rows[0];
}

/** Whether the user holds the built-in owner role in the organization (not merely orgs:write through a custom role). */
export async function isOwner(sql: Sql, orgId: string, userId: string): Promise<boolean> {
  const r = await sql.query<{ ok: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
       WHERE ur.org_id = $1 AND ur.user_id = $2 AND r.name = 'owner' AND r.org_id IS NULL) AS ok`,
    [orgId, userId],
  );
  return r.rows[0]?.ok === true;
}

// ---- owner role (the erasure itself crosses tenants: a person belongs to several)

export async function userEmail(sql: Sql, userId: string): Promise<string | undefined> {
  const r = await sql.query<{ email: string }>(`SELECT email FROM users WHERE id = $1`, [userId]);
  return r.rows[0]?.email;
}

export interface Membership {
  orgId: string;
  /** other members of the organization (any status, not deleted) */
  others: number;
  /** other holders of the owner role */
  otherOwners: number;
  isOwner: boolean;
}

/** The organizations a user belongs to, with who else is there. */
export async function membershipsOf(sql: Sql, userId: string): Promise<Membership[]> {
  const r = await sql.query<Membership>(
    `SELECT m.org_id AS "orgId",
       (SELECT count(*)::int FROM memberships o WHERE o.org_id = m.org_id AND o.user_id <> $1 AND o.deleted_at IS NULL) AS others,
       (SELECT count(*)::int FROM user_roles ur JOIN roles r ON r.id = ur.role_id
          WHERE ur.org_id = m.org_id AND ur.user_id <> $1 AND r.name = 'owner' AND r.org_id IS NULL) AS "otherOwners",
       EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
          WHERE ur.org_id = m.org_id AND ur.user_id = $1 AND r.name = 'owner' AND r.org_id IS NULL) AS "isOwner"
     FROM memberships m WHERE m.user_id = $1 AND m.deleted_at IS NULL ORDER BY m.org_id`,
    [userId],
  );
  return r.rows;
}

/** Members of the organization who belong to no other organization: their accounts go with it. */
export async function soleMembers(sql: Sql, orgId: string): Promise<string[]> {
  const r = await sql.query<{ id: string }>(
    `SELECT m.user_id AS id FROM memberships m
     WHERE m.org_id = $1
       AND NOT EXISTS (SELECT 1 FROM memberships o WHERE o.user_id = m.user_id AND o.org_id <> $1 AND o.deleted_at IS NULL)
     ORDER BY 1`,
    [orgId],
  );
  return r.rows.map((x) => x.id);
}

/**
 * Lets this transaction delete the organization's audit rows (migration 0028's
 * exception to append-only) and keeps the rollup triggers from re-inserting
 * aggregates for rows that leave (0028).
 */
export async function allowAuditErase(sql: Sql, orgId: string): Promise<void> {
  await sql.query(`SELECT set_config('agentbase.erase_org', $1, true), set_config('agentbase.skip_rollups', 'on', true)`, [orgId]);
}

export interface ErasureRecord {
  id: string;
  actor: string;
  actorUserId: string | null;
  action: 'organization.erased' | 'user.erased';
  resourceType: 'organization' | 'user';
  resourceId: string | null;
  orgId: string | null;
  details: Record<string, unknown>;
}

/** The platform keeps the fact of an erasure (platform_audit, 0023): counts, no names or emails. */
export async function recordErasure(sql: Sql, e: ErasureRecord): Promise<void> {
  await sql.query(
    `INSERT INTO platform_audit (id, actor, actor_user_id, action, resource_type, resource_id, subject_org_id, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
    [e.id, e.actor, e.actorUserId, e.action, e.resourceType, e.resourceId, e.orgId, JSON.stringify(e.details)],
  );
}
