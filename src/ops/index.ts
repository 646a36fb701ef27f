/**
 * The operations layer (issue 15): the service measuring itself, materialized
 * views on a schedule, … Each area is a subfolder with its own index.ts; this
 * file is the module's only door.
 */
export * from './metrics/index.js';
export * from './matviews/index.js';
