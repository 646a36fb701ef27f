import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principal } from '../../http/context.js';
import type { UsageDeps } from '../deps.js';
import { usageReport } from '../usage-service.js';

export function usageRoutes(deps: UsageDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/usage', {
      config: { permission: 'orgs:read' },
      schema: {
        tags: ['organization'],
        summary: 'Usage of a calendar month (UTC) against the limits: runs executed, spans ingested (per month and per second), cost against the budget',
        querystring: z.strictObject({
          month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM, such as 2026-12').optional()
            .describe('YYYY-MM; default: the current month'),
        }),
      },
    }, async (req) => usageReport(deps, principal(req).orgId, req.query.month));
  };
}
