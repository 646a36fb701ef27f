import type { Sql } from '../db/index.js';

/**
 * Columns an ingested update may set, with their SQL types. An allow-list:
 * these names are written into the statement, values always travel as
 * parameters. metadata is merged (stored || new), not replaced.
 */
export const UPDATABLE_COLUMNS = {
  agent_id: 'uuid',
  agent_version_id: 'uuid',
  user_id: 'uuid',
  session_id: 'text',
  parent_execution_id: 'uuid',
  plan_id: 'uuid',
  model_provider: 'text',
  model_name: 'text',
  input: 'jsonb',
  output: 'jsonb',
  status: 'text',
  error_code: 'text',
  error_message: 'text',
  retry_count: 'int',
  max_retries: 'int',
  queue_time_ms: 'int',
  execution_time_ms: 'int',
  latency_ms: 'int',
  started_at: 'timestamptz',
  completed_at: 'timestamptz',
  prompt_tokens: 'int',
  completion_tokens: 'int',
  cached_tokens: 'int',
  cache_write_tokens: 'int',
  reasoning_tokens: 'int',
  total_tokens: 'int',
  cost_usd: 'numeric',
  result_quality_score: 'numeric',
  user_satisfaction_score: 'int',
  tool_calls: 'jsonb',
  trace_id: 'text',
  span_id: 'text',
  parent_span_id: 'text',
  correlation_id: 'text',
  request_id: 'text',
  metadata: 'jsonb',
  tags: 'text[]',
} as const;
export type UpdatableColumn = keyof typeof UPDATABLE_COLUMNS;

export interface LockedExecution {
  id: string;
  status: string;
  agentId: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
}

/** Locks the stored executions an update batch touches, in id order (no deadlock between two batches). */
export async function lockExecutions(sql: Sql, refs: { id: string; createdAt: string }[]): Promise<Map<string, LockedExecution>> {
  if (!refs.length) return new Map();
  const r = await sql.query<LockedExecution>(
    `SELECT e.id, e.status, e.agent_id AS "agentId", e.started_at AS "startedAt", e.completed_at AS "completedAt"
     FROM executions e JOIN jsonb_to_recordset($1::jsonb) AS k(id uuid, created_at timestamptz)
       ON e.id = k.id AND e.created_at = k.created_at
     ORDER BY e.id FOR UPDATE OF e`,
    [JSON.stringify(refs.map((x) => ({ id: x.id, created_at: x.createdAt })))],
  );
  return new Map(r.rows.map((x) => [x.id, x]));
}

const SET_LIST = (Object.entries(UPDATABLE_COLUMNS) as [UpdatableColumn, string][])
  .map(([col, type]) => {
    if (col === 'tags') return `tags = CASE WHEN p.patch ? 'tags' THEN ARRAY(SELECT jsonb_array_elements_text(p.patch->'tags')) ELSE e.tags END`;
    if (col === 'metadata') return `metadata = CASE WHEN p.patch ? 'metadata' THEN e.metadata || (p.patch->'metadata') ELSE e.metadata END`;
    const value = type === 'jsonb' ? `p.patch->'${col}'` : `(p.patch->>'${col}')::${type}`;
    return `${col} = CASE WHEN p.patch ? '${col}' THEN ${value} ELSE e.${col} END`;
  })
  .join(',\n       ');

/**
 * Applies each patch (only the columns it holds) in one statement. Returns
 * the ids whose stored row actually changed: the join to the same table reads
 * the row as it was before this statement.
 */
export async function updateExecutions(
  sql: Sql,
  rows: { id: string; createdAt: string; patch: Partial<Record<UpdatableColumn, unknown>> }[],
): Promise<Set<string>> {
  if (!rows.length) return new Set();
  const r = await sql.query<{ id: string; changed: boolean }>(
    `UPDATE executions e SET
       ${SET_LIST}
     FROM jsonb_to_recordset($1::jsonb) AS p(id uuid, created_at timestamptz, patch jsonb)
     JOIN executions o ON o.id = p.id AND o.created_at = p.created_at
     WHERE e.id = p.id AND e.created_at = p.created_at
     RETURNING e.id, to_jsonb(e) IS DISTINCT FROM to_jsonb(o) AS changed`,
    [JSON.stringify(rows.map((x) => ({ id: x.id, created_at: x.createdAt, patch: x.patch })))],
  );
  return new Set(r.rows.filter((x) => x.changed).map((x) => x.id));
}
