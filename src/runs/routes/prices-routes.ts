import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import type { RunsDeps } from '../deps.js';
import { JsonObject, Text, Uuid } from '../json.js';
import * as prices from '../prices-service.js';
import { PRICE_SCOPES, type PriceScope } from '../prices-repo.js';

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z' });
const PerToken = z.number().min(0).max(1).describe('USD per token (a price per million tokens divided by 1,000,000)');

const NewPrice = z
  .strictObject({
    provider: Text(50),
    modelPattern: z.string().min(1).max(200).describe('POSIX regular expression over model names, e.g. ^gpt-4o(-[0-9-]+)?$'),
    effectiveFrom: Instant.optional().describe('default: now'),
    effectiveTo: Instant.optional(),
    inputPrice: PerToken,
    outputPrice: PerToken,
    cachedInputPrice: PerToken.optional().describe('default: inputPrice'),
    cacheWritePrice: PerToken.optional().describe('default: inputPrice'),
    reasoningPrice: PerToken.optional().describe('default: outputPrice'),
    tier: Text(20).optional(),
    tiers: JsonObject.optional(),
    source: Text(2000).optional(),
    sourceReadOn: z.iso.date('must be a date such as 2026-01-31').optional(),
  })
  .superRefine((v, ctx) => {
    if (v.effectiveTo && Date.parse(v.effectiveTo) <= Date.parse(v.effectiveFrom ?? new Date().toISOString())) {
      ctx.addIssue({ code: 'custom', path: ['effectiveTo'], message: 'effectiveTo must be after effectiveFrom' });
    }
  });

export function priceRoutes(deps: RunsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/model-prices', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['cost'],
        summary: 'Model prices: the shipped defaults and the organization\'s own (which win)',
        querystring: z.strictObject({
          scope: z.enum(Object.keys(PRICE_SCOPES) as [PriceScope, ...PriceScope[]]).default('all'),
          provider: Text(50).optional(),
        }),
      },
    }, async (req) => ({ data: await prices.listPrices(deps, principal(req).orgId, req.query.scope, req.query.provider) }));

    r.get('/v1/model-prices/resolve', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['cost'],
        summary: 'The price an llm span of this model would be priced with',
        querystring: z.strictObject({ model: Text(100), provider: Text(50).optional(), at: Instant.optional().describe('default: now') }),
      },
    }, async (req) => prices.resolvePrice(deps, principal(req).orgId, req.query.model, req.query.provider, req.query.at ?? new Date().toISOString()));

    r.post('/v1/model-prices', {
      config: { permission: 'model_prices:write' },
      schema: { tags: ['cost'], summary: 'Add an organization price; it overrides the defaults for spans from effectiveFrom on', body: NewPrice },
    }, async (req, reply) => {
      const row = await prices.createPrice(deps, actor(req), { ...req.body, effectiveFrom: req.body.effectiveFrom ?? new Date().toISOString() });
      return reply.status(201).send(row);
    });

    r.delete('/v1/model-prices/:id', {
      config: { permission: 'model_prices:write' },
      schema: { tags: ['cost'], summary: 'Delete an organization price (spans priced with it keep their cost)', params: z.strictObject({ id: Uuid }) },
    }, async (req, reply) => {
      await prices.deletePrice(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
