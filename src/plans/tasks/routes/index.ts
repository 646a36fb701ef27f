import type { FastifyPluginAsync } from 'fastify';
import type { Database } from '../../../db/index.js';
import { listsRoutes } from './lists-routes.js';
import { projectsRoutes } from './projects-routes.js';
import { tasksRoutes } from './tasks-routes.js';

/** Projects, lists and tasks (seed 004) under /v1, tag `tasks`. */
export function taskRoutes(deps: { db: Database; now?: () => Date }): FastifyPluginAsync {
  return async (app) => {
    await app.register(projectsRoutes(deps));
    await app.register(listsRoutes(deps));
    await app.register(tasksRoutes(deps));
  };
}
