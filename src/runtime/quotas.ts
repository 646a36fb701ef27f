/**
 * Quotas checked before a run starts, inside the transaction that records it:
 * a refusal rolls everything back, so nothing is written and nothing runs.
 *
 * - runs per calendar month (UTC): organizations.max_executions_per_month,
 *   counted by the usage module (ingested telemetry has limits of its own)
 *   → 429 quota_exceeded, limit runs_per_month (a count that resets; waiting helps).
 * - cost per calendar month (UTC): organizations.monthly_cost_budget_usd
 *   → 402 budget_exceeded (money: raising the budget or waiting helps).
 *   A separate code from quota_exceeded, so a client can tell "slow down"
 *   from "someone must approve more spend". The cost is everything the
 *   ledger priced this month, ingested telemetry included: it is all spend.
 * Agent-to-agent calls are runs like any other.
 *
 * What is left of the cost budget also caps the run itself (its tree's
 * maxCostUsd), so one run cannot spend far past the budget it started under.
 * Runs running at once each get what was left when they started: the budget
 * bounds each of them, not their sum.
 */
import type { Database, Sql } from '../db/index.js';
import { AppError } from '../errors.js';
import { costSince } from '../runs/index.js';
import { chargeRun, dayText, lockLimits, monthOf, readLimits } from '../usage/index.js';

/** Call in the transaction that records the new run (its execution), before it commits. */
export async function assertWithinQuotas(sql: Sql, orgId: string, now: Date): Promise<QuotaRoom> {
  const limits = await lockLimits(sql, orgId);
  if (!limits) return {};
  await chargeRun(sql, orgId, now);

  if (limits.monthlyCostBudgetUsd !== null) {
    const from = monthOf(now);
    const resetsAt = monthOf(now, 1);
    const spent = await costSince(sql, orgId, dayText(from));
    if (Number(spent) >= Number(limits.monthlyCostBudgetUsd)) {
      throw new AppError(
        402,
        'budget_exceeded',
        `this organization has spent $${trim(spent)} of its monthly cost budget of $${trim(limits.monthlyCostBudgetUsd)} for ${dayText(from).slice(0, 7)} (UTC); the budget resets at ${resetsAt.toISOString()}, or an owner can raise it`,
        { limit: 'monthly_cost_budget_usd', budgetUsd: Number(limits.monthlyCostBudgetUsd), spentUsd: Number(spent), resetsAt: resetsAt.toISOString() },
      );
    }
    return { costLeftUsd: Number(limits.monthlyCostBudgetUsd) - Number(spent) };
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
    const limits = await readLimits(sql, orgId);
    if (!limits || limits.monthlyCostBudgetUsd === null) return undefined;
    const spent = await costSince(sql, orgId, dayText(monthOf(now)));
    return Math.max(0, Number(limits.monthlyCostBudgetUsd) - Number(spent));
  });
}

/** 12.340000 → 12.34 for a message. */
const trim = (n: string) => String(Number(n));
