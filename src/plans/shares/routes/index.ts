import type { FastifyPluginAsync } from 'fastify';
import type { PlansDeps } from '../../plans-service.js';
import { sharedRoutes } from './shared-routes.js';
import { sharesRoutes } from './shares-routes.js';

/** Share links: managed by members under /v1/plans/{id}/shares, opened by anyone with the link under /v1/shared. */
export function shareRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(sharesRoutes(deps));
    await app.register(sharedRoutes(deps));
  };
}
