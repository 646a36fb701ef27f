import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../../http/context.js';
import { Tag, Tags, Text } from '../../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { PlansDeps } from '../deps.js';
import * as templates from '../templates-service.js';
import {
  checkAllocations, Day, ExpectedVersion, IdParams, Label, Money, NonBlank, QueryVersion, Roi, TemplateChannel, TemplateIdea, Uuid,
} from './campaign-schemas.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });
const Ideas = z.array(TemplateIdea).max(200);
const ChannelMix = z.array(TemplateChannel).max(100).superRefine(checkAllocations('channelMix'));

export function templateRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/campaign-templates', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Create a campaign template: a theme, ideas and a channel mix new campaigns are made from',
        body: z.strictObject({
          name: Label(255),
          description: Text(20_000).nullable().default(null),
          theme: NonBlank(255),
          ideas: Ideas.default([]),
          channelMix: ChannelMix.default([]).describe('channel plans; budget allocations add up to at most 100 %'),
          tags: Tags.default([]),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await templates.createTemplate(deps, actor(req), req.body)));

    r.get('/v1/campaign-templates', {
      config: { permission: 'plans:read' },
      schema: {
        tags: ['campaigns'],
        summary: 'Campaign templates, newest first',
        querystring: z.strictObject({
          ...pageQuery,
          tag: Tag.optional().describe('only templates with this tag'),
          q: Label(255).optional().describe('names starting with this (case-insensitive)'),
        }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await templates.listTemplates(deps, principal(req).orgId, { tag: q.tag, q: q.q, before: decodeCursor(q.cursor, Cursor), limit: q.limit + 1 });
      return page(rows, q.limit, (x) => ({ createdAt: new Date(x.createdAt).toISOString(), id: x.id }));
    });

    r.get('/v1/campaign-templates/:id', {
      config: { permission: 'plans:read' },
      schema: { tags: ['campaigns'], summary: 'One campaign template', params: IdParams },
    }, async (req) => templates.getTemplate(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/campaign-templates/:id', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Change a campaign template; ideas and channelMix, when given, replace the lists',
        params: IdParams,
        body: z.strictObject({
          version: ExpectedVersion,
          name: Label(255).optional(),
          description: Text(20_000).nullable().optional(),
          theme: NonBlank(255).optional(),
          ideas: Ideas.optional(),
          channelMix: ChannelMix.optional(),
          tags: Tags.optional(),
        }),
      },
    }, async (req) => {
      const { version, ...change } = req.body;
      return templates.updateTemplate(deps, actor(req), req.params.id, version, change);
    });

    r.delete('/v1/campaign-templates/:id', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Delete a campaign template (soft: campaigns made from it keep naming it)',
        params: IdParams,
        querystring: z.strictObject({ version: QueryVersion.optional().describe('the version you read; stale answers 409') }),
      },
    }, async (req, reply) => {
      await templates.deleteTemplate(deps, actor(req), req.params.id, req.query.version);
      return reply.status(204).send();
    });

    r.post('/v1/campaign-templates/:id/instantiate', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: "Make a new draft campaign from a template: its theme, ideas and channel mix, with this campaign's name, dates and budget",
        params: IdParams,
        body: z.strictObject({
          name: Label(255),
          description: Text(20_000).nullable().optional(),
          startDate: Day,
          endDate: Day,
          totalBudget: Money,
          expectedRoi: Roi,
          serviceId: Uuid.nullable().optional(),
        }).superRefine((c, ctx) => {
          if (c.endDate < c.startDate) ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'must not be before startDate' });
        }),
      },
    }, async (req, reply) => reply.status(201).send(await templates.instantiateTemplate(deps, actor(req), req.params.id, req.body)));
  };
}
