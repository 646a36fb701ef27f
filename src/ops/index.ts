/**
 * Operations (issue 15): each area is a subfolder with its own index.ts; this
 * file is the module's only door.
 */
export * from './matviews/index.js';
