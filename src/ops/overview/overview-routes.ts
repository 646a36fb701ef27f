import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { platformAdminOnly } from '../../platform/index.js';
import { collectOverview, type OverviewDeps } from './overview-service.js';

export function overviewRoutes(deps: OverviewDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get('/v1/ops/overview', {
      ...platformAdminOnly(deps.db),
      schema: {
        tags: ['ops'],
        summary: 'Platform admins: request rate and latency, pool, job queues, ingestion, database size, and the cache, matview and replica sections',
        querystring: z.strictObject({}),
      },
    }, async (req) => collectOverview({ ...deps, log: req.log }));
  };
}
