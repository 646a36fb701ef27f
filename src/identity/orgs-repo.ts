import type { Sql } from '../db/index.js';

export interface OrgRow {
  id: string;
  name: string;
  slug: string;
  logoUrl: string | null;
  settings: Record<string, unknown>;
  maxAgents: number;
  maxExecutionsPerMonth: number;
  maxTeamMembers: number;
  maxIngestedSpansPerMonth: number;
  maxIngestedSpansPerSecond: number;
  /** null: no budget (runs are refused with 402 once the month's cost reaches it) */
  monthlyCostBudgetUsd: number | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const ORG_COLUMNS = `id, name, slug, logo_url AS "logoUrl", settings, max_agents AS "maxAgents",
  max_executions_per_month AS "maxExecutionsPerMonth", max_team_members AS "maxTeamMembers",
  max_ingested_spans_per_month::float8 AS "maxIngestedSpansPerMonth", max_ingested_spans_per_second AS "maxIngestedSpansPerSecond",
  monthly_cost_budget_usd::float8 AS "monthlyCostBudgetUsd", version, created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function insertOrg(sql: Sql, o: { id: string; name: string; slug: string }): Promise<OrgRow> {
  const r = await sql.query<OrgRow>(
    `INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3) RETURNING ${ORG_COLUMNS}`,
    [o.id, o.name, o.slug],
  );
  return r.rows[0]!;
}

export async function getOrg(sql: Sql, id: string): Promise<OrgRow | undefined> {
  const r = await sql.query<OrgRow>(`SELECT ${ORG_COLUMNS} FROM organizations WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return r.rows[0];
}

export interface OrgPatch {
  name?: string;
  logoUrl?: string | null;
  settings?: Record<string, unknown>;
  maxAgents?: number;
  maxExecutionsPerMonth?: number;
  maxTeamMembers?: number;
  maxIngestedSpansPerMonth?: number;
  maxIngestedSpansPerSecond?: number;
  monthlyCostBudgetUsd?: number | null;
}

// Allow-list from API field to column: the only identifiers that reach the SQL text.
const ORG_PATCH_COLUMNS: Record<keyof OrgPatch, string> = {
  name: 'name',
  logoUrl: 'logo_url',
  settings: 'settings',
  maxAgents: 'max_agents',
  maxExecutionsPerMonth: 'max_executions_per_month',
  maxTeamMembers: 'max_team_members',
  maxIngestedSpansPerMonth: 'max_ingested_spans_per_month',
  maxIngestedSpansPerSecond: 'max_ingested_spans_per_second',
  monthlyCostBudgetUsd: 'monthly_cost_budget_usd',
};

/** Optimistic update: undefined when no row has this id and version. */
export async function updateOrg(sql: Sql, id: string, version: number, patch: OrgPatch): Promise<OrgRow | undefined> {
  const sets: string[] = [];
  const params: unknown[] = [id, version];
  for (const [k, col] of Object.entries(ORG_PATCH_COLUMNS) as [keyof OrgPatch, string][]) {
    if (patch[k] === undefined) continue;
    params.push(k === 'settings' ? JSON.stringify(patch[k]) : patch[k]);
    sets.push(`${col} = $${params.length}`);
  }
  if (sets.length === 0) sets.push('version = version');
  const r = await sql.query<OrgRow>(
    `UPDATE organizations SET ${sets.join(', ')} WHERE id = $1 AND version = $2 AND deleted_at IS NULL RETURNING ${ORG_COLUMNS}`,
    params,
  );
  return r.rows[0];
}

export interface UserOrg {
  orgId: string;
  name: string;
  slug: string;
  joinedAt: Date;
}

/** Runs before a tenant is chosen (login), through the definer function. */
export async function userOrganizations(sql: Sql, userId: string): Promise<UserOrg[]> {
  const r = await sql.query<UserOrg>(
    `SELECT org_id AS "orgId", name, slug, joined_at AS "joinedAt" FROM auth_user_organizations($1)`,
    [userId],
  );
  return r.rows;
}

// ------------------------------------------------------------------ memberships

export async function upsertMembership(sql: Sql, orgId: string, userId: string, invitedBy: string | null): Promise<void> {
  await sql.query(
    `INSERT INTO memberships (org_id, user_id, invited_by) VALUES ($1, $2, $3)
     ON CONFLICT (org_id, user_id) DO UPDATE SET deleted_at = NULL, status = 'active', invited_by = EXCLUDED.invited_by`,
    [orgId, userId, invitedBy],
  );
}

export async function activeMemberCount(sql: Sql): Promise<number> {
  const r = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM memberships WHERE deleted_at IS NULL`);
  return r.rows[0]?.n ?? 0;
}

export async function isActiveMember(sql: Sql, userId: string): Promise<boolean> {
  const r = await sql.query(`SELECT 1 FROM memberships WHERE user_id = $1 AND deleted_at IS NULL`, [userId]);
  return r.rows.length > 0;
}

export async function removeMembership(sql: Sql, userId: string): Promise<boolean> {
  const r = await sql.query(
    `UPDATE memberships SET deleted_at = now() WHERE user_id = $1 AND deleted_at IS NULL`,
    [userId],
  );
  return r.rowCount > 0;
}

export interface MemberRow {
  userId: string;
  email: string;
  username: string;
  fullName: string | null;
  status: string;
  roles: string[];
  joinedAt: Date;
}

export async function listMembers(
  sql: Sql,
  opts: { afterUserId?: string; limit: number; userId?: string },
): Promise<MemberRow[]> {
  const params: unknown[] = [opts.limit];
  let where = 'm.deleted_at IS NULL';
  if (opts.afterUserId) {
    params.push(opts.afterUserId);
    where += ` AND (m.created_at, m.user_id) > (SELECT created_at, user_id FROM memberships WHERE user_id = $2)`;
  }
  if (opts.userId) {
    params.push(opts.userId);
    where += ` AND m.user_id = $${params.length}`;
  }
  const r = await sql.query<MemberRow>(
    `SELECT m.user_id AS "userId", u.email, u.username, u.full_name AS "fullName", m.status,
            coalesce(array_agg(r.name ORDER BY r.name) FILTER (WHERE r.id IS NOT NULL), '{}') AS roles,
            m.created_at AS "joinedAt"
     FROM memberships m
     JOIN users u ON u.id = m.user_id
     LEFT JOIN user_roles ur ON ur.org_id = m.org_id AND ur.user_id = m.user_id
     LEFT JOIN roles r ON r.id = ur.role_id AND r.deleted_at IS NULL
     WHERE ${where}
     GROUP BY m.org_id, m.user_id, u.id
     ORDER BY m.created_at, m.user_id
     LIMIT $1`,
    params,
  );
  return r.rows;
}

// ------------------------------------------------------------------ invitations

export interface InvitationRow {
  id: string;
  email: string;
  roleId: string;
  role: string;
  invitedBy: string | null;
  expiresAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

const INVITE_COLUMNS = `i.id, i.email, i.role_id AS "roleId", r.name AS role, i.invited_by AS "invitedBy",
  i.expires_at AS "expiresAt", i.accepted_at AS "acceptedAt", i.revoked_at AS "revokedAt", i.created_at AS "createdAt"`;

export async function insertInvitation(
  sql: Sql,
  orgId: string,
  inv: { email: string; roleId: string; tokenHash: string; invitedBy: string | null; expiresAt: Date },
): Promise<InvitationRow> {
  // A new invitation replaces any pending one for the same address.
  await sql.query(
    `UPDATE invitations SET revoked_at = now() WHERE email = $1 AND accepted_at IS NULL AND revoked_at IS NULL`,
    [inv.email],
  );
  const r = await sql.query<InvitationRow>(
    `WITH i AS (
       INSERT INTO invitations (org_id, email, role_id, token_hash, invited_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *)
     SELECT ${INVITE_COLUMNS} FROM i JOIN roles r ON r.id = i.role_id`,
    [orgId, inv.email, inv.roleId, inv.tokenHash, inv.invitedBy, inv.expiresAt.toISOString()],
  );
  return r.rows[0]!;
}

export async function listInvitations(sql: Sql, pendingOnly: boolean): Promise<InvitationRow[]> {
  const r = await sql.query<InvitationRow>(
    `SELECT ${INVITE_COLUMNS} FROM invitations i JOIN roles r ON r.id = i.role_id
     ${pendingOnly ? 'WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()' : ''}
     ORDER BY i.created_at DESC LIMIT 500`,
  );
  return r.rows;
}

export async function getInvitationForUpdate(sql: Sql, id: string): Promise<InvitationRow | undefined> {
  const r = await sql.query<InvitationRow>(
    `SELECT ${INVITE_COLUMNS} FROM invitations i JOIN roles r ON r.id = i.role_id WHERE i.id = $1 FOR UPDATE OF i`,
    [id],
  );
  return r.rows[0];
}

export async function findInvitationByTokenHash(
  sql: Sql,
  tokenHash: string,
): Promise<{ id: string; orgId: string; email: string } | undefined> {
  const r = await sql.query<{ id: string; orgId: string; email: string }>(
    `SELECT id, org_id AS "orgId", email FROM auth_find_invitation($1)`,
    [tokenHash],
  );
  return r.rows[0];
}

export async function markInvitation(sql: Sql, id: string, how: 'accepted' | 'revoked', userId: string | null): Promise<void> {
  if (how === 'accepted') {
    await sql.query(`UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1`, [id, userId]);
  } else {
    await sql.query(`UPDATE invitations SET revoked_at = now() WHERE id = $1`, [id]);
  }
}

/**
 * Serialises membership and role changes within one organization: checks such
 * as "at least one owner", "at most maxTeamMembers" and "no inheritance cycle"
 * read several rows, and only hold if no concurrent change slips in between.
 */
export async function lockOrganization(sql: Sql, orgId: string): Promise<void> {
  await sql.query(`SELECT id FROM organizations WHERE id = $1 FOR UPDATE`, [orgId]);
}

export interface OrgLimits {
  maxAgents: number;
  maxExecutionsPerMonth: number;
  maxTeamMembers: number;
}

/** The organization's limits, with its row locked so a count-then-insert against them cannot race. */
export async function lockOrganizationLimits(sql: Sql, orgId: string): Promise<OrgLimits | undefined> {
  const r = await sql.query<OrgLimits>(
    `SELECT max_agents AS "maxAgents", max_executions_per_month AS "maxExecutionsPerMonth", max_team_members AS "maxTeamMembers"
     FROM organizations WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`,
    [orgId],
  );
  return r.rows[0];
}

/** The usage limits a billing plan sets (the max_* columns of seed 002 and 0013). */
export interface PlanLimits extends OrgLimits {
  maxIngestedSpansPerMonth: number;
  maxIngestedSpansPerSecond: number;
}

/**
 * Writes a plan's limits onto the organization (billing changes the plan in
 * the caller's transaction, so the quota checks enforce it from the commit on).
 * False when the organization is not visible.
 */
export async function setOrganizationLimits(sql: Sql, orgId: string, l: PlanLimits): Promise<boolean> {
  const r = await sql.query(
    `UPDATE organizations SET max_agents = $2, max_executions_per_month = $3, max_team_members = $4,
       max_ingested_spans_per_month = $5, max_ingested_spans_per_second = $6
     WHERE id = $1 AND deleted_at IS NULL`,
    [orgId, l.maxAgents, l.maxExecutionsPerMonth, l.maxTeamMembers, l.maxIngestedSpansPerMonth, l.maxIngestedSpansPerSecond],
  );
  return r.rowCount > 0;
}

/**
 * Which of these user ids are, or were, members of the tenant's organization
 * (a removed member's telemetry still names them). Under RLS, a user of
 * another organization is simply not found.
 */
export async function findMemberRefs(sql: Sql, userIds: string[]): Promise<Set<string>> {
  if (!userIds.length) return new Set();
  const r = await sql.query<{ user_id: string }>(
    `SELECT user_id FROM memberships WHERE user_id = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::uuid))`,
    [JSON.stringify(userIds)],
  );
  return new Set(r.rows.map((x) => x.user_id));
}
