import { notFound } from '../errors.js';
import type { UsageDeps } from './deps.js';
import { dayText, monthOf } from './quotas.js';
import { ingestTokens, readLimits, usageOf } from './usage-repo.js';

export interface UsageReport {
  /** the calendar month (UTC) the figures are for */
  period: { month: string; start: string; end: string };
  /** runs the service executed (the agent runtime), against organizations.maxExecutionsPerMonth */
  runs: { used: number; limit: number; limitName: 'runs_per_month' };
  /** spans received by ingestion (batch and OTLP) */
  ingestedSpans: { used: number; limit: number; limitName: 'ingested_spans_per_month' };
  /** the per-second limit and how much of it is free now (negative: in debt after a large batch) */
  ingestRate: { limitPerSecond: number; availableNow: number; limitName: 'ingested_spans_per_second' };
  /** everything the cost ledger priced in the month, against the monthly budget (null: none) */
  cost: { spentUsd: number; budgetUsd: number | null };
}

/** Usage of one month (default: the current one) against the organization's limits. */
export function usageReport(deps: UsageDeps, orgId: string, month?: string): Promise<UsageReport> {
  const now = deps.now?.() ?? new Date();
  const start = month ? new Date(`${month}-01T00:00:00Z`) : monthOf(now);
  const end = monthOf(start, 1);
  return deps.db.tenantRead(orgId, async (sql) => {
    const limits = await readLimits(sql, orgId);
    if (!limits) throw notFound('organization', orgId);
    const used = await usageOf(sql, orgId, dayText(start));
    const spent = await deps.costSince(sql, orgId, dayText(start));
    // costSince counts from the day on: a past month subtracts what came after it.
    const after = end <= now ? Number(await deps.costSince(sql, orgId, dayText(end))) : 0;
    return {
      period: { month: dayText(start).slice(0, 7), start: start.toISOString(), end: end.toISOString() },
      runs: { used: used.runs, limit: limits.maxRunsPerMonth, limitName: 'runs_per_month' },
      ingestedSpans: { used: used.ingested_spans, limit: limits.maxIngestedSpansPerMonth, limitName: 'ingested_spans_per_month' },
      ingestRate: {
        limitPerSecond: limits.maxIngestedSpansPerSecond,
        availableNow: Math.floor(await ingestTokens(sql, orgId, limits.maxIngestedSpansPerSecond)),
        limitName: 'ingested_spans_per_second',
      },
      cost: {
        spentUsd: Math.round((Number(spent) - after) * 1e6) / 1e6,
        budgetUsd: limits.monthlyCostBudgetUsd === null ? null : Number(limits.monthlyCostBudgetUsd),
      },
    };
  });
}
