import type { FastifyPluginAsync } from 'fastify';
import type { MarketplaceDeps } from '../deps.js';
import { adminRoutes } from './admin-routes.js';
import { catalogRoutes } from './catalog-routes.js';
import { listingRoutes } from './listings-routes.js';

export function marketplaceRoutes(deps: MarketplaceDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(listingRoutes(deps));
    await app.register(catalogRoutes(deps));
    await app.register(adminRoutes(deps));
  };
}
