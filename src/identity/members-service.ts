import { appendAudit, type Actor } from '../audit/index.js';
import type { Sql } from '../db/index.js';
import { AppError, badRequest, conflict, notFound } from '../errors.js';
import type { IdentityDeps } from './deps.js';
import * as orgs from './orgs-repo.js';
import { hashPassword } from './passwords.js';
import { checkCredentials } from './credentials.js';
import { baseUsername } from './auth-service.js';
import type { Principal, RequestMeta } from './principal.js';
import * as rbac from './rbac-repo.js';
import { randomToken, sha256hex } from './secrets.js';
import { startSession, tokenPair, type TokenPair } from './session-tokens.js';
import { revokeUserApiKeys } from './api-keys-repo.js';
import { revokeUserSessions } from './sessions-repo.js';
import { findUserIdByEmail, getUser, insertUser, usernameExists } from './users-repo.js';

const INVITE_PREFIX = 'abi_';

/** Granting a role needs every permission it carries: nobody hands out more than they have. */
async function assertGrantable(sql: Sql, role: rbac.RoleRow, held: Set<string>): Promise<void> {
  const missing = (await rbac.roleEffectivePermissions(sql, role.id)).filter((p) => !held.has(p));
  if (missing.length) {
    throw new AppError(403, 'forbidden', `you cannot grant the role ${role.name}: it carries permissions you do not hold (${missing.join(', ')})`, {
      missing,
    });
  }
}

async function roleByNameOr400(sql: Sql, name: string): Promise<rbac.RoleRow> {
  const role = await rbac.getRoleByName(sql, name);
  if (!role) throw badRequest(`there is no role named ${name}; see GET /v1/roles`, { field: 'role' });
  return role;
}

// ------------------------------------------------------------------ invitations

export async function createInvitation(
  deps: IdentityDeps,
  actor: Actor,
  held: Set<string>,
  input: { email: string; role: string; expiresInDays: number },
): Promise<{ invitation: orgs.InvitationRow; token: string }> {
  const email = input.email.toLowerCase();
  return deps.db.tenant(actor.orgId, async (sql) => {
    const role = await roleByNameOr400(sql, input.role);
    await assertGrantable(sql, role, held);
    const existing = await findUserIdByEmail(sql, email);
    if (existing && (await orgs.isActiveMember(sql, existing))) {
      throw conflict(`${email} is already a member of this organization`);
    }
    const token = randomToken(INVITE_PREFIX);
    const invitation = await orgs.insertInvitation(sql, actor.orgId, {
      email,
      roleId: role.id,
      tokenHash: sha256hex(token),
      invitedBy: actor.userId,
      expiresAt: new Date(Date.now() + input.expiresInDays * 86_400_000),
    });
    await appendAudit(sql, actor, { action: 'invitation.created', resourceType: 'invitation', resourceId: invitation.id, newValues: invitation });
    return { invitation, token };
  });
}

export function listInvitations(deps: IdentityDeps, orgId: string, pendingOnly: boolean) {
  return deps.db.tenant(orgId, (sql) => orgs.listInvitations(sql, pendingOnly));
}

export async function revokeInvitation(deps: IdentityDeps, actor: Actor, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const inv = await orgs.getInvitationForUpdate(sql, id);
    if (!inv) throw notFound('invitation', id);
    if (inv.acceptedAt) throw conflict('this invitation was already accepted; remove the member instead');
    if (inv.revokedAt) return;
    await orgs.markInvitation(sql, id, 'revoked', null);
    await appendAudit(sql, actor, { action: 'invitation.revoked', resourceType: 'invitation', resourceId: id, oldValues: inv });
  });
}

export interface AcceptInput {
  token: string;
  password?: string;
  mfaCode?: string;
  recoveryCode?: string;
  fullName?: string;
  username?: string;
}

/**
 * Joins the invitation's organization. A signed-in user whose email matches
 * joins as they are; someone without an account gets one (password required).
 */
export async function acceptInvitation(
  deps: IdentityDeps,
  caller: Principal | null,
  input: AcceptInput,
  meta: RequestMeta,
): Promise<{ organizationId: string; userId: string; tokens: TokenPair }> {
  const gone = () => notFound('invitation');
  if (caller && caller.kind !== 'user') {
    throw new AppError(403, 'forbidden', 'accept invitations as a signed-in user, not with an API key');
  }
  if (!input.token.startsWith(INVITE_PREFIX)) throw gone();
  const found = await deps.db.transaction((sql) => orgs.findInvitationByTokenHash(sql, sha256hex(input.token)));
  if (!found) throw gone();
  const callerEmail = caller ? ((await deps.db.transaction((sql) => getUser(sql, caller.userId)))?.email ?? null) : null;
  // Someone who already has an account (a former member, say) accepts with
  // their password instead of a token; otherwise a new account is made.
  const existingId = caller ? undefined : await deps.db.transaction((sql) => findUserIdByEmail(sql, found.email));
  if (!caller && existingId) {
    if (!input.password) throw badRequest('an account exists for this email: send its password, or accept while signed in', { field: 'password' });
    // Exactly the checks of a login: counted failures, lockout, and the second factor when it is on.
    await checkCredentials(deps, existingId, { password: input.password, mfaCode: input.mfaCode, recoveryCode: input.recoveryCode });
  }
  if (!caller && !existingId && input.password !== undefined && input.password.length < 10) {
    throw new AppError(400, 'validation_failed', 'body.password: must be at least 10 characters', {
      issues: [{ path: 'body.password', message: 'must be at least 10 characters' }],
    });
  }
  const passwordHash = !caller && !existingId && input.password ? await hashPassword(input.password) : undefined;
  const out = await deps.db.tenant(found.orgId, async (sql) => {
    await orgs.lockOrganization(sql, found.orgId);
    const inv = await orgs.getInvitationForUpdate(sql, found.id);
    if (!inv || inv.revokedAt) throw gone();
    if (inv.acceptedAt) throw conflict('this invitation was already accepted');
    if (inv.expiresAt.getTime() <= Date.now()) throw new AppError(409, 'conflict', 'this invitation has expired; ask for a new one');
    let userId: string;
    if (caller) {
      if (callerEmail !== inv.email) {
        throw new AppError(403, 'forbidden', `this invitation is for ${inv.email}; sign in as that user to accept it`);
      }
      userId = caller.userId;
    } else if (existingId) {
      userId = existingId;
    } else {
      if (!passwordHash) throw badRequest('password is required to create your account', { field: 'password' });
      const base = input.username ?? baseUsername(inv.email);
      const username = input.username || !(await usernameExists(sql, base)) ? base : `${base}-${found.id.slice(0, 6)}`;
      userId = (await insertUser(sql, { email: inv.email, username, fullName: input.fullName ?? null, passwordHash })).id;
    }
    const org = await orgs.getOrg(sql, found.orgId);
    if (!org) throw gone();
    if (await orgs.isActiveMember(sql, userId)) throw conflict('you are already a member of this organization');
    if ((await orgs.activeMemberCount(sql)) >= org.maxTeamMembers) {
      throw new AppError(402, 'quota_exceeded', `this organization has reached its limit of ${org.maxTeamMembers} members`, {
        limit: org.maxTeamMembers,
      });
    }
    await orgs.upsertMembership(sql, found.orgId, userId, inv.invitedBy);
    await rbac.setMemberRoles(sql, found.orgId, userId, [inv.roleId], inv.invitedBy);
    await orgs.markInvitation(sql, inv.id, 'accepted', userId);
    const session = await startSession(sql, deps, { orgId: found.orgId, userId, meta, mfaVerified: false });
    await appendAudit(
      sql,
      { orgId: found.orgId, actorType: 'user', userId, sessionId: session.sessionId, ...meta },
      { action: 'member.joined', resourceType: 'member', resourceId: userId, newValues: { role: inv.role, invitationId: inv.id } },
    );
    return { userId, session };
  });
  return {
    organizationId: found.orgId,
    userId: out.userId,
    tokens: await tokenPair(deps, { orgId: found.orgId, userId: out.userId, ...out.session }),
  };
}

// ---------------------------------------------------------------------- members

export function listMembers(deps: IdentityDeps, orgId: string, opts: Parameters<typeof orgs.listMembers>[1]) {
  return deps.db.tenant(orgId, (sql) => orgs.listMembers(sql, opts));
}

export async function getMember(deps: IdentityDeps, orgId: string, userId: string): Promise<orgs.MemberRow> {
  const rows = await deps.db.tenant(orgId, (sql) => orgs.listMembers(sql, { limit: 1, userId }));
  if (!rows[0]) throw notFound('member', userId);
  return rows[0];
}

export async function setMemberRoles(
  deps: IdentityDeps,
  actor: Actor,
  held: Set<string>,
  userId: string,
  roleNames: string[],
): Promise<orgs.MemberRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    await orgs.lockOrganization(sql, actor.orgId);
    if (!(await orgs.isActiveMember(sql, userId))) throw notFound('member', userId);
    const before = await rbac.memberRoleNames(sql, userId);
    const roles = [];
    for (const name of new Set(roleNames)) {
      const role = await roleByNameOr400(sql, name);
      await assertGrantable(sql, role, held);
      roles.push(role);
    }
    // Taking a role away needs the same standing as granting it.
    for (const name of before.filter((n) => !roleNames.includes(n))) {
      const role = await rbac.getRoleByName(sql, name);
      if (role) await assertGrantable(sql, role, held);
    }
    await rbac.setMemberRoles(sql, actor.orgId, userId, roles.map((r) => r.id), actor.userId);
    if ((await rbac.ownerCount(sql)) === 0) throw conflict('an organization needs at least one owner; make someone else owner first');
    await appendAudit(sql, actor, {
      action: 'member.roles_changed',
      resourceType: 'member',
      resourceId: userId,
      oldValues: { roles: before },
      newValues: { roles: roles.map((r) => r.name).sort() },
    });
    return (await orgs.listMembers(sql, { limit: 1, userId }))[0]!;
  });
}

export async function removeMember(deps: IdentityDeps, actor: Actor, held: Set<string>, userId: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    await orgs.lockOrganization(sql, actor.orgId);
    if (!(await orgs.isActiveMember(sql, userId))) throw notFound('member', userId);
    const roles = await rbac.memberRoleNames(sql, userId);
    for (const name of roles) {
      const role = await rbac.getRoleByName(sql, name);
      if (role) await assertGrantable(sql, role, held);
    }
    await orgs.removeMembership(sql, userId);
    await rbac.setMemberRoles(sql, actor.orgId, userId, [], actor.userId);
    if ((await rbac.ownerCount(sql)) === 0) throw conflict('an organization needs at least one owner; make someone else owner first');
    // Their sessions and keys in this organization end with the membership.
    await revokeUserSessions(sql, userId, 'membership_ended');
    await revokeUserApiKeys(sql, userId);
    await appendAudit(sql, actor, { action: 'member.removed', resourceType: 'member', resourceId: userId, oldValues: { roles } });
  });
}
