/**
 * Query statistics: pg_stat_statements for platform administrators.
 *
 * Terminology:
 * - statement:   one normalised query (constants replaced by $1, $2, …) and
 *                PostgreSQL's counters for it, per role; only this database's.
 * - unavailable: the server lacks the extension's files, does not preload its
 *                library, or the extension is not created in this database;
 *                the routes answer 409 pg_stat_statements_unavailable with the
 *                steps that fix exactly what is missing.
 */
export { queriesRoutes, QUERIES_MAX_LIMIT, type QueriesDeps } from './queries-routes.js';
export {
  enableQueryStats, topQueries, resetQueryStats, queryStatsUnavailableMessage, type Statement, type TopQueries, type ResetBy,
} from './query-stats-service.js';
export { QUERY_SORTS, QUERY_TEXT_MAX, type QuerySort, type ExtensionState } from './query-stats-repo.js';
