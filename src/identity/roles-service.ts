import { appendAudit, type Actor } from '../audit/index.js';
import type { Sql } from '../db/index.js';
import { AppError, badRequest, conflict, notFound, versionConflict } from '../errors.js';
import { isPgError } from '../db/index.js';
import type { IdentityDeps } from './deps.js';
import * as orgsRepo from './orgs-repo.js';
import * as rbac from './rbac-repo.js';

const SYSTEM_ROLES = new Set(['owner', 'admin', 'member', 'viewer']);

export function listRoles(deps: IdentityDeps, orgId: string) {
  return deps.db.tenant(orgId, (sql) => rbac.listRoles(sql));
}

export function listPermissions(deps: IdentityDeps, orgId: string) {
  return deps.db.tenant(orgId, (sql) => rbac.listPermissions(sql));
}

export async function getRole(deps: IdentityDeps, orgId: string, id: string): Promise<rbac.RoleRow> {
  const role = await deps.db.tenant(orgId, (sql) => rbac.getRole(sql, id));
  if (!role) throw notFound('role', id);
  return role;
}

async function resolveParent(sql: Sql, parent: string | null | undefined): Promise<string | null | undefined> {
  if (parent === undefined || parent === null) return parent;
  const role = await rbac.getRoleByName(sql, parent);
  if (!role) throw badRequest(`there is no role named ${parent} to inherit from`, { field: 'parent' });
  return role.id;
}

/** Unknown names are a bad request (400), checked before whether the caller holds them (403). */
async function assertKnownPermissions(sql: Sql, perms: string[]): Promise<void> {
  const known = new Set((await rbac.listPermissions(sql)).map((p) => p.name));
  const unknown = [...new Set(perms)].filter((p) => !known.has(p));
  if (unknown.length) throw badRequest(`unknown permissions: ${unknown.join(', ')}; see GET /v1/permissions`, { unknown });
}

function assertPermissionsHeld(perms: string[], held: Set<string>): void {
  const missing = perms.filter((p) => !held.has(p));
  if (missing.length) {
    throw new AppError(403, 'forbidden', `you cannot put permissions you do not hold into a role: ${missing.join(', ')}`, { missing });
  }
}

export async function createRole(
  deps: IdentityDeps,
  actor: Actor,
  held: Set<string>,
  input: { name: string; description?: string; parent?: string; permissions: string[] },
): Promise<rbac.RoleRow> {
  if (SYSTEM_ROLES.has(input.name)) throw conflict(`${input.name} is a built-in role name; choose another`);
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      await orgsRepo.lockOrganization(sql, actor.orgId);
      await assertKnownPermissions(sql, input.permissions);
      assertPermissionsHeld(input.permissions, held);
      const parentRoleId = (await resolveParent(sql, input.parent)) ?? null;
      if (parentRoleId) {
        const inherited = await rbac.roleEffectivePermissions(sql, parentRoleId);
        assertPermissionsHeld(inherited, held);
      }
      const id = await rbac.insertRole(sql, actor.orgId, { name: input.name, description: input.description ?? null, parentRoleId });
      const unknown = await rbac.setRolePermissions(sql, actor.orgId, id, [...new Set(input.permissions)]);
      if (unknown.length) throw badRequest(`unknown permissions: ${unknown.join(', ')}; see GET /v1/permissions`, { unknown });
      const role = (await rbac.getRole(sql, id))!;
      await appendAudit(sql, actor, { action: 'role.created', resourceType: 'role', resourceId: id, newValues: role });
      return role;
    });
  } catch (err) {
    if (isPgError(err, '23505')) throw conflict(`a role named ${input.name} already exists`);
    throw err;
  }
}

export async function updateRole(
  deps: IdentityDeps,
  actor: Actor,
  held: Set<string>,
  id: string,
  input: { version: number; description?: string | null; parent?: string | null; permissions?: string[] },
): Promise<rbac.RoleRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    await orgsRepo.lockOrganization(sql, actor.orgId);
    const before = await rbac.getRole(sql, id);
    if (!before) throw notFound('role', id);
    if (before.isSystem) throw new AppError(403, 'forbidden', 'built-in roles cannot be changed; create a custom role instead');
    if (input.permissions) {
      await assertKnownPermissions(sql, input.permissions);
      assertPermissionsHeld(input.permissions, held);
    }
    const parentRoleId = await resolveParent(sql, input.parent);
    if (parentRoleId) {
      if ((await rbac.roleAncestors(sql, parentRoleId)).includes(id)) {
        throw badRequest(`role ${input.parent} inherits from this role, so it cannot be its parent (that would be a cycle)`, { field: 'parent' });
      }
      assertPermissionsHeld(await rbac.roleEffectivePermissions(sql, parentRoleId), held);
    }
    if (!(await rbac.updateRole(sql, id, input.version, { description: input.description, parentRoleId }))) {
      throw versionConflict('role', input.version);
    }
    if (input.permissions) {
      const unknown = await rbac.setRolePermissions(sql, actor.orgId, id, [...new Set(input.permissions)]);
      if (unknown.length) throw badRequest(`unknown permissions: ${unknown.join(', ')}; see GET /v1/permissions`, { unknown });
    }
    const after = (await rbac.getRole(sql, id))!;
    await appendAudit(sql, actor, { action: 'role.updated', resourceType: 'role', resourceId: id, oldValues: before, newValues: after });
    return after;
  });
}

export async function deleteRole(deps: IdentityDeps, actor: Actor, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    await orgsRepo.lockOrganization(sql, actor.orgId);
    const before = await rbac.getRole(sql, id);
    if (!before) throw notFound('role', id);
    if (before.isSystem) throw new AppError(403, 'forbidden', 'built-in roles cannot be deleted');
    await rbac.softDeleteRole(sql, id);
    await appendAudit(sql, actor, { action: 'role.deleted', resourceType: 'role', resourceId: id, oldValues: before });
  });
}

// ------------------------------------------------------------------ organization

export async function getOrganization(deps: IdentityDeps, orgId: string): Promise<orgsRepo.OrgRow> {
  const org = await deps.db.tenant(orgId, (sql) => orgsRepo.getOrg(sql, orgId));
  if (!org) throw notFound('organization', orgId);
  return org;
}

export async function updateOrganization(
  deps: IdentityDeps,
  actor: Actor,
  version: number,
  patch: orgsRepo.OrgPatch,
): Promise<orgsRepo.OrgRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await orgsRepo.getOrg(sql, actor.orgId);
    if (!before) throw notFound('organization', actor.orgId);
    const after = await orgsRepo.updateOrg(sql, actor.orgId, version, patch);
    if (!after) throw versionConflict('organization', version);
    await appendAudit(sql, actor, { action: 'organization.updated', resourceType: 'organization', resourceId: actor.orgId, oldValues: before, newValues: after });
    return after;
  });
}
