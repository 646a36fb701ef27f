import { randomUUID } from 'node:crypto';
import type { AdminSql, Database, Sql } from '../../db/index.js';
import { AppError } from '../../errors.js';
import { allTables, deleteWhere, count, ident, nullWhere, tenantTables, userColumns } from './catalog-repo.js';
import * as repo from './erase-repo.js';

/**
 * Terminology:
 * - erasure:   removing every row of an organization, or every row and every
 *              mention of a person, from every table; not a soft delete.
 * - step-up:   the password (and the two-factor code when the account has it
 *              on) asked again right before the erasure, so a stolen access
 *              token alone cannot erase anything.
 * - residual:  after the structured pass, any row whose text still holds the
 *              person's id or email (a job payload, a webhook event, free text).
 */

export interface StepUpInput {
  password: string;
  mfaCode?: string;
  recoveryCode?: string;
}

export interface EraseDeps {
  db: Database;
  /** checks the password and, when enabled, the second factor (identity's checkCredentials) */
  stepUp(userId: string, input: StepUpInput): Promise<void>;
}

export interface Caller {
  kind: 'user' | 'api_key';
  userId: string;
  orgId: string;
}

export interface EraseInput {
  confirm?: string;
  password?: string;
  mfaCode?: string;
  recoveryCode?: string;
}

export type Counts = Record<string, number>;

export interface OrgErasure {
  erasureId: string;
  organizationId: string;
  erasedAt: string;
  usersErased: number;
  tables: Counts;
}

export interface UserErasure {
  erasureId: string;
  erasedAt: string;
  organizationsErased: number;
  tables: Counts;
}

// Never deleted by the residual pass: the identity core (a row here naming the
// person belongs to someone else, whose account or organization must survive),
// the append-only audit chains and the migration ledger.
const RESIDUAL_EXEMPT = new Set([
  'users', 'organizations', 'memberships', 'user_credentials', 'roles', 'role_permissions', 'permissions',
  'audit_logs', 'audit_chain_heads', 'platform_audit', 'platform_audit_head', 'schema_migrations',
]);
// Columns the structured pass leaves alone: audit_pii rows are deleted whole;
// the chains cannot be updated (rows since 0028 carry no user id; see README).
const USER_COLUMN_EXEMPT = new Set(['audit_pii', 'audit_logs', 'platform_audit']);

const add = (into: Counts, table: string, n: number) => {
  if (n > 0) into[table] = (into[table] ?? 0) + n;
};

function apiKeyRefused(): AppError {
  return new AppError(403, 'forbidden', 'erasure needs a signed-in user (an access token), not an API key');
}

function confirmationRequired(message: string): AppError {
  return new AppError(400, 'confirmation_required', message);
}

async function stepUp(deps: EraseDeps, userId: string, input: EraseInput): Promise<void> {
  if (!input.password) throw confirmationRequired('send your password as password (and mfaCode when two-factor authentication is on) to confirm it is you');
  await deps.stepUp(userId, { password: input.password, mfaCode: input.mfaCode, recoveryCode: input.recoveryCode });
}

/** Deletes one organization's rows from every table that has org_id; returns the sole members to erase with it. */
async function eraseOrgRows(sql: AdminSql, orgId: string, counts: Counts): Promise<string[]> {
  await repo.allowAuditErase(sql, orgId);
  const users = await repo.soleMembers(sql, orgId);
  const tables = await tenantTables(sql);
  for (const t of tables) add(counts, t, await count(sql, t, 'org_id = $1', [orgId]));
  add(counts, 'organizations', await deleteWhere(sql, 'organizations', 'id = $1', [orgId]));
  // The organization's cascade took the tables with foreign keys; partitioned
  // tables keep none, and rollup triggers may write while rows go: repeat
  // until a pass finds nothing left.
  for (let pass = 0; pass < 4; pass++) {
    let removed = 0;
    for (const t of tables) removed += await deleteWhere(sql, t, 'org_id = $1', [orgId]);
    if (removed === 0) break;
  }
  return users;
}

/** Removes a person's account and every row or mention of them; rows of organizations that continue lose only the mention. */
async function eraseUserRows(sql: AdminSql, userId: string, email: string, counts: Counts): Promise<void> {
  const cols = (await userColumns(sql)).filter((c) => !USER_COLUMN_EXEMPT.has(c.table));
  // Rows that cannot outlive the person: no-action foreign keys (a plan is its traveller's) and NOT NULL columns without one.
  for (const c of cols) {
    if (c.onDelete === 'a' || c.onDelete === 'r' || (c.onDelete === null && !c.nullable)) {
      add(counts, c.table, await deleteWhere(sql, c.table, `${ident(c.column)} = $1`, [userId]));
    }
  }
  add(counts, 'audit_pii', await deleteWhere(sql, 'audit_pii', 'user_id = $1 OR subject_user_id = $1', [userId]));
  add(counts, 'users', await deleteWhere(sql, 'users', 'id = $1', [userId]));
  for (const c of cols) {
    if (c.onDelete === null && c.nullable) add(counts, `${c.table}.${c.column}`, await nullWhere(sql, c.table, c.column, userId));
  }
  const needles = [userId.toLowerCase(), email.toLowerCase()];
  for (const t of await allTables(sql)) {
    if (RESIDUAL_EXEMPT.has(t)) continue;
    add(counts, t, await deleteWhere(sql, t, `strpos(lower(x::text), $1) > 0 OR strpos(lower(x::text), $2) > 0`, needles));
  }
}

async function ownerCheck(deps: EraseDeps, caller: Caller): Promise<{ name: string; slug: string }> {
  if (caller.kind !== 'user') throw apiKeyRefused();
  const found = await deps.db.tenant(caller.orgId, async (sql: Sql) => {
    const org = await repo.orgIdentity(sql, caller.orgId);
    return org && (await repo.isOwner(sql, caller.orgId, caller.userId)) ? org : undefined;
  });
  if (!found) throw new AppError(403, 'forbidden', "only the organization's owner may erase it");
  return found;
}

/**
 * DELETE /v1/org: synchronous, one owner-role transaction, so an erasure is
 * complete or has not happened. Owner role because the app role may not delete
 * audit rows and a sole member's account lives outside the tenant.
 */
export async function eraseOrganization(deps: EraseDeps, caller: Caller, input: EraseInput): Promise<OrgErasure> {
  const org = await ownerCheck(deps, caller);
  if (input.confirm !== org.slug && input.confirm !== org.name) {
    throw confirmationRequired(`send confirm with the organization's slug (${org.slug}) or name to erase it and all its data`);
  }
  await stepUp(deps, caller.userId, input);
  const erasureId = randomUUID();
  return deps.db.admin.transaction(async (sql) => {
    const counts: Counts = {};
    const users = await eraseOrgRows(sql, caller.orgId, counts);
    let usersErased = 0;
    for (const u of users) {
      const email = await repo.userEmail(sql, u);
      if (email === undefined) continue;
      await eraseUserRows(sql, u, email, counts);
      usersErased += 1;
    }
    const callerErased = users.includes(caller.userId);
    await repo.recordErasure(sql, {
      id: erasureId,
      actor: 'owner',
      // an owner whose account went with the organization is not named: their id is erased too
      actorUserId: callerErased ? null : caller.userId,
      action: 'organization.erased',
      resourceType: 'organization',
      resourceId: caller.orgId,
      orgId: caller.orgId,
      details: { usersErased, tables: counts },
    });
    return { erasureId, organizationId: caller.orgId, erasedAt: new Date().toISOString(), usersErased, tables: counts };
  });
}

/**
 * DELETE /v1/users/{id}: only the person themself. Organizations where they
 * were the only member are erased with them; one where they are the only
 * owner among other members is refused (409) until ownership moves on.
 */
export async function eraseUser(deps: EraseDeps, caller: Caller, userId: string, input: EraseInput): Promise<UserErasure> {
  if (caller.kind !== 'user') throw apiKeyRefused();
  if (caller.userId !== userId) {
    throw new AppError(403, 'forbidden', 'only the person themself may erase their account; to remove a member from an organization use DELETE /v1/members/{id}');
  }
  const email = await repo.userEmail(deps.db.admin, userId);
  if (email === undefined) throw new AppError(404, 'not_found', `user ${userId} does not exist`);
  if (typeof input.confirm !== 'string' || input.confirm.toLowerCase() !== email.toLowerCase()) {
    throw confirmationRequired('send confirm with your account email to erase your account and personal data everywhere');
  }
  await stepUp(deps, userId, input);
  const erasureId = randomUUID();
  return deps.db.admin.transaction(async (sql) => {
    const memberships = await repo.membershipsOf(sql, userId);
    const stuck = memberships.filter((m) => m.isOwner && m.otherOwners === 0 && m.others > 0).map((m) => m.orgId);
    if (stuck.length) {
      throw new AppError(409, 'conflict', 'you are the only owner of an organization that has other members: give another member the owner role, or erase the organization, first', { organizationIds: stuck });
    }
    const counts: Counts = {};
    const soleOrgs = memberships.filter((m) => m.others === 0).map((m) => m.orgId);
    for (const orgId of soleOrgs) {
      const orgCounts: Counts = {};
      await eraseOrgRows(sql, orgId, orgCounts);
      for (const [t, n] of Object.entries(orgCounts)) add(counts, t, n);
      await repo.recordErasure(sql, {
        id: randomUUID(), actor: 'self', actorUserId: null, action: 'organization.erased', resourceType: 'organization',
        resourceId: orgId, orgId, details: { usersErased: 1, tables: orgCounts, with: 'user.erased' },
      });
    }
    await eraseUserRows(sql, userId, email, counts);
    await repo.recordErasure(sql, {
      id: erasureId, actor: 'self', actorUserId: null, action: 'user.erased', resourceType: 'user',
      // the erasure's own id, never the person's
      resourceId: erasureId, orgId: null, details: { organizationsErased: soleOrgs.length, tables: counts },
    });
    return { erasureId, erasedAt: new Date().toISOString(), organizationsErased: soleOrgs.length, tables: counts };
  });
}
