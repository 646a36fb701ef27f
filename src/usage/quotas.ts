import type { Database, Sql } from '../db/index.js';
import { AppError } from '../errors.js';
import { chargeUsage, takeIngestTokens } from './usage-repo.js';

/**
 * The two kinds of work have separate limits:
 * - runs the service executes (the agent runtime; agent-to-agent calls are
 *   runs too): organizations.max_executions_per_month, per calendar month (UTC);
 * - telemetry it receives (batch and OTLP ingestion): spans per calendar month
 *   and spans per second.
 * A refusal is 429 with Retry-After and the limit's name in details.limit:
 * quota_exceeded for a monthly limit (it resets when the month does),
 * rate_limited for the per-second one (it clears within seconds).
 *
 * Usage is counted in the transaction that writes the work, so refused or
 * rolled-back work never counts. A monthly check reads committed usage:
 * batches ingested at the same moment may each pass and overshoot by at most
 * their own spans.
 */

export type LimitName = 'runs_per_month' | 'ingested_spans_per_month' | 'ingested_spans_per_second';

export const monthOf = (now: Date, add = 0): Date => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + add, 1));
export const dayText = (d: Date): string => d.toISOString().slice(0, 10);

function monthlyRefusal(limit: LimitName, what: string, field: string, max: number, used: number, requested: number, now: Date): AppError {
  const resetsAt = monthOf(now, 1);
  const retryAfter = Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000));
  const month = dayText(monthOf(now)).slice(0, 7);
  return new AppError(
    429,
    'quota_exceeded',
    `this organization has used ${used} of its ${max} ${what} for ${month} (UTC) and this request needs ${requested} more; the count resets at ${resetsAt.toISOString()}, or an owner can raise ${field} (PATCH /v1/org)`,
    { limit, max, used, requested, resetsAt: resetsAt.toISOString() },
    { 'retry-after': String(retryAfter) },
  );
}

/**
 * Counts one run against the month, or refuses it. Call in the transaction
 * that records the run, after locking the organization's limits
 * (lockLimits), so runs starting at once count one another.
 */
export async function chargeRun(sql: Sql, orgId: string, now: Date): Promise<void> {
  const r = await chargeUsage(sql, orgId, dayText(monthOf(now)), 'runs', 1);
  if (!r.charged && r.max !== null) throw monthlyRefusal('runs_per_month', 'runs', 'maxExecutionsPerMonth', r.max, r.used, 1, now);
}

/** Counts n ingested spans against the month, or refuses them; in the transaction that writes them. */
export async function chargeIngestedSpans(sql: Sql, orgId: string, n: number, now: Date): Promise<void> {
  if (n <= 0) return;
  const r = await chargeUsage(sql, orgId, dayText(monthOf(now)), 'ingested_spans', n);
  if (!r.charged && r.max !== null) {
    throw monthlyRefusal('ingested_spans_per_month', 'ingested spans', 'maxIngestedSpansPerMonth', r.max, r.used, n, now);
  }
}

/**
 * The per-second limit, checked before a request's spans are read into the
 * database, in a transaction of its own: the bucket row is held for one
 * statement, not for the whole batch.
 */
export async function admitIngest(db: Database, orgId: string, spans: number): Promise<void> {
  if (spans <= 0) return;
  const r = await db.tenant(orgId, (sql) => takeIngestTokens(sql, orgId, spans));
  if (r.allowed) return;
  const retry = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
  throw new AppError(
    429,
    'rate_limited',
    `this organization may ingest ${r.rate} spans per second, and earlier requests used that up; retry in ${retry} s, send smaller batches more evenly, or an owner can raise maxIngestedSpansPerSecond (PATCH /v1/org)`,
    { limit: 'ingested_spans_per_second' satisfies LimitName, max: r.rate, retryAfterSeconds: retry },
    { 'retry-after': String(retry) },
  );
}
