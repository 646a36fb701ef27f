import { uuidv7, type Sql } from '../db/index.js';

export const TRANSFER_MODES = ['adaptive', 'direct', 'gradual'] as const;
export type TransferMode = (typeof TRANSFER_MODES)[number];
export const SESSION_STATUSES = ['active', 'completed'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** A meta-learning session (seed 003 REQ-T120); status is active until completedAt is set. */
export interface LearningSessionRow {
  id: string;
  agentId: string;
  sourceDomain: string;
  targetDomain: string;
  transferMode: TransferMode;
  sessionMetrics: Record<string, unknown>;
  improvementScore: number | null;
  status: SessionStatus;
  startedAt: Date;
  completedAt: Date | null;
}

const COLUMNS = `id, agent_id AS "agentId", source_domain AS "sourceDomain", target_domain AS "targetDomain",
  transfer_mode AS "transferMode", session_metrics AS "sessionMetrics", improvement_score::float8 AS "improvementScore",
  CASE WHEN completed_at IS NULL THEN 'active' ELSE 'completed' END AS status, started_at AS "startedAt",
  completed_at AS "completedAt"`;

/** startedAt is written at millisecond precision, so a (startedAt, id) cursor read back from JSON is exact. */
export async function insertSession(
  sql: Sql,
  orgId: string,
  agentId: string,
  f: { sourceDomain: string; targetDomain: string; transferMode: TransferMode; sessionMetrics: Record<string, unknown> },
  at: Date,
): Promise<LearningSessionRow> {
  const r = await sql.query<LearningSessionRow>(
    `INSERT INTO learning_sessions (id, org_id, agent_id, source_domain, target_domain, transfer_mode, session_metrics, started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) RETURNING ${COLUMNS}`,
    [uuidv7(), orgId, agentId, f.sourceDomain, f.targetDomain, f.transferMode, JSON.stringify(f.sessionMetrics), at.toISOString()],
  );
  return r.rows[0]!;
}

export async function getSession(sql: Sql, orgId: string, id: string): Promise<LearningSessionRow | undefined> {
  const r = await sql.query<LearningSessionRow>(`SELECT ${COLUMNS} FROM learning_sessions WHERE org_id = $1 AND id = $2`, [orgId, id]);
  return r.rows[0];
}

export interface SessionFilter {
  agentId?: string | undefined;
  sourceDomain?: string | undefined;
  targetDomain?: string | undefined;
  status?: SessionStatus | undefined;
  /** keyset: rows strictly older than this (startedAt, id) */
  before?: { startedAt: string; id: string } | undefined;
  limit: number;
}

/** Newest first, along idx_learning_sessions_started_at (or _agent, _domains when those filter). */
export async function listSessions(sql: Sql, orgId: string, f: SessionFilter): Promise<LearningSessionRow[]> {
  const r = await sql.query<LearningSessionRow>(
    `SELECT ${COLUMNS} FROM learning_sessions
     WHERE org_id = $1
       AND ($2::uuid IS NULL OR agent_id = $2)
       AND ($3::text IS NULL OR source_domain = $3)
       AND ($4::text IS NULL OR target_domain = $4)
       AND ($5::text IS NULL OR (completed_at IS NULL) = ($5 = 'active'))
       AND ($6::timestamptz IS NULL OR (started_at, id) < ($6::timestamptz, $7::uuid))
     ORDER BY started_at DESC, id DESC LIMIT $8`,
    [orgId, f.agentId ?? null, f.sourceDomain ?? null, f.targetDomain ?? null, f.status ?? null, f.before?.startedAt ?? null,
      f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

/**
 * Merges metrics into an active session's (jsonb ||: top-level keys sent
 * replace those stored), and completes it when `complete` is given, in one
 * UPDATE: a session completed meanwhile is not matched, so nothing is written
 * to it. The merged object is kept within maxBytes. undefined: no active
 * session with this id took the change (the caller finds out why).
 */
export async function updateActiveSession(
  sql: Sql,
  orgId: string,
  id: string,
  metrics: Record<string, unknown>,
  maxBytes: number,
  complete?: { improvementScore: number; at: Date },
): Promise<LearningSessionRow | undefined> {
  const r = await sql.query<LearningSessionRow>(
    `UPDATE learning_sessions
     SET session_metrics = session_metrics || $3::jsonb,
         improvement_score = CASE WHEN $4::boolean THEN $5::numeric ELSE improvement_score END,
         completed_at = CASE WHEN $4::boolean THEN greatest($6::timestamptz, started_at) ELSE completed_at END
     WHERE org_id = $1 AND id = $2 AND completed_at IS NULL
       AND octet_length((session_metrics || $3::jsonb)::text) <= $7
     RETURNING ${COLUMNS}`,
    [orgId, id, JSON.stringify(metrics), complete !== undefined, complete?.improvementScore ?? null,
      complete?.at.toISOString() ?? null, maxBytes],
  );
  return r.rows[0];
}
