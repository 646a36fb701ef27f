import type { Sql } from '../db/index.js';

/**
 * Reads of the pre-aggregated tables (migration 0007): cost_daily and
 * execution_stats_daily. Both are summed over their shards here; neither
 * query touches spans, executions or the ledger, so they cost the same at
 * 10M spans as at 10.
 */

/**
 * groupBy → the cost_daily dimension holding it ('day' sums the totals). An
 * allow-list. A ledger row counts once under each of its tags, so the groups
 * of 'tag' need not add up to the total (untagged rows are in no group).
 */
export const COST_DIMENSIONS = {
  day: 'total',
  model: 'model',
  provider: 'provider',
  agent: 'agent',
  user: 'user',
  session: 'session',
  plan: 'plan',
  tag: 'tag',
} as const;
export type CostGroup = keyof typeof COST_DIMENSIONS;

export interface CostRow {
  key: string | null;
  /** groupBy=agent only: the agent's slug and name, null when it was deleted or is unknown */
  slug?: string | null;
  name?: string | null;
  /** groupBy=session only: the session's token (your key for the conversation), null when the key names no session */
  sessionToken?: string | null;
  costUsd: number;
  alternativeCostUsd: number;
  savingsUsd: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  spans: number;
}

export async function costs(sql: Sql, groupBy: CostGroup, from: string, to: string): Promise<CostRow[]> {
  const byDay = groupBy === 'day';
  // The agents join runs on the (at most 1000) groups, not on cost_daily's rows.
  const labels = groupBy === 'agent';
  const sessions = groupBy === 'session';
  const r = await sql.query<CostRow>(
    `WITH g AS (
       SELECT ${byDay ? 'day::text' : `nullif(key, '')`} AS key, sum(cost_usd)::float8 AS "costUsd",
         sum(alternative_cost_usd)::float8 AS "alternativeCostUsd", sum(savings_usd)::float8 AS "savingsUsd",
         sum(prompt_tokens)::float8 AS "promptTokens", sum(completion_tokens)::float8 AS "completionTokens",
         sum(cached_tokens)::float8 AS "cachedTokens", sum(cache_write_tokens)::float8 AS "cacheWriteTokens",
         sum(reasoning_tokens)::float8 AS "reasoningTokens", sum(total_tokens)::float8 AS "totalTokens",
         sum(spans)::float8 AS spans
       FROM cost_daily
       WHERE dimension = $1 AND day >= $2::date AND day <= $3::date
       GROUP BY 1 HAVING sum(spans) <> 0
       ORDER BY ${byDay ? '1' : '2 DESC, 1'} LIMIT 1000
     )
     SELECT g.key${labels ? ', a.slug, a.name' : ''}${sessions ? ', s.session_token AS "sessionToken"' : ''}, g."costUsd", g."alternativeCostUsd", g."savingsUsd", g."promptTokens",
       g."completionTokens", g."cachedTokens", g."cacheWriteTokens", g."reasoningTokens", g."totalTokens", g.spans
     FROM g${labels ? ' LEFT JOIN agents a ON a.id = g.key::uuid AND a.deleted_at IS NULL' : ''}${sessions
       // keys ingested before sessions were one notion may be any text: only a UUID can name a session row
       ? ` LEFT JOIN user_sessions s ON s.id = CASE WHEN g.key ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN g.key::uuid END`
       : ''}
     ORDER BY ${byDay ? 'g.key' : 'g."costUsd" DESC, g.key'}`,
    [COST_DIMENSIONS[groupBy], from, to],
  );
  return r.rows;
}

export interface PerformanceRow {
  agentId: string | null;
  modelProvider: string | null;
  modelName: string | null;
  executions: number;
  completed: number;
  failed: number;
  successRate: number | null;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
  totalTokens: number;
  avgTokens: number | null;
  costUsd: number;
  avgCostUsd: number | null;
}

/**
 * Agent performance per agent and model over a range of days (seed 000
 * v_agent_performance). p95 comes from the latency histogram: the upper
 * bound of the bucket holding the 95th percentile (within 25 % above).
 */
export async function performance(sql: Sql, from: string, to: string, agentId?: string): Promise<PerformanceRow[]> {
  const r = await sql.query<PerformanceRow>(
    `WITH s AS (
       SELECT agent_id, model_provider, model_name, status, latency_bucket, sum(executions) AS n,
         sum(latency_ms_sum) AS latency, sum(total_tokens) AS tokens, sum(cost_usd) AS cost
       FROM execution_stats_daily
       WHERE day >= $1::date AND day <= $2::date AND ($3::uuid IS NULL OR agent_id = $3)
       GROUP BY 1, 2, 3, 4, 5
     ), h AS (
       SELECT agent_id, model_provider, model_name, latency_bucket,
         sum(sum(n)) OVER (PARTITION BY agent_id, model_provider, model_name ORDER BY latency_bucket) AS running,
         sum(sum(n)) OVER (PARTITION BY agent_id, model_provider, model_name) AS total
       FROM s WHERE latency_bucket >= 0 GROUP BY 1, 2, 3, 4
     ), p95 AS (
       SELECT agent_id, model_provider, model_name, latency_bucket_upper(min(latency_bucket)) AS p95
       FROM h WHERE running >= 0.95 * total AND total > 0 GROUP BY 1, 2, 3
     )
     SELECT nullif(s.agent_id, '00000000-0000-0000-0000-000000000000') AS "agentId",
       nullif(s.model_provider, '') AS "modelProvider", nullif(s.model_name, '') AS "modelName",
       sum(n)::float8 AS executions,
       (sum(n) FILTER (WHERE status = 'completed'))::float8 AS completed,
       (sum(n) FILTER (WHERE status IN ('failed', 'timeout')))::float8 AS failed,
       ((sum(n) FILTER (WHERE status = 'completed')) / nullif(sum(n) FILTER (WHERE status IN ('completed', 'failed', 'timeout', 'cancelled')), 0))::float8 AS "successRate",
       (sum(latency) FILTER (WHERE latency_bucket >= 0) / nullif(sum(n) FILTER (WHERE latency_bucket >= 0), 0))::float8 AS "avgLatencyMs",
       round(max(p95.p95))::float8 AS "p95LatencyMs",
       sum(tokens)::float8 AS "totalTokens", (sum(tokens) / nullif(sum(n), 0))::float8 AS "avgTokens",
       sum(cost)::float8 AS "costUsd", (sum(cost) / nullif(sum(n), 0))::float8 AS "avgCostUsd"
     FROM s LEFT JOIN p95 USING (agent_id, model_provider, model_name)
     GROUP BY s.agent_id, s.model_provider, s.model_name
     HAVING sum(n) <> 0
     ORDER BY executions DESC, 1 LIMIT 1000`,
    [from, to, agentId ?? null],
  );
  return r.rows.map((x) => ({ ...x, completed: x.completed ?? 0, failed: x.failed ?? 0 }));
}

/** Priced cost of the ledger on or after the day (UTC), as text (numeric), from the daily roll-up (a few rows per day). */
export async function costSince(sql: Sql, orgId: string, day: string): Promise<string> {
  const r = await sql.query<{ cost: string }>(
    `SELECT coalesce(sum(cost_usd), 0)::text AS cost FROM cost_daily WHERE org_id = $1 AND dimension = 'total' AND day >= $2::date`,
    [orgId, day],
  );
  return r.rows[0]!.cost;
}

export interface LedgerTotals {
  /** numeric as text: exact */
  costUsd: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** priced llm spans */
  spans: number;
}

/** The ledger's sums over UTC days [fromDay, toDay), from the daily roll-up (billing's usage records). */
export async function ledgerTotals(sql: Sql, orgId: string, fromDay: string, toDay: string): Promise<LedgerTotals> {
  const r = await sql.query<LedgerTotals>(
    `SELECT coalesce(sum(cost_usd), 0)::text AS "costUsd", coalesce(sum(prompt_tokens), 0)::float8 AS "promptTokens",
       coalesce(sum(completion_tokens), 0)::float8 AS "completionTokens", coalesce(sum(total_tokens), 0)::float8 AS "totalTokens",
       coalesce(sum(spans), 0)::float8 AS spans
     FROM cost_daily WHERE org_id = $1 AND dimension = 'total' AND day >= $2::date AND day < $3::date`,
    [orgId, fromDay, toDay],
  );
  return r.rows[0]!;
}

export const ACTIVITY_SPLITS = { agent: 'agent', model: 'model' } as const;
export type ActivitySplit = keyof typeof ACTIVITY_SPLITS;

/** One day of one agent (or model): what the overview stacks. */
export interface ActivityRow {
  day: string;
  /** the agent id or the model name; null: executions without one; '(other)': the keys past the top ten, summed */
  key: string | null;
  executions: number;
  failed: number;
  totalTokens: number;
  costUsd: number;
}

/** One day's latency over every execution, from the histogram (p95: upper bound of its 1.25x bucket). */
export interface LatencyRow {
  day: string;
  executions: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
}

/**
 * Executions, failures, tokens and cost per UTC day and agent (or model), from
 * execution_stats_daily (one roll-up row per day, agent, model, status and
 * latency bucket; never the executions themselves). The ten keys with the
 * most executions over the range keep their own rows; the rest are summed
 * under '(other)', so a stacked plot stays readable and the answer bounded
 * (at most 366 × 12 rows).
 */
export async function dailyActivity(sql: Sql, split: ActivitySplit, from: string, to: string): Promise<ActivityRow[]> {
  const key = split === 'agent'
    ? `nullif(agent_id, '00000000-0000-0000-0000-000000000000')::text`
    : `nullif(model_name, '')`;
  const r = await sql.query<ActivityRow>(
    `WITH s AS (
       SELECT day, ${key} AS key, sum(executions) AS n,
         sum(executions) FILTER (WHERE status IN ('failed', 'timeout')) AS failed,
         sum(total_tokens) AS tokens, sum(cost_usd) AS cost
       FROM execution_stats_daily
       WHERE day >= $1::date AND day <= $2::date
       GROUP BY 1, 2
     ), top AS (
       SELECT key FROM s GROUP BY key ORDER BY sum(n) DESC, key NULLS LAST LIMIT 10
     )
     SELECT s.day::text AS day, CASE WHEN s.key IS NULL OR s.key IN (SELECT key FROM top) THEN s.key ELSE '(other)' END AS key,
       sum(s.n)::float8 AS executions, coalesce(sum(s.failed), 0)::float8 AS failed,
       sum(s.tokens)::float8 AS "totalTokens", sum(s.cost)::float8 AS "costUsd"
     FROM s
     GROUP BY 1, 2
     HAVING sum(s.n) <> 0
     ORDER BY 1, 2 NULLS FIRST`,
    [from, to],
  );
  return r.rows;
}

export async function dailyLatency(sql: Sql, from: string, to: string): Promise<LatencyRow[]> {
  const r = await sql.query<LatencyRow>(
    `WITH h AS (
       SELECT day, latency_bucket, sum(executions) AS n FROM execution_stats_daily
       WHERE day >= $1::date AND day <= $2::date AND latency_bucket >= 0
       GROUP BY 1, 2
     ), c AS (
       SELECT day, latency_bucket, n, sum(n) OVER (PARTITION BY day ORDER BY latency_bucket) AS running,
         sum(n) OVER (PARTITION BY day) AS total
       FROM h
     )
     SELECT day::text AS day, max(total)::float8 AS executions,
       round(latency_bucket_upper(min(latency_bucket) FILTER (WHERE running >= 0.5 * total)))::float8 AS "p50LatencyMs",
       round(latency_bucket_upper(min(latency_bucket) FILTER (WHERE running >= 0.95 * total)))::float8 AS "p95LatencyMs"
     FROM c WHERE total > 0
     GROUP BY day ORDER BY day`,
    [from, to],
  );
  return r.rows;
}

/** Names and slugs of agents (null for a deleted one), for labelling groups keyed by agent id. */
export async function agentLabels(sql: Sql, ids: readonly string[]): Promise<Map<string, { name: string; slug: string }>> {
  if (!ids.length) return new Map();
  const r = await sql.query<{ id: string; name: string; slug: string }>(
    `SELECT id::text AS id, name, slug FROM agents WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`,
    [ids],
  );
  return new Map(r.rows.map((x) => [x.id, { name: x.name, slug: x.slug }]));
}
