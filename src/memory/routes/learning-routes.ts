import type { FastifyPluginAsync } from 'fastify';
import type { MemoryModule } from '../module.js';

/** Agent learnings, patterns (uses, metrics) and learning sessions. */
export function learningRoutes(_m: MemoryModule): FastifyPluginAsync {
  return async () => {};
}
