import type { FastifyPluginAsync } from 'fastify';
import type { MemoryModule } from '../module.js';
import { learningSessionsRoutes } from './learning-sessions-routes.js';
import { learningsRoutes } from './learnings-routes.js';
import { patternUsesRoutes } from './pattern-uses-routes.js';
import { patternsRoutes } from './patterns-routes.js';

/** Agent learnings, patterns (uses, metrics) and learning sessions. */
export function learningRoutes(m: MemoryModule): FastifyPluginAsync {
  return async (app) => {
    await app.register(learningsRoutes(m));
    await app.register(patternsRoutes(m));
    await app.register(patternUsesRoutes(m));
    await app.register(learningSessionsRoutes(m));
  };
}
