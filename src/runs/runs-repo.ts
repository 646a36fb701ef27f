import type { Sql } from '../db/index.js';

export interface ExecutionRow {
  id: string;
  clientId: string | null;
  agentId: string | null;
  agentVersionId: string | null;
  userId: string | null;
  sessionId: string | null;
  parentExecutionId: string | null;
  planId: string | null;
  modelProvider: string | null;
  modelName: string | null;
  input: unknown;
  output: unknown;
  status: string;
  errorCode: string | null;
  errorMessage: string | null;
  retryCount: number;
  maxRetries: number;
  queueTimeMs: number | null;
  executionTimeMs: number | null;
  latencyMs: number | null;
  startedAt: Date | null;
  completedAt: Date | null;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  costUsd: number;
  resultQualityScore: number | null;
  userSatisfactionScore: number | null;
  toolCalls: unknown[];
  traceId: string | null;
  spanId: string | null;
  parentSpanId: string | null;
  correlationId: string | null;
  requestId: string | null;
  metadata: Record<string, unknown>;
  tags: string[];
  createdAt: Date;
}

export interface SpanRow {
  id: string;
  clientId: string | null;
  executionId: string;
  kind: string;
  traceId: string | null;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  model: string | null;
  provider: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
  cacheWriteTokens: number | null;
  reasoningTokens: number | null;
  totalTokens: number | null;
  costUsd: number | null;
  toolName: string | null;
  toolStatus: string | null;
  stepNumber: number | null;
  reasoning: string | null;
  confidence: number | null;
  input: unknown;
  output: unknown;
  status: string;
  errorMessage: string | null;
  startedAt: Date;
  endedAt: Date | null;
  durationMs: number | null;
  attributes: Record<string, unknown>;
}

const EXECUTION_COLUMNS = `id, client_id AS "clientId", agent_id AS "agentId", agent_version_id AS "agentVersionId",
  user_id AS "userId", session_id AS "sessionId", parent_execution_id AS "parentExecutionId", plan_id AS "planId",
  model_provider AS "modelProvider", model_name AS "modelName", input, output, status, error_code AS "errorCode",
  error_message AS "errorMessage", retry_count AS "retryCount", max_retries AS "maxRetries",
  queue_time_ms AS "queueTimeMs", execution_time_ms AS "executionTimeMs", latency_ms AS "latencyMs",
  started_at AS "startedAt", completed_at AS "completedAt", prompt_tokens AS "promptTokens",
  completion_tokens AS "completionTokens", cached_tokens AS "cachedTokens", cache_write_tokens AS "cacheWriteTokens",
  reasoning_tokens AS "reasoningTokens", total_tokens AS "totalTokens", cost_usd::float8 AS "costUsd",
  result_quality_score::float8 AS "resultQualityScore", user_satisfaction_score AS "userSatisfactionScore",
  tool_calls AS "toolCalls", trace_id AS "traceId", span_id AS "spanId", parent_span_id AS "parentSpanId",
  correlation_id AS "correlationId", request_id AS "requestId", metadata, tags, created_at AS "createdAt"`;

const SPAN_COLUMNS = `id, client_id AS "clientId", execution_id AS "executionId", kind, trace_id AS "traceId",
  span_id AS "spanId", parent_span_id AS "parentSpanId", name, model, provider, prompt_tokens AS "promptTokens",
  completion_tokens AS "completionTokens", cached_tokens AS "cachedTokens", cache_write_tokens AS "cacheWriteTokens",
  reasoning_tokens AS "reasoningTokens", total_tokens AS "totalTokens", cost_usd::float8 AS "costUsd",
  tool_name AS "toolName", tool_status AS "toolStatus", step_number AS "stepNumber", reasoning,
  confidence::float8 AS confidence, input, output, status, error_message AS "errorMessage", started_at AS "startedAt",
  ended_at AS "endedAt", duration_ms AS "durationMs", attributes`;

export interface ExecutionFilter {
  agentId?: string | undefined;
  agentVersionId?: string | undefined;
  status?: string | undefined;
  /** what session_id may hold for the session asked for (see sessionMatchKeys) */
  sessionIds?: string[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
  minCost?: number | undefined;
  maxCost?: number | undefined;
  tag?: string | undefined;
  /** metadata containing one of these objects (a key:value filter, see MetadataFilter) */
  metadata?: Record<string, unknown>[] | undefined;
  /** executions of this plan (idx_executions_plan) */
  planId?: string | undefined;
  after?: { createdAt: string; id: string } | undefined;
  limit: number;
}

/** The two containment objects of a metadata filter (the second repeats the first when there is no typed alternative). */
export function metadataParams(m: Record<string, unknown>[] | undefined): [string | null, string | null] {
  if (!m?.length) return [null, null];
  return [JSON.stringify(m[0]), JSON.stringify(m[1] ?? m[0])];
}

/** Newest first; (created_at, id) is an exact keyset. */
export async function listExecutions(sql: Sql, f: ExecutionFilter): Promise<ExecutionRow[]> {
  const r = await sql.query<ExecutionRow>(
    `SELECT ${EXECUTION_COLUMNS} FROM executions
     WHERE ($1::uuid IS NULL OR agent_id = $1) AND ($2::text IS NULL OR status = $2) AND ($3::text[] IS NULL OR session_id = ANY($3::text[]))
       AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)
       AND ($6::numeric IS NULL OR cost_usd >= $6) AND ($7::numeric IS NULL OR cost_usd <= $7)
       AND ($8::timestamptz IS NULL OR (created_at, id) < ($8, $9::uuid))
       AND ($11::uuid IS NULL OR agent_version_id = $11)
       -- the extra conditions match the partial GIN indexes' predicates, so they can be used
       AND ($12::text IS NULL OR (tags @> ARRAY[$12::text] AND cardinality(tags) > 0))
       AND ($13::jsonb IS NULL OR ((metadata @> $13 OR metadata @> $14) AND metadata <> '{}'))
       AND ($15::uuid IS NULL OR (plan_id = $15 AND plan_id IS NOT NULL))
     ORDER BY created_at DESC, id DESC LIMIT $10`,
    [f.agentId ?? null, f.status ?? null, f.sessionIds ?? null, f.from ?? null, f.to ?? null, f.minCost ?? null,
      f.maxCost ?? null, f.after?.createdAt ?? null, f.after?.id ?? null, f.limit, f.agentVersionId ?? null,
      f.tag ?? null, ...metadataParams(f.metadata), f.planId ?? null],
  );
  return r.rows;
}

/** By id and its time (a UUIDv7 carries it), so the lookup prunes to one partition. */
export async function getExecution(sql: Sql, id: string, createdAt: Date): Promise<ExecutionRow | undefined> {
  const r = await sql.query<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE id = $1 AND created_at = $2`, [id, createdAt.toISOString()]);
  return r.rows[0];
}

export async function spansOfExecution(sql: Sql, id: string, createdAt: Date): Promise<SpanRow[]> {
  const r = await sql.query<SpanRow>(
    `SELECT ${SPAN_COLUMNS} FROM spans WHERE execution_id = $1 AND execution_created_at = $2 ORDER BY started_at, id`,
    [id, createdAt.toISOString()],
  );
  return r.rows;
}

/** A trace answers at most this many executions and spans; past either it says truncated. */
export const TRACE_MAX_EXECUTIONS = 1000;
export const TRACE_MAX_SPANS = 10_000;

/** Up to `limit` of the trace's executions, oldest first (idx_executions_trace, one probe per partition). */
export async function executionsOfTrace(sql: Sql, traceId: string, limit = TRACE_MAX_EXECUTIONS): Promise<ExecutionRow[]> {
  const r = await sql.query<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE trace_id = $1 ORDER BY created_at, id LIMIT $2`, [traceId, limit]);
  return r.rows;
}

/** Up to `limit` of the trace's spans, earliest first (idx_spans_trace). */
export async function spansOfTrace(sql: Sql, traceId: string, limit = TRACE_MAX_SPANS): Promise<SpanRow[]> {
  const r = await sql.query<SpanRow>(`SELECT ${SPAN_COLUMNS} FROM spans WHERE trace_id = $1 ORDER BY started_at, id LIMIT $2`, [traceId, limit]);
  return r.rows;
}

/** Slug and name of the organization's live agents among these ids (a deleted or unknown one is absent). */
export async function agentLabels(sql: Sql, ids: string[]): Promise<Map<string, { slug: string; name: string }>> {
  if (!ids.length) return new Map();
  const r = await sql.query<{ id: string; slug: string; name: string }>(
    `SELECT id, slug, name FROM agents WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`,
    [ids],
  );
  return new Map(r.rows.map((a) => [a.id, { slug: a.slug, name: a.name }]));
}
