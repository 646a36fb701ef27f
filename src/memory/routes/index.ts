import type { FastifyPluginAsync } from 'fastify';
import type { MemoryModule } from '../module.js';
import { configRoutes } from './config-routes.js';
import { knowledgeRoutes } from './knowledge-routes.js';
import { learningRoutes } from './learning-routes.js';
import { memoriesRoutes } from './memories-routes.js';

export function memoryRoutes(m: MemoryModule): FastifyPluginAsync {
  return async (app) => {
    await app.register(memoriesRoutes(m));
    await app.register(configRoutes(m));
    await app.register(knowledgeRoutes(m));
    await app.register(learningRoutes(m));
  };
}
