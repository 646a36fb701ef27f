import type { FastifyPluginAsync } from 'fastify';
import type { PlansDeps } from '../deps.js';
import { campaignsRoutes } from './campaigns-routes.js';
import { serviceRoutes } from './services-routes.js';
import { signalRoutes } from './signals-routes.js';
import { templateRoutes } from './templates-routes.js';

/** Seed 001: campaigns, their services catalog, market signals and campaign templates. */
export function campaignRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(serviceRoutes(deps));
    await app.register(signalRoutes(deps));
    await app.register(campaignsRoutes(deps));
    await app.register(templateRoutes(deps));
  };
}
