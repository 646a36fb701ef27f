import type { Sql } from '../db/index.js';

/**
 * SQL of the usage module (migration 0013): monthly usage counters, the
 * organization's usage limits, and the ingest rate bucket. Every function
 * runs in a tenant transaction of orgId.
 */

export type Metric = 'runs' | 'ingested_spans';

/** Shards of a counter row; a backend adds to its own, so concurrent writers do not queue on one row. */
const SHARDS = 8;

/** The organization column that limits each metric per month (an allow-list: identifiers in the SQL text come only from here). */
const MONTHLY_LIMIT_COLUMN: Record<Metric, string> = {
  runs: 'max_executions_per_month',
  ingested_spans: 'max_ingested_spans_per_month',
};

/**
 * Adds n to the month's usage of a metric if that stays within the
 * organization's monthly limit, in one statement: reads the limit and the
 * usage so far (committed shards), and adds to this backend's shard only
 * when there is room. `max` is null when the organization is not visible.
 */
export async function chargeUsage(
  sql: Sql,
  orgId: string,
  period: string,
  metric: Metric,
  n: number,
): Promise<{ charged: boolean; used: number; max: number | null }> {
  const r = await sql.query<{ charged: boolean; used: string; max: string | null }>(
    `WITH lim AS (SELECT ${MONTHLY_LIMIT_COLUMN[metric]}::bigint AS max FROM organizations WHERE id = $1 AND deleted_at IS NULL),
     used AS (SELECT coalesce(sum(value), 0)::bigint AS n FROM usage_counters WHERE org_id = $1 AND period = $2 AND metric = $3),
     added AS (
       INSERT INTO usage_counters (org_id, period, metric, shard, value)
       SELECT $1, $2, $3, pg_backend_pid() % ${SHARDS}, $4 FROM lim, used WHERE used.n + $4 <= lim.max
       ON CONFLICT (org_id, period, metric, shard) DO UPDATE
         SET value = usage_counters.value + EXCLUDED.value, updated_at = now()
       RETURNING 1
     )
     SELECT EXISTS (SELECT 1 FROM added) AS charged, (SELECT n FROM used)::text AS used, (SELECT max FROM lim)::text AS max`,
    [orgId, period, metric, n],
  );
  const row = r.rows[0]!;
  return { charged: row.charged, used: Number(row.used), max: row.max === null ? null : Number(row.max) };
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
 * FOR NO KEY UPDATE, not FOR UPDATE: a run's transaction has already inserted
 * rows referencing the organization (ingest_keys), which hold KEY SHARE on
 * its row; FOR UPDATE conflicts with KEY SHARE, so two runs starting at once
 * each waited for the other's KEY SHARE (a deadlock on PostgreSQL). NO KEY
 * UPDATE still conflicts with itself, so runs still take turns.
 */
export async function lockLimits(sql: Sql, orgId: string): Promise<UsageLimits | undefined> {
  const r = await sql.query<UsageLimits>(
    `SELECT ${LIMIT_COLUMNS} FROM organizations WHERE id = $1 AND deleted_at IS NULL FOR NO KEY UPDATE`,
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
