import { uuidV7Time, type Sql } from '../db/index.js';

/**
 * Batch writes. Each statement writes every row of its table for the batch at
 * once: the rows travel as one JSON array parameter expanded in SQL by
 * jsonb_to_recordset (the set-returning equivalent of unnest over one array per
 * column, with the same plan on PGlite and node-postgres, and without a typed
 * array parameter per column).
 */

export type IngestKind = 'execution' | 'span' | 'decision' | 'message';

export interface KeyRow {
  kind: IngestKind;
  clientId: string;
  id: string;
  itemAt: string;
}

/** Inserts the keys; returns those that were new (the others already existed). */
export async function claimKeys(sql: Sql, orgId: string, keys: KeyRow[]): Promise<Set<string>> {
  if (!keys.length) return new Set();
  const r = await sql.query<{ kind: string; client_id: string }>(
    `INSERT INTO ingest_keys (org_id, kind, client_id, id, item_at)
     SELECT $1, k.kind, k.client_id, k.id, k.item_at
     FROM jsonb_to_recordset($2::jsonb) AS k(kind text, client_id text, id uuid, item_at timestamptz)
     ON CONFLICT (org_id, kind, client_id) DO NOTHING
     RETURNING kind, client_id`,
    [orgId, JSON.stringify(keys.map((k) => ({ kind: k.kind, client_id: k.clientId, id: k.id, item_at: k.itemAt })))],
  );
  return new Set(r.rows.map((x) => `${x.kind}\u0000${x.client_id}`));
}

/** The stored id and time of keys of one kind. */
export async function lookupKeys(sql: Sql, kind: IngestKind, clientIds: string[]): Promise<Map<string, { id: string; itemAt: Date }>> {
  if (!clientIds.length) return new Map();
  const r = await sql.query<{ client_id: string; id: string; item_at: Date }>(
    // = ANY(ARRAY(subquery)) is an index condition on the primary key whatever the statistics say;
    // IN (subquery) may become a scan of the organization's keys while statistics are stale.
    `SELECT client_id, id, item_at FROM ingest_keys
     WHERE kind = $1 AND client_id = ANY(ARRAY(SELECT jsonb_array_elements_text($2::jsonb)))`,
    [kind, JSON.stringify(clientIds)],
  );
  return new Map(r.rows.map((x) => [x.client_id, { id: x.id, itemAt: new Date(x.item_at) }]));
}

/**
 * New executions, written after their spans were priced: an execution with
 * ledger rows takes its totals from them (as rollUp would), one without keeps
 * what its client reported. A new execution's ledger rows can only come from
 * this batch (spans name executions already ingested).
 */
export async function insertExecutions(sql: Sql, orgId: string, rows: Record<string, unknown>[]): Promise<void> {
  if (!rows.length) return;
  await sql.query(
    `INSERT INTO executions (id, org_id, agent_id, agent_version_id, user_id, session_id, parent_execution_id, plan_id,
       model_provider, model_name, input, output, status, error_code, error_message, retry_count, max_retries,
       queue_time_ms, execution_time_ms, latency_ms, started_at, completed_at,
       prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd,
       result_quality_score, user_satisfaction_score, tool_calls, trace_id, span_id, parent_span_id,
       correlation_id, request_id, client_id, metadata, tags, created_at)
     SELECT x.id, $1, x.agent_id, x.agent_version_id, x.user_id, x.session_id, x.parent_execution_id, x.plan_id,
       x.model_provider, x.model_name, coalesce(x.input, '{}'), x.output, x.status, x.error_code, x.error_message,
       coalesce(x.retry_count, 0), coalesce(x.max_retries, 3), x.queue_time_ms, x.execution_time_ms, x.latency_ms,
       x.started_at, x.completed_at,
       coalesce(l.prompt, x.prompt_tokens, 0), coalesce(l.completion, x.completion_tokens, 0),
       coalesce(l.cached, x.cached_tokens, 0), coalesce(l.cache_write, x.cache_write_tokens, 0),
       coalesce(l.reasoning, x.reasoning_tokens, 0),
       coalesce(l.total, x.total_tokens, coalesce(x.prompt_tokens, 0) + coalesce(x.completion_tokens, 0)),
       coalesce(l.cost, x.cost_usd, 0),
       x.result_quality_score, x.user_satisfaction_score, coalesce(x.tool_calls, '[]'), x.trace_id, x.span_id, x.parent_span_id,
       x.correlation_id, x.request_id, x.client_id, coalesce(x.metadata, '{}'), coalesce(x.tags, '{}'), x.created_at
     FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, agent_id uuid, agent_version_id uuid, user_id uuid, session_id text,
       parent_execution_id uuid, plan_id uuid, model_provider text, model_name text, input jsonb, output jsonb, status text,
       error_code text, error_message text, retry_count int, max_retries int, queue_time_ms int, execution_time_ms int,
       latency_ms int, started_at timestamptz, completed_at timestamptz, prompt_tokens int, completion_tokens int,
       cached_tokens int, cache_write_tokens int, reasoning_tokens int, total_tokens int, cost_usd numeric,
       result_quality_score numeric, user_satisfaction_score int, tool_calls jsonb, trace_id text, span_id text,
       parent_span_id text, correlation_id text, request_id text, client_id text, metadata jsonb, tags text[],
       created_at timestamptz)
     LEFT JOIN (
       SELECT execution_id, sum(prompt_tokens)::int AS prompt, sum(completion_tokens)::int AS completion,
         sum(cached_tokens)::int AS cached, sum(cache_write_tokens)::int AS cache_write,
         sum(reasoning_tokens)::int AS reasoning, sum(total_tokens)::int AS total, sum(total_cost_usd) AS cost
       FROM cost_ledger
       WHERE org_id = $1 AND execution_id = ANY(ARRAY(SELECT (r->>'id')::uuid FROM jsonb_array_elements($2::jsonb) r))
       GROUP BY execution_id
     ) l ON l.execution_id = x.id`,
    [orgId, JSON.stringify(rows)],
  );
}

/**
 * Prices each llm span from the price in force at its start
 * (model_price_for, migration 0007) and upserts one ledger
 * row per span: a repeated span replaces its row. Spans no price matches keep
 * the cost the client sent, if any. Returns the cost per span ref.
 */
export async function upsertLedger(sql: Sql, orgId: string, rows: Record<string, unknown>[]): Promise<Map<string, string>> {
  if (!rows.length) return new Map();
  // Pricing an alternative costs a second price lookup per span: only when some span asks.
  const alternatives = rows.some((r) => r.alternative_model);
  const r = await sql.query<{ span_ref: string; total_cost_usd: string }>(
    `WITH s AS (
       SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(ref uuid, started_at timestamptz, span_id text, execution_id uuid,
         execution_created_at timestamptz, provider text, model text, prompt int, completion int, cached int,
         cache_write int, reasoning int, client_cost numeric, usage_category text, usage_type text, alternative_model text,
         known boolean, user_id uuid, agent_id uuid, session_id text, plan_id uuid, tags jsonb)
     ), priced AS (
       SELECT s.*, p.id AS price_id, p.provider AS price_provider, p.tier, p.input_price,
         p.output_price, coalesce(p.cached_input_price, p.input_price) AS cached_price,
         coalesce(p.cache_write_price, p.input_price) AS cache_write_price,
         coalesce(p.reasoning_price, p.output_price) AS reasoning_price,
         a.id AS alt_price_id, a.input_price AS alt_input_price, a.output_price AS alt_output_price,
         coalesce(a.cached_input_price, a.input_price) AS alt_cached_price,
         coalesce(a.cache_write_price, a.input_price) AS alt_cache_write_price,
         coalesce(a.reasoning_price, a.output_price) AS alt_reasoning_price
       FROM s
       LEFT JOIN LATERAL model_price_for(s.model, s.provider, s.started_at) p ON true
       -- The alternative is priced the same way, from any provider.
       LEFT JOIN LATERAL model_price_for(${alternatives ? 's.alternative_model' : 'NULL'}, NULL, s.started_at) a ON ${alternatives}
     ), costed AS (
       SELECT q.*,
         CASE WHEN q.price_id IS NULL THEN round(q.client_cost, 6) ELSE round(
           (q.prompt - q.cached - q.cache_write) * q.input_price + q.cached * q.cached_price
           + q.cache_write * q.cache_write_price + (q.completion - q.reasoning) * q.output_price
           + q.reasoning * q.reasoning_price, 6) END AS cost,
         CASE WHEN q.alt_price_id IS NOT NULL THEN round(
           (q.prompt - q.cached - q.cache_write) * q.alt_input_price + q.cached * q.alt_cached_price
           + q.cache_write * q.alt_cache_write_price + (q.completion - q.reasoning) * q.alt_output_price
           + q.reasoning * q.alt_reasoning_price, 6) END AS alt_cost
       FROM priced q
     )
     INSERT INTO cost_ledger (org_id, span_ref, span_started_at, span_id, execution_id, execution_created_at,
       user_id, agent_id, session_id, plan_id, model_provider, model_name, model_tier, price_id,
       prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
       prompt_cost_per_token, completion_cost_per_token, cached_cost_per_token, cache_write_cost_per_token,
       reasoning_cost_per_token, total_cost_usd, billing_date, usage_category, usage_type,
       alternative_model, alternative_cost_usd, savings_usd, tags)
     SELECT $1, q.ref, q.started_at, q.span_id, q.execution_id, q.execution_created_at,
       coalesce(q.user_id, e.user_id), coalesce(q.agent_id, e.agent_id), coalesce(q.session_id, e.session_id),
       coalesce(q.plan_id, e.plan_id), coalesce(q.provider, q.price_provider, 'unknown'), q.model, q.tier, q.price_id,
       q.prompt, q.completion, q.cached, q.cache_write, q.reasoning, q.prompt + q.completion,
       q.input_price, q.output_price, q.cached_price, q.cache_write_price, q.reasoning_price,
       q.cost, (q.started_at AT TIME ZONE 'UTC')::date, q.usage_category, q.usage_type,
       CASE WHEN q.alt_cost IS NOT NULL THEN q.alternative_model END, q.alt_cost, q.cost - q.alt_cost,
       coalesce(q.tags, e.tags, '[]')
     FROM costed q
     -- Executions written in this batch come after their ledger rows: the batch passes their attributes (known);
     -- a late span's execution is looked up, one index probe each.
     LEFT JOIN LATERAL (
       SELECT x.user_id, x.agent_id, x.session_id, x.plan_id, to_jsonb(x.tags) AS tags FROM executions x
       WHERE NOT q.known AND x.id = q.execution_id AND x.created_at = q.execution_created_at
       OFFSET 0 -- keeps it a per-row probe: pulled up, it becomes a hash join over every execution
     ) e ON true
     WHERE q.price_id IS NOT NULL OR q.client_cost IS NOT NULL
     ON CONFLICT (org_id, execution_id, span_id) DO UPDATE SET
       span_ref = EXCLUDED.span_ref, span_started_at = EXCLUDED.span_started_at,
       model_provider = EXCLUDED.model_provider, model_name = EXCLUDED.model_name, model_tier = EXCLUDED.model_tier,
       price_id = EXCLUDED.price_id, prompt_tokens = EXCLUDED.prompt_tokens, completion_tokens = EXCLUDED.completion_tokens,
       cached_tokens = EXCLUDED.cached_tokens, cache_write_tokens = EXCLUDED.cache_write_tokens,
       reasoning_tokens = EXCLUDED.reasoning_tokens, total_tokens = EXCLUDED.total_tokens,
       prompt_cost_per_token = EXCLUDED.prompt_cost_per_token, completion_cost_per_token = EXCLUDED.completion_cost_per_token,
       cached_cost_per_token = EXCLUDED.cached_cost_per_token, cache_write_cost_per_token = EXCLUDED.cache_write_cost_per_token,
       reasoning_cost_per_token = EXCLUDED.reasoning_cost_per_token, total_cost_usd = EXCLUDED.total_cost_usd,
       billing_date = EXCLUDED.billing_date, usage_category = EXCLUDED.usage_category, usage_type = EXCLUDED.usage_type,
       alternative_model = EXCLUDED.alternative_model, alternative_cost_usd = EXCLUDED.alternative_cost_usd,
       savings_usd = EXCLUDED.savings_usd, tags = EXCLUDED.tags
     RETURNING span_ref, total_cost_usd::text AS total_cost_usd`,
    [orgId, JSON.stringify(rows)],
  );
  return new Map(r.rows.map((x) => [x.span_ref, x.total_cost_usd]));
}

export async function insertSpans(sql: Sql, orgId: string, rows: Record<string, unknown>[]): Promise<void> {
  if (!rows.length) return;
  await sql.query(
    `INSERT INTO spans (id, org_id, execution_id, execution_created_at, kind, trace_id, span_id, parent_span_id, name,
       model, provider, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
       cost_usd, tool_name, tool_status, step_number, reasoning, confidence, input, output, status, error_message,
       started_at, ended_at, duration_ms, attributes, client_id)
     SELECT x.id, $1, x.execution_id, x.execution_created_at, x.kind, x.trace_id, x.span_id, x.parent_span_id, x.name,
       x.model, x.provider, x.prompt_tokens, x.completion_tokens, x.cached_tokens, x.cache_write_tokens, x.reasoning_tokens,
       coalesce(x.total_tokens, CASE WHEN x.prompt_tokens IS NOT NULL OR x.completion_tokens IS NOT NULL
         THEN coalesce(x.prompt_tokens, 0) + coalesce(x.completion_tokens, 0) END),
       x.cost_usd, x.tool_name, x.tool_status, x.step_number, x.reasoning, x.confidence, x.input, x.output, x.status,
       x.error_message, x.started_at, x.ended_at,
       coalesce(x.duration_ms, (extract(epoch FROM x.ended_at - x.started_at) * 1000)::int),
       coalesce(x.attributes, '{}'), x.client_id
     FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, execution_id uuid, execution_created_at timestamptz, kind text,
       trace_id text, span_id text, parent_span_id text, name text, model text, provider text, prompt_tokens int,
       completion_tokens int, cached_tokens int, cache_write_tokens int, reasoning_tokens int, total_tokens int,
       cost_usd numeric, tool_name text, tool_status text, step_number int, reasoning text, confidence numeric,
       input jsonb, output jsonb, status text, error_message text, started_at timestamptz, ended_at timestamptz,
       duration_ms int, attributes jsonb, client_id text)`,
    [orgId, JSON.stringify(rows)],
  );
}

/**
 * Execution totals are the sums of their ledger rows (one per span), so a
 * repeated or late span never counts twice. Executions with no ledger row
 * keep the totals their client reported.
 */
export async function rollUp(sql: Sql, executionIds: string[]): Promise<void> {
  if (!executionIds.length) return;
  await sql.query(
    `UPDATE executions e SET prompt_tokens = l.prompt, completion_tokens = l.completion, cached_tokens = l.cached,
       cache_write_tokens = l.cache_write, reasoning_tokens = l.reasoning, total_tokens = l.total, cost_usd = l.cost
     FROM (
       SELECT execution_id, execution_created_at, sum(prompt_tokens)::int AS prompt, sum(completion_tokens)::int AS completion,
         sum(cached_tokens)::int AS cached, sum(cache_write_tokens)::int AS cache_write,
         sum(reasoning_tokens)::int AS reasoning, sum(total_tokens)::int AS total, sum(total_cost_usd) AS cost
       FROM cost_ledger WHERE execution_id = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::uuid))
       GROUP BY execution_id, execution_created_at
     ) l
     WHERE e.id = l.execution_id AND e.created_at = l.execution_created_at`,
    [JSON.stringify(executionIds)],
  );
}

/**
 * Decisions and messages linked to an execution take what they leave out
 * (agent, session and plan; session and plan) from it. The execution is written
 * earlier in the batch or was stored before: one primary-key probe each, and
 * only for items that leave something out.
 */
const INHERIT_FROM_EXECUTION = (when: string) => `LEFT JOIN LATERAL (
       SELECT p.agent_id, p.session_id, p.plan_id FROM executions p
       WHERE p.id = x.execution_id AND p.created_at = x.execution_created_at
       OFFSET 0 -- keeps it a per-row probe
     ) e ON ${when}`;

export async function insertDecisions(sql: Sql, orgId: string, rows: Record<string, unknown>[]): Promise<void> {
  if (!rows.length) return;
  await sql.query(
    `INSERT INTO agent_decisions (id, org_id, decision_id, agent_id, execution_id, execution_created_at, session_id,
       plan_id, decided_at, decision_type, reasoning_chain, data_sources, confidence_score, decision_metadata, model_used,
       latency_ms, error_message, tags)
     SELECT x.id, $1, x.decision_id, coalesce(x.agent_id, e.agent_id), x.execution_id, x.execution_created_at,
       coalesce(x.session_id, e.session_id), coalesce(x.plan_id, e.plan_id), x.decided_at,
       x.decision_type, x.reasoning_chain, coalesce(x.data_sources, '[]'), x.confidence, x.metadata, x.model_used,
       x.latency_ms, x.error_message, coalesce(x.tags, '{}')
     FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, decision_id text, agent_id uuid, execution_id uuid,
       execution_created_at timestamptz, session_id text, plan_id uuid, decided_at timestamptz, decision_type text,
       reasoning_chain jsonb, data_sources jsonb, confidence numeric, metadata jsonb, model_used text,
       latency_ms float8, error_message text, tags text[])
     ${INHERIT_FROM_EXECUTION('x.agent_id IS NULL OR x.session_id IS NULL OR x.plan_id IS NULL')}`,
    [orgId, JSON.stringify(rows)],
  );
}

export async function insertMessages(sql: Sql, orgId: string, rows: Record<string, unknown>[]): Promise<void> {
  if (!rows.length) return;
  await sql.query(
    `INSERT INTO agent_communications (id, org_id, plan_id, execution_id, execution_created_at, session_id,
       from_agent_id, to_agent_id, from_agent, to_agent, message_type, message_data, priority, response_data,
       response_time_ms, status, error_message, retry_count, sent_at, delivered_at, received_at, processed_at,
       trace_id, correlation_id, client_id, metadata, tags)
     SELECT x.id, $1, coalesce(x.plan_id, e.plan_id), x.execution_id, x.execution_created_at,
       coalesce(x.session_id, e.session_id), x.from_agent_id, x.to_agent_id,
       x.from_agent, x.to_agent, x.message_type, x.message_data, x.priority, coalesce(x.response_data, '{}'),
       x.response_time_ms, x.status, x.error_message, coalesce(x.retry_count, 0), x.sent_at, x.delivered_at,
       x.received_at, x.processed_at, x.trace_id, x.correlation_id, x.client_id, coalesce(x.metadata, '{}'),
       coalesce(x.tags, '{}')
     FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, plan_id uuid, execution_id uuid, execution_created_at timestamptz,
       session_id text, from_agent_id uuid, to_agent_id uuid, from_agent text, to_agent text, message_type text,
       message_data jsonb, priority int, response_data jsonb, response_time_ms int, status text, error_message text,
       retry_count int, sent_at timestamptz, delivered_at timestamptz, received_at timestamptz,
       processed_at timestamptz, trace_id text, correlation_id text, client_id text, metadata jsonb, tags text[])
     ${INHERIT_FROM_EXECUTION('x.plan_id IS NULL OR x.session_id IS NULL')}`,
    [orgId, JSON.stringify(rows)],
  );
}

/**
 * Forgets the keys of one kind whose items are past their table's retention
 * (a retry of such an item is refused by the time window anyway). The BRIN
 * index on created_at bounds the scan: a key older than the cutoff was
 * created before it.
 */
export async function pruneKeys(sql: Sql, orgId: string, kind: IngestKind, cutoff: string): Promise<number> {
  const r = await sql.query(
    `DELETE FROM ingest_keys WHERE org_id = $1 AND kind = $2 AND created_at < $3 AND item_at < $3`,
    [orgId, kind, cutoff],
  );
  return r.rowCount ?? 0;
}

/**
 * Which of these execution ids exist in the tenant. An execution's id is a
 * UUIDv7 of its created_at, so each is looked up by its full primary key
 * (one partition); an id that is not such a UUID cannot name an execution.
 */
export async function findExecutionRefs(sql: Sql, ids: string[]): Promise<Set<string>> {
  const keys = ids.flatMap((id) => {
    const at = uuidV7Time(id);
    return at ? [{ id, created_at: at.toISOString() }] : [];
  });
  if (!keys.length) return new Set();
  const r = await sql.query<{ id: string }>(
    `SELECT e.id FROM jsonb_to_recordset($1::jsonb) AS k(id uuid, created_at timestamptz)
     JOIN LATERAL (SELECT x.id FROM executions x WHERE x.id = k.id AND x.created_at = k.created_at) e ON true`,
    [JSON.stringify(keys)],
  );
  return new Set(r.rows.map((x) => x.id));
}
