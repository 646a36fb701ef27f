import type { Database } from '../db/index.js';
import { AppError } from '../errors.js';
import { emitEventOnce } from '../events/index.js';
import { dayText, monthOf } from './quotas.js';

/** The monthly limits whose refusal is a quota.exceeded event (the per-second one clears in seconds; it is not). */
const MONTHLY_LIMITS = new Set(['runs_per_month', 'ingested_spans_per_month', 'monthly_cost_budget_usd']);

/**
 * Records quota.exceeded for a refusal of a monthly limit, at most once per
 * organization, limit and month. The refusing transaction rolls back, so this
 * runs in one of its own, after it; call it where the refusal is caught, then
 * rethrow. Never throws: telling endpoints must not change the refusal.
 */
export async function reportQuotaRefusal(db: Database, orgId: string, err: unknown, now = new Date()): Promise<void> {
  if (!(err instanceof AppError) || (err.code !== 'quota_exceeded' && err.code !== 'budget_exceeded')) return;
  const limit = (err.details as { limit?: unknown } | undefined)?.limit;
  if (typeof limit !== 'string' || !MONTHLY_LIMITS.has(limit)) return;
  const month = dayText(monthOf(now)).slice(0, 7);
  try {
    await db.tenant(orgId, (sql) => emitEventOnce(sql, orgId, `quota.exceeded:${limit}:${month}`, 'quota.exceeded', { limit, month, message: err.message }));
  } catch {
    // The refusal stands whatever happens here; a missed event is the lesser loss.
  }
}
