import { uuidv7, type Sql } from '../../db/index.js';
import { activeMemberCount } from '../../identity/index.js';
import { ledgerTotals } from '../../runs/index.js';
import { usageOf } from '../../usage/index.js';
import { clock, type BillingDeps } from './deps.js';
import { dayText, monthStart, monthText, parseMonth } from './period.js';
import type { UsageFigures } from './pricing.js';
import { getUsageRecord, storageBytes, upsertUsageRecord, type UsageRecordRow } from './usage-records-repo.js';

/**
 * A period's usage, from its sources:
 * - runs and ingested spans: the usage module's monthly counters (counted in
 *   the transaction of the work, so refused work never counts);
 * - tokens and LLM cost: the runs module's cost ledger, through its daily
 *   roll-up (cost_daily, dimension 'total') over the month's days;
 * - seats: live members now; storage: the estimate of usage-records-repo —
 *   both point-in-time, measured when the period is first recorded and kept.
 */
export async function measureUsage(sql: Sql, orgId: string, period: Date, kept?: Pick<UsageFigures, 'seats' | 'storageBytes'>): Promise<UsageFigures> {
  const from = dayText(monthStart(period));
  const to = dayText(monthStart(period, 1));
  const counters = await usageOf(sql, orgId, from);
  const ledger = await ledgerTotals(sql, orgId, from, to);
  return {
    runs: counters.runs,
    ingestedSpans: counters.ingested_spans,
    inputTokens: ledger.promptTokens,
    outputTokens: ledger.completionTokens,
    tokensUsed: ledger.totalTokens,
    llmCostUsd: ledger.costUsd,
    seats: kept?.seats ?? (await activeMemberCount(sql)),
    storageBytes: kept?.storageBytes ?? (await storageBytes(sql, orgId)),
  };
}

/** Records (or re-records) the period's usage row: idempotent, one row per organization and month. */
export async function recordUsageIn(sql: Sql, orgId: string, period: Date): Promise<UsageRecordRow> {
  const start = monthStart(period);
  const stored = await getUsageRecord(sql, orgId, dayText(start));
  const figures = await measureUsage(sql, orgId, start, stored);
  return upsertUsageRecord(sql, orgId, stored?.id ?? uuidv7(), dayText(start), dayText(monthStart(start, 1)), figures);
}

export function recordUsage(deps: BillingDeps, orgId: string, period: Date): Promise<UsageRecordRow> {
  return deps.db.tenant(orgId, (sql) => recordUsageIn(sql, orgId, period));
}

export interface UsageView {
  period: { month: string; start: string; end: string };
  /** whether the month has a usage record (written when it closed); if not, the figures are measured now */
  recorded: boolean;
  recordedAt: string | null;
  usage: UsageFigures;
}

/** A month's usage (default: the current one): its record once it has one, else measured now without writing. */
export function usageView(deps: BillingDeps, orgId: string, month?: string): Promise<UsageView> {
  const start = month ? parseMonth(month) : monthStart(clock(deps));
  return deps.db.tenant(orgId, async (sql) => {
    const stored = await getUsageRecord(sql, orgId, dayText(start));
    const usage = stored ? pick(stored) : await measureUsage(sql, orgId, start);
    return {
      period: { month: monthText(start), start: start.toISOString(), end: monthStart(start, 1).toISOString() },
      recorded: !!stored,
      recordedAt: stored ? stored.updatedAt.toISOString() : null,
      usage,
    };
  });
}

const pick = (r: UsageRecordRow): UsageFigures => ({
  runs: r.runs, ingestedSpans: r.ingestedSpans, inputTokens: r.inputTokens, outputTokens: r.outputTokens, tokensUsed: r.tokensUsed,
  llmCostUsd: r.llmCostUsd, storageBytes: r.storageBytes, seats: r.seats,
});
