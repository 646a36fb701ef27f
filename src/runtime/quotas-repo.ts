import type { Sql } from '../db/index.js';

/**
 * Reads for the run quotas: the organization's limits and this month's usage
 * from the roll-ups of migration 0007 (execution_stats_daily, cost_daily), a
 * few rows per day rather than a scan of the month's executions or ledger.
 */

export interface RunQuota {
  maxExecutionsPerMonth: number;
  /** numeric(12,2) as text; null: no budget */
  monthlyCostBudgetUsd: string | null;
}

/**
 * The limits, row-locked until the transaction ends: concurrent starts of one
 * organization take turns, so each counts the executions of those before it.
 */
export async function lockRunQuota(sql: Sql, orgId: string): Promise<RunQuota | undefined> {
  const r = await sql.query<RunQuota>(
    `SELECT max_executions_per_month AS "maxExecutionsPerMonth", monthly_cost_budget_usd::text AS "monthlyCostBudgetUsd"
     FROM organizations WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`,
    [orgId],
  );
  return r.rows[0];
}

/** The limits, without a lock (a queued run reading what is left of its budget when it starts). */
export async function readRunQuota(sql: Sql, orgId: string): Promise<RunQuota | undefined> {
  const r = await sql.query<RunQuota>(
    `SELECT max_executions_per_month AS "maxExecutionsPerMonth", monthly_cost_budget_usd::text AS "monthlyCostBudgetUsd"
     FROM organizations WHERE id = $1 AND deleted_at IS NULL`,
    [orgId],
  );
  return r.rows[0];
}

/** Executions created on or after the day (UTC), whatever their status. */
export async function executionsSince(sql: Sql, orgId: string, day: string): Promise<number> {
  const r = await sql.query<{ n: number }>(
    `SELECT coalesce(sum(executions), 0)::bigint AS n FROM execution_stats_daily WHERE org_id = $1 AND day >= $2::date`,
    [orgId, day],
  );
  return Number(r.rows[0]!.n);
}

/** Priced cost of the ledger on or after the day (UTC), as text (numeric). */
export async function costSince(sql: Sql, orgId: string, day: string): Promise<string> {
  const r = await sql.query<{ cost: string }>(
    `SELECT coalesce(sum(cost_usd), 0)::text AS cost FROM cost_daily WHERE org_id = $1 AND dimension = 'total' AND day >= $2::date`,
    [orgId, day],
  );
  return r.rows[0]!.cost;
}
