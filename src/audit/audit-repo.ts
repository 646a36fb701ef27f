import type { Sql } from '../db/index.js';
import { uuidv7 } from '../db/index.js';
import { chainHash, type ChainedContent } from './chain.js';
import { splitPersonal } from './pii.js';
import { redactSecrets } from './redact.js';

/** Who did something and through what: carried from the request into every audit row. */
export interface Actor {
  orgId: string;
  actorType: 'user' | 'api_key' | 'system';
  userId: string | null;
  apiKeyId?: string | null;
  sessionId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

export interface AuditEvent {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  agentId?: string | null;
  oldValues?: unknown;
  newValues?: unknown;
}

/**
 * Appends one row to the organization's chain inside the caller's transaction,
 * so the audit row commits or rolls back with the change it describes. The
 * first statement takes the row lock on the chain head: concurrent writers of
 * one organization queue here, and the chain cannot fork.
 */
export async function appendAudit(sql: Sql, actor: Actor, ev: AuditEvent): Promise<{ id: string; seq: number }> {
  const head = await sql.query<{ seq: number; last_hash: string; ip: string | null }>(
    `INSERT INTO audit_chain_heads AS h (org_id, seq) VALUES ($1, 1)
     ON CONFLICT (org_id) DO UPDATE SET seq = h.seq + 1, updated_at = now()
     RETURNING h.seq, h.last_hash, host($2::inet) AS ip`,
    [actor.orgId, actor.ip ?? null],
  );
  const h = head.rows[0]!;
  const oldValues = ev.oldValues === undefined ? null : redactSecrets(ev.oldValues);
  const newValues = ev.newValues === undefined ? null : redactSecrets(ev.newValues);
  // Personal data stays out of the chained content (see migrations/0028): it goes to audit_pii, the chain keeps its digest.
  const split = splitPersonal({
    userId: actor.userId ?? null,
    sessionId: actor.sessionId ?? null,
    ipAddress: h.ip,
    userAgent: actor.userAgent ?? null,
    resourceType: ev.resourceType,
    resourceId: ev.resourceId ?? null,
    oldValues,
    newValues,
  });
  const content: ChainedContent = {
    id: uuidv7(),
    orgId: actor.orgId,
    seq: h.seq,
    actorType: actor.actorType,
    userId: null,
    apiKeyId: actor.apiKeyId ?? null,
    sessionId: null,
    agentId: ev.agentId ?? null,
    action: ev.action,
    resourceType: ev.resourceType,
    resourceId: split.chained.resourceId,
    oldValues: split.chained.oldValues,
    newValues: split.chained.newValues,
    ipAddress: null,
    userAgent: null,
    requestId: actor.requestId ?? null,
    createdAt: new Date(),
    piiDigest: split.pii?.digest ?? null,
  };
  const hash = chainHash(h.last_hash, content);
  await sql.query(
    `WITH ins AS (
       INSERT INTO audit_logs (id, org_id, seq, actor_type, user_id, api_key_id, session_id, agent_id, action,
         resource_type, resource_id, old_values, new_values, ip_address, user_agent, request_id, prev_hash, hash, created_at, pii_digest)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14::inet, $15, $16, $17, $18, $19, $20)
       RETURNING org_id, hash)
     UPDATE audit_chain_heads h SET last_hash = ins.hash FROM ins WHERE h.org_id = ins.org_id`,
    [
      content.id, content.orgId, content.seq, content.actorType, content.userId, content.apiKeyId, content.sessionId,
      content.agentId, content.action, content.resourceType, content.resourceId,
      content.oldValues === null ? null : JSON.stringify(content.oldValues),
      content.newValues === null ? null : JSON.stringify(content.newValues),
      content.ipAddress, content.userAgent, content.requestId, h.last_hash, hash, content.createdAt.toISOString(),
      content.piiDigest,
    ],
  );
  if (split.pii) {
    await sql.query(
      `INSERT INTO audit_pii (audit_id, org_id, user_id, subject_user_id, salt, data, created_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)`,
      [content.id, content.orgId, split.pii.userId, split.pii.subjectUserId, split.pii.salt, JSON.stringify(split.pii.data), content.createdAt.toISOString()],
    );
  }
  return { id: content.id, seq: content.seq };
}

export interface AuditRow extends ChainedContent {
  prevHash: string;
  hash: string;
}

/** A chained row with its personal data (audit_pii) if it is still kept: what the verifier checks. */
export interface ChainRow extends AuditRow {
  piiSalt: string | null;
  piiData: Record<string, unknown> | null;
}

export const AUDIT_COLUMNS = `id, org_id AS "orgId", seq, actor_type AS "actorType", user_id AS "userId",
  api_key_id AS "apiKeyId", session_id AS "sessionId", agent_id AS "agentId", action, resource_type AS "resourceType",
  resource_id AS "resourceId", old_values AS "oldValues", new_values AS "newValues", host(ip_address) AS "ipAddress",
  user_agent AS "userAgent", request_id AS "requestId", prev_hash AS "prevHash", hash, created_at AS "createdAt",
  pii_digest AS "piiDigest"`;

/**
 * What a reader sees: the personal data from audit_pii put back where the row
 * had left it out (erased rows show nulls and '[personal]' placeholders).
 */
const DISPLAY_COLUMNS = `a.id, a.org_id AS "orgId", a.seq, a.actor_type AS "actorType",
  coalesce(a.user_id, (p.data->>'userId')::uuid) AS "userId", a.api_key_id AS "apiKeyId",
  coalesce(a.session_id, (p.data->>'sessionId')::uuid) AS "sessionId", a.agent_id AS "agentId", a.action,
  a.resource_type AS "resourceType", coalesce(a.resource_id, p.data->>'resourceId') AS "resourceId",
  coalesce(p.data->'oldValues', a.old_values) AS "oldValues", coalesce(p.data->'newValues', a.new_values) AS "newValues",
  coalesce(host(a.ip_address), p.data->>'ipAddress') AS "ipAddress", coalesce(a.user_agent, p.data->>'userAgent') AS "userAgent",
  a.request_id AS "requestId", a.prev_hash AS "prevHash", a.hash, a.created_at AS "createdAt", a.pii_digest AS "piiDigest"`;

export interface AuditFilter {
  action?: string;
  resourceType?: string;
  resourceId?: string;
  userId?: string;
  from?: Date;
  to?: Date;
  /** rows with seq below this (keyset cursor, newest first) */
  beforeSeq?: number;
  limit: number;
}

export async function listAudit(sql: Sql, orgId: string, f: AuditFilter): Promise<AuditRow[]> {
  const where = ['a.org_id = $1'];
  const params: unknown[] = [orgId];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (f.action) add('a.action = ?', f.action);
  if (f.resourceType) add('a.resource_type = ?', f.resourceType);
  if (f.resourceId) add(`coalesce(a.resource_id, p.data->>'resourceId') = ?`, f.resourceId);
  if (f.userId) add('coalesce(a.user_id, p.user_id) = ?', f.userId);
  if (f.from) add('a.created_at >= ?', f.from.toISOString());
  if (f.to) add('a.created_at < ?', f.to.toISOString());
  if (f.beforeSeq !== undefined) add('a.seq < ?', f.beforeSeq);
  params.push(f.limit);
  const r = await sql.query<AuditRow>(
    `SELECT ${DISPLAY_COLUMNS} FROM audit_logs a LEFT JOIN audit_pii p ON p.audit_id = a.id
     WHERE ${where.join(' AND ')} ORDER BY a.seq DESC LIMIT $${params.length}`,
    params,
  );
  return r.rows;
}

/** One page of the chain in seq order, for the verifier. */
export async function chainPage(
  sql: Sql,
  orgId: string,
  after: { seq: number; id: string },
  limit: number,
): Promise<ChainRow[]> {
  const r = await sql.query<ChainRow>(
    `SELECT x.*, p.salt AS "piiSalt", p.data AS "piiData"
     FROM (SELECT ${AUDIT_COLUMNS} FROM audit_logs WHERE org_id = $1 AND (seq, id) > ($2, $3::uuid) ORDER BY seq, id LIMIT $4) x
     LEFT JOIN audit_pii p ON p.audit_id = x.id
     ORDER BY x.seq, x.id`,
    [orgId, after.seq, after.id, limit],
  );
  return r.rows;
}

export async function firstRowAfter(sql: Sql, orgId: string, seq: number): Promise<{ id: string; seq: number } | undefined> {
  const r = await sql.query<{ id: string; seq: number }>(
    `SELECT id, seq FROM audit_logs WHERE org_id = $1 AND seq > $2 ORDER BY seq, id LIMIT 1`,
    [orgId, seq],
  );
  return r.rows[0];
}

export async function chainHead(sql: Sql, orgId: string): Promise<{ seq: number; lastHash: string } | undefined> {
  const r = await sql.query<{ seq: number; lastHash: string }>(
    `SELECT seq, last_hash AS "lastHash" FROM audit_chain_heads WHERE org_id = $1`,
    [orgId],
  );
  return r.rows[0];
}

export async function allOrganizationIds(sql: Sql): Promise<string[]> {
  const r = await sql.query<{ id: string }>(`SELECT ops_organization_ids() AS id`);
  return r.rows.map((x) => x.id);
}
