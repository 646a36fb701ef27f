import type { FastifyPluginAsync } from 'fastify';
import { campaignRoutes } from '../campaigns/routes/index.js';
import type { PlansDeps } from '../plans-service.js';
import { shareRoutes } from '../shares/routes/index.js';
import { taskRoutes } from '../tasks/index.js';
import { planVersionsRoutes } from './plan-versions-routes.js';
import { plansRoutes } from './plans-routes.js';

export function planRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(plansRoutes(deps));
    await app.register(planVersionsRoutes(deps));
    await app.register(shareRoutes(deps));
    await app.register(taskRoutes(deps));
    await app.register(campaignRoutes(deps));
  };
}
