/**
 * The operations overview: one staff page assembled from sections.
 *
 * Terminology:
 * - section: a named part of the overview (database, pool, jobs, requests,
 *            ingest, cache, matviews, replicas, and any other a source adds).
 * - source:  an async function that returns one section's data, handed in at
 *            the composition root; the overview imports no other module's
 *            internals for them. Absent, failing or slow: the section is null
 *            and `unavailable[section]` says why.
 */
export { overviewRoutes } from './overview-routes.js';
export { collectOverview, EXPECTED_SOURCES, type Overview, type OverviewDeps, type OverviewSource } from './overview-service.js';
