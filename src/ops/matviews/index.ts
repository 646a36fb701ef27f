/**
 * Materialized views (issue 15; seed 004 "Materialized Views for Performance").
 *
 * Terminology:
 * - registry: the views the service refreshes (MATVIEWS: name, unique index, interval).
 * - refresh:  REFRESH MATERIALIZED VIEW as the owner; plain while the view is not yet
 *             populated (or lacks its unique index), CONCURRENTLY afterwards, so readers
 *             keep the previous rows meanwhile. Each attempt is a matview_refreshes row.
 * - slot:     a multiple of a view's interval; one `ops.refresh_matview` job per view and
 *             slot, enqueued by maintenance under the system organization.
 * - staleness: now minus the last successful refresh (matviewStatus).
 * - report:   a tenant read through a report_* security_barrier view (migration 0027);
 *             materialized views have no row-level security, so the app role never reads one.
 */
export { MATVIEWS, findMatview, type MatviewSpec } from './registry.js';
export {
  DEFAULT_MATVIEW_REFRESH_SECONDS, MatviewRefreshError, matviewStatus, refreshAllMatviews, refreshMatview,
  type MatviewStatus, type MatviewsOptions, type RefreshOutcome,
} from './refresh-service.js';
export { enqueueMatviewRefreshes, MATVIEW_REFRESH_TASK, matviewJobHandlers, systemOrgId, type EnqueueOptions } from './refresh-jobs.js';
export { agentPerformanceReport, dailyCostsReport, type Report } from './reports-service.js';
export type { AgentPerformanceRow, DailyCostRow, DailyCostsBy } from './reports-repo.js';
export { reportsRoutes } from './routes/reports-routes.js';
