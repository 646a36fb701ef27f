import type { Sql } from '../../db/index.js';

/** One row of platform_admins with the user's email, for `agentbase admin list`. */
export interface PlatformAdminRow {
  userId: string;
  email: string;
  grantedAt: Date;
  grantedBy: string;
  note: string | null;
}

/** What platform_audit records of one action (the chain columns are the trigger's). */
export interface PlatformAuditEntry {
  id: string;
  actor: string;
  actorUserId: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  orgId: string | null;
  details: Record<string, unknown>;
}

// ---- owner role (the CLI): platform_admins is not readable by the app role

export async function userIdByEmail(sql: Sql, email: string): Promise<string | undefined> {
  const r = await sql.query<{ id: string }>(`SELECT id FROM users WHERE email = lower($1) AND deleted_at IS NULL`, [email]);
  return r.rows[0]?.id;
}

/** Inserts the grant; false when the user already is one. */
export async function insertAdmin(sql: Sql, userId: string, grantedBy: string, note: string | null): Promise<boolean> {
  const r = await sql.query(
    `INSERT INTO platform_admins (user_id, granted_by, note) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING`,
    [userId, grantedBy, note],
  );
  return r.rowCount === 1;
}

/** Removes the grant, returning what it was (for the audit row); undefined when there was none. */
export async function deleteAdmin(sql: Sql, userId: string): Promise<{ grantedAt: Date; grantedBy: string; note: string | null } | undefined> {
  const r = await sql.query<{ grantedAt: Date; grantedBy: string; note: string | null }>(
    `DELETE FROM platform_admins WHERE user_id = $1 RETURNING granted_at AS "grantedAt", granted_by AS "grantedBy", note`,
    [userId],
  );
  return r.rows[0];
}

export async function listAdmins(sql: Sql): Promise<PlatformAdminRow[]> {
  const r = await sql.query<PlatformAdminRow>(
    `SELECT a.user_id AS "userId", u.email, a.granted_at AS "grantedAt", a.granted_by AS "grantedBy", a.note
     FROM platform_admins a JOIN users u ON u.id = a.user_id ORDER BY a.granted_at, u.email`,
  );
  return r.rows;
}

// ---- either role

/** The one read of platform_admins the app role has (migration 0023's SECURITY DEFINER function). */
export async function adminCheck(sql: Sql, userId: string): Promise<boolean> {
  const r = await sql.query<{ ok: boolean }>(`SELECT platform_admin_check($1) AS ok`, [userId]);
  return r.rows[0]?.ok === true;
}

/** Appends to the platform chain; the trigger numbers, times and hashes the row. */
export async function appendPlatformAudit(sql: Sql, e: PlatformAuditEntry): Promise<void> {
  await sql.query(
    `INSERT INTO platform_audit (id, actor, actor_user_id, action, resource_type, resource_id, subject_org_id, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
    [e.id, e.actor, e.actorUserId, e.action, e.resourceType, e.resourceId, e.orgId, JSON.stringify(e.details)],
  );
}

/** The first row of the platform chain that does not verify (undefined: intact). Owner role. */
export async function platformAuditFirstBreak(sql: Sql): Promise<number | undefined> {
  const r = await sql.query<{ seq: string | null }>(`SELECT platform_audit_first_break()::text AS seq`);
  const s = r.rows[0]?.seq;
  return s == null ? undefined : Number(s);
}
