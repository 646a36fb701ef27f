import type { Sql } from '../db/index.js';

/**
 * SQL of the usage module (migration 0013): monthly usage counters, the
 * organization's usage limits, and the ingest rate bucket. Every function
 * runs in a tenant transaction of orgId.
 */

export type Metric = 'runs' | 'ingested_spans';

/** Shards of a counter row; a backend adds to its own, so concurrent writers do not queue on one row. */
const SHARDS = 8;

export async function addUsage(sql: Sql, orgId: string, period: string, metric: Metric, n: number): Promise<void> {
  await sql.query(
    `INSERT INTO usage_counters (org_id, period, metric, shard, value) VALUES ($1, $2, $3, pg_backend_pid() % ${SHARDS}, $4)
     ON CONFLICT (org_id, period, metric, shard) DO UPDATE
       SET value = usage_counters.value + EXCLUDED.value, updated_at = now()`,
    [orgId, period, metric, n],
  );
}

/** What the month (its first day) has used, per metric; a metric with no row is 0. */
export async function usageOf(sql: Sql, orgId: string, period: string): Promise<Record<Metric, number>> {
  const r = await sql.query<{ metric: Metric; n: string }>(
    `SELECT metric, sum(value)::text AS n FROM usage_counters WHERE org_id = $1 AND period = $2 GROUP BY metric`,
    [orgId, period],
  );
  const out: Record<Metric, number> = { runs: 0, ingested_spans: 0 };
  for (const x of r.rows) out[x.metric] = Number(x.n);
  return out;
}

export interface UsageLimits {
  /** organizations.max_executions_per_month (seed 002): runs the service executes */
  maxRunsPerMonth: number;
  maxIngestedSpansPerMonth: number;
  maxIngestedSpansPerSecond: number;
  /** numeric as text; null: no budget */
  monthlyCostBudgetUsd: string | null;
}

const LIMIT_COLUMNS = `max_executions_per_month AS "maxRunsPerMonth",
  max_ingested_spans_per_month::float8 AS "maxIngestedSpansPerMonth",
  max_ingested_spans_per_second AS "maxIngestedSpansPerSecond",
  monthly_cost_budget_usd::text AS "monthlyCostBudgetUsd"`;

export async function readLimits(sql: Sql, orgId: string): Promise<UsageLimits | undefined> {
  const r = await sql.query<UsageLimits>(`SELECT ${LIMIT_COLUMNS} FROM organizations WHERE id = $1 AND deleted_at IS NULL`, [orgId]);
  return r.rows[0];
}

/**
 * The limits with the organization's row locked until the transaction ends:
 * runs starting at once take turns, so each counts the runs before it.
 */
export async function lockLimits(sql: Sql, orgId: string): Promise<UsageLimits | undefined> {
  const r = await sql.query<UsageLimits>(
    `SELECT ${LIMIT_COLUMNS} FROM organizations WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`,
    [orgId],
  );
  return r.rows[0];
}

/** Takes n tokens from the organization's ingest bucket unless it is in debt (take_ingest_tokens, migration 0013). */
export async function takeIngestTokens(sql: Sql, orgId: string, n: number): Promise<{ allowed: boolean; retryAfterMs: number; rate: number }> {
  const r = await sql.query<{ allowed: boolean; retryAfterMs: number; rate: number }>(
    `SELECT allowed, retry_after_ms AS "retryAfterMs", rate FROM take_ingest_tokens($1, $2)`,
    [orgId, n],
  );
  return r.rows[0]!;
}

/** Tokens in the bucket now (the rate limit's headroom), without taking any; a fresh bucket is full. */
export async function ingestTokens(sql: Sql, orgId: string, rate: number): Promise<number> {
  const r = await sql.query<{ tokens: number }>(
    `SELECT least($2::float8, tokens + extract(epoch FROM clock_timestamp() - refreshed_at) * $2) AS tokens
     FROM ingest_rate_buckets WHERE org_id = $1`,
    [orgId, rate],
  );
  return r.rows[0]?.tokens ?? rate;
}
