/**
 * Operations (the platform operator's view): query statistics from
 * pg_stat_statements and the overview page. Staff routes only (platform
 * administrators); each area is a subfolder with its own index.ts and this
 * file is the module's only door.
 */
export * from './queries/index.js';
export * from './overview/index.js';
