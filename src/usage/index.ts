import type { FastifyPluginAsync } from 'fastify';
import type { UsageDeps } from './deps.js';
import { usageRoutes as routes } from './routes/usage-routes.js';

/**
 * Terminology:
 * - run:           work the service executes itself (an agent run of the
 *                  runtime; an agent-to-agent call is a run too). Limited per
 *                  month by organizations.max_executions_per_month.
 * - ingested span: telemetry the service receives (batch ingestion, OTLP).
 *                  Limited per month and per second, separately from runs.
 * - usage:         what a calendar month (UTC) used, counted in the
 *                  transaction that writes the work (usage_counters).
 * - bucket:        the per-second limit's token bucket (ingest_rate_buckets).
 */

export type { UsageDeps } from './deps.js';
export type { UsageLimits } from './usage-repo.js';
export { lockLimits, readLimits, usageOf } from './usage-repo.js';
export { admitIngest, chargeIngestedSpans, chargeRun, dayText, monthOf, type LimitName } from './quotas.js';
export { usageReport, type UsageReport } from './usage-service.js';
export { reportQuotaRefusal } from './quota-events.js';

export function usageRoutes(deps: UsageDeps): FastifyPluginAsync {
  return routes(deps);
}
