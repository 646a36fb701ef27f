import type { FastifyPluginAsync } from 'fastify';
import type { MemoryModule } from '../module.js';

/** Agent memories: save, batch, search, read, supersede, delete; memory configuration. */
export function memoriesRoutes(_m: MemoryModule): FastifyPluginAsync {
  return async () => {};
}
