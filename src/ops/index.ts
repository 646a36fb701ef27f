/**
 * The operations layer (issue 15): the service measuring itself. Each area is a
 * subfolder with its own index.ts; this file is the module's only door.
 */
export * from './metrics/index.js';
