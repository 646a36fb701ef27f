import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principal } from '../../http/context.js';
import { getRetention, putRetention, type RetentionDeps } from './retention-service.js';

export function retentionRoutes(deps: RetentionDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/org/retention', {
      config: { permission: 'orgs:read' },
      schema: {
        tags: ['org'],
        summary: "The organization's retention per data category, with the platform's bounds",
      },
    }, async (req) => getRetention(deps, principal(req).orgId));

    r.put('/v1/org/retention', {
      config: { permission: 'orgs:write' },
      schema: {
        tags: ['org'],
        summary: 'Set retention periods (days) per category; null goes back to the platform period. Within the platform bounds only',
        body: z.strictObject({
          policies: z.record(z.string().min(1).max(40), z.number().int().min(1).max(36_500).nullable())
            .refine((x) => Object.keys(x).length > 0 && Object.keys(x).length <= 50, 'name 1 to 50 categories')
            .describe('category → days (null: the platform period), e.g. {"executions": 30, "spans": 7}'),
        }),
      },
    }, async (req) => putRetention(deps, principal(req).orgId, req.body.policies));
  };
}
