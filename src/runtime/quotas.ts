/**
 * Quotas checked before a run starts, inside the transaction that records it:
 * a refusal rolls everything back, so nothing is written and nothing runs.
 *
 * - executions per calendar month (UTC): organizations.max_executions_per_month
 *   → 429 quota_exceeded (a count that resets; waiting helps).
 * - cost per calendar month (UTC): organizations.monthly_cost_budget_usd
 *   → 402 budget_exceeded (money: raising the budget or waiting helps).
 *   A separate code from quota_exceeded, so a client can tell "slow down"
 *   from "someone must approve more spend".
 * Both count everything of the month, ingested telemetry included, and
 * agent-to-agent calls are executions like any other.
 *
 * What is left of the cost budget also caps the run itself (its tree's
 * maxCostUsd), so one run cannot spend far past the budget it started under.
 * Runs running at once each get what was left when they started: the budget
 * bounds each of them, not their sum.
 */
import type { Database, Sql } from '../db/index.js';
import { AppError } from '../errors.js';
import { costSince, executionsSince, lockRunQuota, readRunQuota } from './quotas-repo.js';

const monthStart = (now: Date, add = 0) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + add, 1));
const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Call after inserting the new execution in the same transaction: the roll-up
 * (its trigger ran on insert) already counts it, so the limit is exceeded
 * when the count including it is above the limit.
 */
export async function assertWithinQuotas(sql: Sql, orgId: string, now: Date): Promise<QuotaRoom> {
  const quota = await lockRunQuota(sql, orgId);
  if (!quota) return {};
  const from = monthStart(now);
  const resetsAt = monthStart(now, 1);
  const retryAfter = String(Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000)));
  const month = day(from).slice(0, 7);

  const used = await executionsSince(sql, orgId, day(from));
  if (used > quota.maxExecutionsPerMonth) {
    const before = used - 1;
    throw new AppError(
      429,
      'quota_exceeded',
      `this organization has used ${before} of its ${quota.maxExecutionsPerMonth} executions for ${month} (UTC); the count resets at ${resetsAt.toISOString()}, or an owner can raise maxExecutionsPerMonth (PATCH /v1/org)`,
      { limit: 'executions_per_month', max: quota.maxExecutionsPerMonth, used: before, resetsAt: resetsAt.toISOString() },
      { 'retry-after': retryAfter },
    );
  }

  if (quota.monthlyCostBudgetUsd !== null) {
    const spent = await costSince(sql, orgId, day(from));
    if (Number(spent) >= Number(quota.monthlyCostBudgetUsd)) {
      throw new AppError(
        402,
        'budget_exceeded',
        `this organization has spent $${trim(spent)} of its monthly cost budget of $${trim(quota.monthlyCostBudgetUsd)} for ${month} (UTC); the budget resets at ${resetsAt.toISOString()}, or an owner can raise it`,
        { limit: 'monthly_cost_budget_usd', budgetUsd: Number(quota.monthlyCostBudgetUsd), spentUsd: Number(spent), resetsAt: resetsAt.toISOString() },
      );
    }
    return { costLeftUsd: Number(quota.monthlyCostBudgetUsd) - Number(spent) };
  }
  return {};
}

export interface QuotaRoom {
  /** what is left of this month's cost budget; absent when the organization has none */
  costLeftUsd?: number;
}

/** What is left of this month's cost budget now (a queued run when it starts); undefined without a budget. */
export async function costLeftUsd(db: Database, orgId: string, now: Date): Promise<number | undefined> {
  return db.tenant(orgId, async (sql) => {
    const quota = await readRunQuota(sql, orgId);
    if (!quota || quota.monthlyCostBudgetUsd === null) return undefined;
    const spent = await costSince(sql, orgId, day(monthStart(now)));
    return Math.max(0, Number(quota.monthlyCostBudgetUsd) - Number(spent));
  });
}

/** 12.340000 → 12.34 for a message. */
const trim = (n: string) => String(Number(n));
