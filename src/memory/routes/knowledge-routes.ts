import type { FastifyPluginAsync } from 'fastify';
import type { MemoryModule } from '../module.js';

/** Knowledge items, search, transfers and knowledge metrics. */
export function knowledgeRoutes(_m: MemoryModule): FastifyPluginAsync {
  return async () => {};
}
