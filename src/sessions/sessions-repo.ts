import type { Sql } from '../db/index.js';

/** A conversation session (seed 000 user_sessions) as the API shows it. */
export interface SessionRow {
  id: string;
  sessionToken: string;
  userId: string | null;
  externalUserId: string | null;
  agentId: string | null;
  contextData: Record<string, unknown>;
  conversationHistory: HistoryEntry[];
  executionCount: number;
  actionsCount: number;
  totalTokens: number;
  totalCostUsd: number;
  lastActivityType: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  lastActivity: Date;
  expiresAt: Date | null;
  isActive: boolean;
  endedAt: Date | null;
}

/** One turn of the conversation history. */
export interface HistoryEntry {
  role: 'user' | 'assistant' | 'system';
  content: string;
  executionId?: string;
  at?: string;
}

const COLUMNS = `id, session_token AS "sessionToken", user_id AS "userId", external_user_id AS "externalUserId",
  agent_id AS "agentId", context_data AS "contextData", conversation_history AS "conversationHistory",
  execution_count AS "executionCount", actions_count AS "actionsCount", total_tokens AS "totalTokens",
  total_cost_usd::float8 AS "totalCostUsd", last_activity_type AS "lastActivityType", version,
  created_at AS "createdAt", updated_at AS "updatedAt", last_activity AS "lastActivity", expires_at AS "expiresAt",
  is_active AS "isActive", ended_at AS "endedAt"`;

export interface NewSession {
  id: string;
  sessionToken: string;
  userId: string | null;
  externalUserId: string | null;
  agentId: string | null;
  contextData: Record<string, unknown>;
  expiresAt: string | null;
}

/** Inserts the session; undefined when the organization already has one with this token. */
export async function insertSession(sql: Sql, orgId: string, s: NewSession): Promise<SessionRow | undefined> {
  const r = await sql.query<SessionRow>(
    `INSERT INTO user_sessions (id, org_id, session_token, user_id, external_user_id, agent_id, context_data, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (org_id, session_token) DO NOTHING
     RETURNING ${COLUMNS}`,
    [s.id, orgId, s.sessionToken, s.userId, s.externalUserId, s.agentId, JSON.stringify(s.contextData), s.expiresAt],
  );
  return r.rows[0];
}

export async function getSession(sql: Sql, orgId: string, id: string): Promise<SessionRow | undefined> {
  const r = await sql.query<SessionRow>(`SELECT ${COLUMNS} FROM user_sessions WHERE org_id = $1 AND id = $2`, [orgId, id]);
  return r.rows[0];
}

export async function getSessionByToken(sql: Sql, orgId: string, token: string): Promise<SessionRow | undefined> {
  const r = await sql.query<SessionRow>(`SELECT ${COLUMNS} FROM user_sessions WHERE org_id = $1 AND session_token = $2`, [orgId, token]);
  return r.rows[0];
}

/** Share-locked until the transaction ends, so it cannot be ended while a run is being attached to it. */
export async function lockSessionShared(sql: Sql, orgId: string, id: string): Promise<SessionRow | undefined> {
  const r = await sql.query<SessionRow>(`SELECT ${COLUMNS} FROM user_sessions WHERE org_id = $1 AND id = $2 FOR SHARE`, [orgId, id]);
  return r.rows[0];
}

export interface SessionFilter {
  active?: boolean | undefined;
  externalUserId?: string | undefined;
  agentId?: string | undefined;
  beforeId?: string | undefined;
  limit: number;
}

/** Newest first; ids are UUIDv7, so id order is creation order and an exact keyset. */
export async function listSessions(sql: Sql, orgId: string, f: SessionFilter): Promise<SessionRow[]> {
  const r = await sql.query<SessionRow>(
    `SELECT ${COLUMNS} FROM user_sessions
     WHERE org_id = $1 AND ($2::boolean IS NULL OR is_active = $2) AND ($3::text IS NULL OR external_user_id = $3)
       AND ($4::uuid IS NULL OR agent_id = $4) AND ($5::uuid IS NULL OR id < $5)
     ORDER BY id DESC LIMIT $6`,
    [orgId, f.active ?? null, f.externalUserId ?? null, f.agentId ?? null, f.beforeId ?? null, f.limit],
  );
  return r.rows;
}

/** Ends an active session; undefined when it is not active (or does not exist). */
export async function endSession(sql: Sql, orgId: string, id: string): Promise<SessionRow | undefined> {
  const r = await sql.query<SessionRow>(
    `UPDATE user_sessions SET is_active = false, ended_at = now() WHERE org_id = $1 AND id = $2 AND is_active RETURNING ${COLUMNS}`,
    [orgId, id],
  );
  return r.rows[0];
}

export interface RunActivity {
  turns: HistoryEntry[];
  /** the most recent entries kept in conversation_history */
  keep: number;
  tokens: number;
  costUsd: number;
  actions: number;
}

/**
 * Appends a run's turns (trimmed to the last `keep` in one statement, so two
 * runs finishing together both land) and adds its counters.
 */
export async function recordRunActivity(sql: Sql, orgId: string, id: string, a: RunActivity): Promise<void> {
  await sql.query(
    `UPDATE user_sessions SET
       conversation_history = (
         SELECT coalesce(jsonb_agg(t.e ORDER BY t.n), '[]'::jsonb) FROM (
           SELECT e, n FROM jsonb_array_elements(conversation_history || $3::jsonb) WITH ORDINALITY AS x(e, n)
           ORDER BY n DESC LIMIT $4
         ) t),
       execution_count = execution_count + 1, total_tokens = total_tokens + $5, total_cost_usd = total_cost_usd + $6::numeric,
       actions_count = actions_count + $7, last_activity = now(), last_activity_type = 'execution'
     WHERE org_id = $1 AND id = $2`,
    [orgId, id, JSON.stringify(a.turns), a.keep, a.tokens, String(a.costUsd), a.actions],
  );
}

export async function sessionContext(sql: Sql, orgId: string, id: string): Promise<Record<string, unknown> | undefined> {
  const r = await sql.query<{ contextData: Record<string, unknown> }>(
    `SELECT context_data AS "contextData" FROM user_sessions WHERE org_id = $1 AND id = $2`,
    [orgId, id],
  );
  return r.rows[0]?.contextData;
}

/**
 * Sets one key of the context (null removes it) when the result stays within
 * maxBytes; false when the session is missing or the context would be too big.
 */
export async function setContextKey(sql: Sql, orgId: string, id: string, key: string, value: unknown, maxBytes: number): Promise<boolean> {
  const r = await sql.query(
    `UPDATE user_sessions SET
       context_data = CASE WHEN $4::jsonb = 'null'::jsonb THEN context_data - $3::text ELSE context_data || jsonb_build_object($3::text, $4::jsonb) END,
       last_activity = now(), last_activity_type = 'context_set'
     WHERE org_id = $1 AND id = $2
       AND octet_length((CASE WHEN $4::jsonb = 'null'::jsonb THEN context_data - $3::text ELSE context_data || jsonb_build_object($3::text, $4::jsonb) END)::text) <= $5`,
    [orgId, id, key, JSON.stringify(value ?? null), maxBytes],
  );
  return r.rowCount > 0;
}
