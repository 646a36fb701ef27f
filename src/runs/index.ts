import type { FastifyPluginAsync } from 'fastify';
import type { RunsDeps } from './deps.js';
import { decisionRoutes } from './routes/decisions-routes.js';
import { executionRoutes } from './routes/executions-routes.js';
import { ingestRoutes } from './routes/ingest-routes.js';
import { messageRoutes } from './routes/messages-routes.js';
import { metricRoutes } from './routes/metrics-routes.js';
import { otlpRoutes } from './routes/otlp-routes.js';
import { priceRoutes } from './routes/prices-routes.js';
import { statsRoutes } from './routes/stats-routes.js';
import { timelineRoutes } from './routes/timeline-routes.js';

/**
 * Terminology:
 * - execution:  one run of one agent version (executions, partitioned by month on created_at).
 * - span:       one step under an execution — an llm call, tool call, memory access,
 *               agent call or reasoning step (spans, partitioned by month on started_at).
 * - clientId:   the caller's id for an ingested item; (org, kind, clientId) is recorded
 *               once in ingest_keys, so a retried batch creates nothing twice.
 * - ledger:     cost_ledger, one priced row per llm span (unique per span); execution
 *               totals are the sums of their ledger rows.
 * - price:      model_prices, per token; org_id NULL rows are shipped defaults, an
 *               organization's own row wins, then the longest matching model_pattern.
 */

export { COSTS_CACHE_TAG, type RunsDeps } from './deps.js';
export { EXECUTION_TRANSITIONS, canTransition, type ExecutionStatus } from './status.js';
export { ingestBatch, type IngestOptions, type IngestResult, type ItemResult, type ItemStatus } from './ingest-service.js';
export type {
  IngestBody,
  ExecutionItemInput,
  SpanItemInput,
  DecisionItemInput,
  MessageItemInput,
} from './ingest-schemas.js';
export { pruneIngestKeys } from './ingest-keys-prune.js';
export { listExecutions, getExecution, findExecution, getTrace, costs, performance, spanTree } from './runs-service.js';
export type { ExecutionRow, SpanRow } from './runs-repo.js';
export { costSince, ledgerTotals, type LedgerTotals } from './stats-repo.js';
export { sessionTimeline } from './timeline-service.js';
export { findModelPrice } from './prices-service.js';
export { recordEmbeddingCall, type EmbeddingCallRecord } from './embedding-calls.js';
export type { PriceRow } from './prices-repo.js';
export { recordMetrics, listMetrics, metricSeries, type MetricInput, type MetricRow, type MetricPoint } from './metrics-service.js';
export { listDecisions, decisionStats, type DecisionRow, type DecisionStat } from './decisions-service.js';
export { listMessages, messageStats, type MessageRow, type MessageStats } from './messages-service.js';

export function runsRoutes(deps: RunsDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(ingestRoutes(deps));
    await app.register(otlpRoutes(deps));
    await app.register(executionRoutes(deps));
    await app.register(metricRoutes(deps));
    await app.register(decisionRoutes(deps));
    await app.register(messageRoutes(deps));
    await app.register(statsRoutes(deps));
    await app.register(timelineRoutes(deps));
    await app.register(priceRoutes(deps));
  };
}
export { planRollups, planActivity, type PlanRollup, type PlanActivity } from './plan-rollups-repo.js';
