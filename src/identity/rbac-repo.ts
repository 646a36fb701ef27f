import type { Sql } from '../db/index.js';

/**
 * Roles form a tree through parent_role_id; a role grants its own permissions
 * and everything its ancestors grant. Built-in roles (org_id NULL) are shared by
 * every organization; RLS shows each organization only those and its own.
 */

const MAX_ROLE_DEPTH = 16;

/**
 * The hot path of every authorized request: whether the session (if any) is
 * still live, whether the user is an active member, and the permissions their
 * roles grant with inheritance — one round trip, through a PL/pgSQL function
 * whose plan is cached (migration 0005 says why).
 */
export async function principalPermissions(
  sql: Sql,
  userId: string,
  sessionId: string | null,
): Promise<{ sessionLive: boolean; memberActive: boolean; permissions: string[] }> {
  const r = await sql.query<{ sessionLive: boolean; memberActive: boolean; permissions: string[] }>(
    `SELECT session_live AS "sessionLive", member_active AS "memberActive", permissions
     FROM app_principal_permissions($1, $2)`,
    [userId, sessionId],
  );
  return r.rows[0]!;
}

export interface PermissionRow {
  id: string;
  name: string;
  resource: string;
  action: string;
  description: string | null;
}

export async function listPermissions(sql: Sql): Promise<PermissionRow[]> {
  const r = await sql.query<PermissionRow>(
    `SELECT id, resource || ':' || action AS name, resource, action, description FROM permissions ORDER BY resource, action`,
  );
  return r.rows;
}

export interface RoleRow {
  id: string;
  name: string;
  description: string | null;
  parentRoleId: string | null;
  isSystem: boolean;
  permissions: string[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const ROLE_SELECT = `SELECT r.id, r.name, r.description, r.parent_role_id AS "parentRoleId", r.is_system AS "isSystem",
    coalesce((SELECT array_agg(p.resource || ':' || p.action ORDER BY p.resource, p.action)
              FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id WHERE rp.role_id = r.id), '{}') AS permissions,
    r.version, r.created_at AS "createdAt", r.updated_at AS "updatedAt"
  FROM roles r`;

export async function listRoles(sql: Sql): Promise<RoleRow[]> {
  const r = await sql.query<RoleRow>(`${ROLE_SELECT} WHERE r.deleted_at IS NULL ORDER BY r.is_system DESC, r.name`);
  return r.rows;
}

export async function getRole(sql: Sql, id: string): Promise<RoleRow | undefined> {
  const r = await sql.query<RoleRow>(`${ROLE_SELECT} WHERE r.id = $1 AND r.deleted_at IS NULL`, [id]);
  return r.rows[0];
}

/** A role by name: the organization's own custom role, or a built-in one. */
export async function getRoleByName(sql: Sql, name: string): Promise<RoleRow | undefined> {
  const r = await sql.query<RoleRow>(
    `${ROLE_SELECT} WHERE r.name = $1 AND r.deleted_at IS NULL ORDER BY r.is_system LIMIT 1`,
    [name],
  );
  return r.rows[0];
}

export async function insertRole(
  sql: Sql,
  orgId: string,
  role: { name: string; description: string | null; parentRoleId: string | null },
): Promise<string> {
  const r = await sql.query<{ id: string }>(
    `INSERT INTO roles (org_id, name, description, parent_role_id) VALUES ($1, $2, $3, $4) RETURNING id`,
    [orgId, role.name, role.description, role.parentRoleId],
  );
  return r.rows[0]!.id;
}

export async function updateRole(
  sql: Sql,
  id: string,
  version: number,
  patch: { description?: string | null; parentRoleId?: string | null },
): Promise<boolean> {
  const r = await sql.query(
    `UPDATE roles SET
       description = CASE WHEN $3 THEN $4 ELSE description END,
       parent_role_id = CASE WHEN $5 THEN $6::uuid ELSE parent_role_id END
     WHERE id = $1 AND version = $2 AND deleted_at IS NULL AND NOT is_system`,
    [id, version, patch.description !== undefined, patch.description ?? null, patch.parentRoleId !== undefined, patch.parentRoleId ?? null],
  );
  return r.rowCount > 0;
}

export async function softDeleteRole(sql: Sql, id: string): Promise<boolean> {
  const r = await sql.query(`UPDATE roles SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL AND NOT is_system`, [id]);
  if (r.rowCount > 0) {
    await sql.query(`DELETE FROM user_roles WHERE role_id = $1`, [id]);
    // Pending invitations would otherwise hand out a role that no longer exists.
    await sql.query(`UPDATE invitations SET revoked_at = now() WHERE role_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL`, [id]);
  }
  return r.rowCount > 0;
}

/** Replaces a custom role's permissions; returns the names that do not exist. */
export async function setRolePermissions(sql: Sql, orgId: string, roleId: string, names: string[]): Promise<string[]> {
  const found = await sql.query<{ id: string; name: string }>(
    `SELECT id, resource || ':' || action AS name FROM permissions WHERE resource || ':' || action = ANY($1::text[])`,
    [names],
  );
  const known = new Set(found.rows.map((x) => x.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) return unknown;
  await sql.query(`DELETE FROM role_permissions WHERE role_id = $1`, [roleId]);
  await sql.query(
    `INSERT INTO role_permissions (role_id, permission_id, org_id) SELECT $1, unnest($2::uuid[]), $3`,
    [roleId, found.rows.map((x) => x.id), orgId],
  );
  return [];
}

/** Ancestors of a role, nearest first (bounded), to refuse inheritance cycles. */
export async function roleAncestors(sql: Sql, roleId: string): Promise<string[]> {
  const r = await sql.query<{ id: string }>(
    `WITH RECURSIVE up(id, parent_role_id, depth) AS (
       SELECT id, parent_role_id, 0 FROM roles WHERE id = $1
       UNION ALL
       SELECT r.id, r.parent_role_id, up.depth + 1 FROM up JOIN roles r ON r.id = up.parent_role_id
       WHERE up.depth < ${MAX_ROLE_DEPTH + 1}
     ) SELECT id FROM up ORDER BY depth`,
    [roleId],
  );
  return r.rows.map((x) => x.id);
}

export async function memberRoleNames(sql: Sql, userId: string): Promise<string[]> {
  const r = await sql.query<{ name: string }>(
    `SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id AND r.deleted_at IS NULL WHERE ur.user_id = $1 ORDER BY r.name`,
    [userId],
  );
  return r.rows.map((x) => x.name);
}

export async function setMemberRoles(sql: Sql, orgId: string, userId: string, roleIds: string[], grantedBy: string | null): Promise<void> {
  await sql.query(`DELETE FROM user_roles WHERE user_id = $1 AND NOT (role_id = ANY($2::uuid[]))`, [userId, roleIds]);
  await sql.query(
    `INSERT INTO user_roles (org_id, user_id, role_id, granted_by) SELECT $1, $2, unnest($3::uuid[]), $4
     ON CONFLICT DO NOTHING`,
    [orgId, userId, roleIds, grantedBy],
  );
}

export async function ownerCount(sql: Sql): Promise<number> {
  const r = await sql.query<{ n: number }>(
    `SELECT count(DISTINCT ur.user_id)::int AS n FROM user_roles ur
     JOIN roles r ON r.id = ur.role_id AND r.is_system AND r.name = 'owner'
     JOIN memberships m ON m.org_id = ur.org_id AND m.user_id = ur.user_id AND m.deleted_at IS NULL`,
  );
  return r.rows[0]?.n ?? 0;
}

/** Everything a role grants, its ancestors' permissions included. */
export async function roleEffectivePermissions(sql: Sql, roleId: string): Promise<string[]> {
  const r = await sql.query<{ perm: string }>(
    `WITH RECURSIVE up(id, parent_role_id, depth) AS (
       SELECT id, parent_role_id, 1 FROM roles WHERE id = $1 AND deleted_at IS NULL
       UNION
       SELECT r.id, r.parent_role_id, up.depth + 1 FROM up JOIN roles r ON r.id = up.parent_role_id AND r.deleted_at IS NULL
       WHERE up.depth < ${MAX_ROLE_DEPTH}
     )
     SELECT DISTINCT p.resource || ':' || p.action AS perm
     FROM up JOIN role_permissions rp ON rp.role_id = up.id JOIN permissions p ON p.id = rp.permission_id`,
    [roleId],
  );
  return r.rows.map((x) => x.perm);
}
