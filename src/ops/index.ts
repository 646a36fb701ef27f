/**
 * The operations layer (issue 15): the service measuring itself, materialized
 * views on a schedule, query statistics from pg_stat_statements, the overview
 * page for platform administrators, backup, restore and export, erasure and
 * retention. Each area is a subfolder with its own index.ts; this file is the module's only door.
 */
export * from './metrics/index.js';
export * from './matviews/index.js';
export * from './queries/index.js';
export * from './overview/index.js';
export * from './backup/index.js';
export { eraseRoutes, eraseOrganization, eraseUser, type EraseDeps, type StepUpInput } from './erase/index.js';
export { DEFAULT_RETENTION, retentionRoutes, enforceRetention, retentionCategories, type RetentionDeps, type EnforceResult } from './retention/index.js';
