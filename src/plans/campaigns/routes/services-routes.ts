import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { PlansDeps } from '../deps.js';
import * as services from '../services-service.js';
import { DescriptiveList, ExpectedVersion, IdParams, Label, QueryVersion, Uuid } from './campaign-schemas.js';
import { Text } from '../../../http/json-schemas.js';

const Cursor = z.object({ name: z.string(), id: Uuid });
const Mentions = z.number().int().min(0).max(2_147_483_647);

const ServiceBody = {
  name: Label(255).describe('unique in the organization, compared case-insensitively'),
  category: Label(100),
  description: Text(20_000),
  targetAudience: DescriptiveList.describe('target personas'),
  keyBenefits: DescriptiveList.describe('key value propositions'),
  marketMentions: Mentions.describe('how often the market mentions it'),
  competitors: DescriptiveList,
};

export function serviceRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/services', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Add a service (product) to the catalog campaigns promote',
        body: z.strictObject({
          ...ServiceBody,
          targetAudience: ServiceBody.targetAudience.default([]),
          keyBenefits: ServiceBody.keyBenefits.default([]),
          marketMentions: Mentions.default(0),
          competitors: ServiceBody.competitors.default([]),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await services.createService(deps, actor(req), req.body)));

    r.get('/v1/services', {
      config: { permission: 'plans:read' },
      schema: {
        tags: ['campaigns'],
        summary: 'The service catalog by name, each with the number of its active campaigns',
        querystring: z.strictObject({
          ...pageQuery,
          category: Label(100).optional(),
          q: Label(255).optional().describe('names starting with this (case-insensitive)'),
        }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await services.listServices(deps, principal(req).orgId, {
        category: q.category, q: q.q, after: decodeCursor(q.cursor, Cursor), limit: q.limit + 1,
      });
      return page(rows, q.limit, (s) => ({ name: s.name, id: s.id }));
    });

    r.get('/v1/services/:id', {
      config: { permission: 'plans:read' },
      schema: { tags: ['campaigns'], summary: 'One service with the number of its active campaigns', params: IdParams },
    }, async (req) => services.getService(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/services/:id', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Change a service; the fields not given keep their values',
        params: IdParams,
        body: z.strictObject({
          version: ExpectedVersion,
          name: ServiceBody.name.optional(),
          category: ServiceBody.category.optional(),
          description: ServiceBody.description.optional(),
          targetAudience: ServiceBody.targetAudience.optional(),
          keyBenefits: ServiceBody.keyBenefits.optional(),
          marketMentions: Mentions.optional(),
          competitors: ServiceBody.competitors.optional(),
        }),
      },
    }, async (req) => {
      const { version, ...change } = req.body;
      return services.updateService(deps, actor(req), req.params.id, version, change);
    });

    r.delete('/v1/services/:id', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Remove a service from the catalog (soft); refused with 409 while live campaigns name it',
        params: IdParams,
        querystring: z.strictObject({ version: QueryVersion.optional().describe('the version you read; stale answers 409') }),
      },
    }, async (req, reply) => {
      await services.deleteService(deps, actor(req), req.params.id, req.query.version);
      return reply.status(204).send();
    });
  };
}
