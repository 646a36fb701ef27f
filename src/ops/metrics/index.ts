/**
 * Terminology:
 * - recorder:   an in-memory buffer of measurements, written in batches to the
 *               operational tables (migration 0025) off the request path.
 * - kept:       an API request the recorder keeps: a share of ordinary ones
 *               (AGENTBASE_METRICS_SAMPLE_RATE), every slow one
 *               (AGENTBASE_METRICS_SLOW_MS) and every 5xx; api_requests says why.
 * - dropped:    a row refused because the buffer was full (the database is slow);
 *               counted, never waited for.
 * - operational table: performance_metrics, api_requests, error_logs,
 *               connection_pool_stats, system_metrics. Written and read only as
 *               the owner (platform administrators); the app role has no privilege.
 */
export { createOpsMetrics, type OpsMetrics, type OpsMetricsDeps, type OpsMetricsLog } from './ops-metrics.js';
export type { RecorderStats } from './recorder.js';
export type { ApiRequestRecord, ErrorRecord, KeptBecause, PerformanceRecord, PoolStatsRecord, SystemMetricRecord } from './rows.js';
export { cleanupSystemMetrics, prunePoolStats, POOL_STATS_RETAIN_DAYS } from './metrics-repo.js';
export { scrubSecrets } from './scrub.js';
export { INSTANCE } from './samplers.js';

/** The operational tables and seed 004's materialized views over them (migration 0025), for readers built on top. */
export const OPS_METRICS_TABLES = ['performance_metrics', 'api_requests', 'error_logs', 'connection_pool_stats', 'system_metrics'] as const;
export const OPS_METRICS_VIEWS = {
  user_activity_summary: 'idx_user_activity_summary_user_id',
  query_performance_summary: 'idx_query_performance_summary_hash',
} as const;
