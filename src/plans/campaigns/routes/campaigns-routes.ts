import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../../http/context.js';
import { MetadataObject, Text } from '../../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import { CAMPAIGN_STATUSES, CampaignIdea, ChannelPlan } from '../../plan-document.js';
import * as campaigns from '../campaigns-service.js';
import type { PlansDeps } from '../deps.js';
import { checkAllocations, Day, ExpectedVersion, IdParams, Label, Money, NonBlank, QueryVersion, Roi, TemplateIdea, Uuid } from './campaign-schemas.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });
const Channels = z.array(ChannelPlan).max(100).superRefine(checkAllocations('channelPlans'));

export const CampaignBody = z.strictObject({
  name: Label(255).describe("the campaign's name (its plan's title)"),
  description: Text(20_000).nullable().optional(),
  theme: NonBlank(255),
  startDate: Day,
  endDate: Day,
  totalBudget: Money,
  expectedRoi: Roi,
  serviceId: Uuid.nullable().optional().describe('the service (catalog entry) the campaign promotes'),
  metrics: MetadataObject.optional().describe('impressions, clicks, conversions, ...'),
  ideas: z.array(CampaignIdea).max(200).optional(),
  channelPlans: Channels.optional().describe("budget allocations in percent of totalBudget, adding up to at most 100"),
  status: z.enum(CAMPAIGN_STATUSES).optional().describe('default draft'),
}).superRefine((c, ctx) => {
  if (c.endDate < c.startDate) ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'must not be before startDate' });
});

const IdeaParams = z.strictObject({ id: Uuid, ideaId: Uuid });

export function campaignsRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/campaigns', {
      config: { permission: 'plans:write' },
      schema: { tags: ['campaigns'], summary: 'Create a campaign: a plan of kind campaign, at version 1', body: CampaignBody },
    }, async (req, reply) => reply.status(201).send(await campaigns.createCampaign(deps, actor(req), req.body)));

    r.get('/v1/campaigns', {
      config: { permission: 'plans:read' },
      schema: {
        tags: ['campaigns'],
        summary: 'Campaigns, newest first, each with its campaign fields, idea and channel counts and its costs',
        querystring: z.strictObject({
          ...pageQuery,
          status: z.enum(CAMPAIGN_STATUSES).optional(),
          serviceId: Uuid.optional(),
          activeOn: Day.optional().describe('campaigns running on this day (startDate <= day <= endDate)'),
        }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await campaigns.listCampaigns(deps, principal(req).orgId, {
        status: q.status, serviceId: q.serviceId, activeOn: q.activeOn, before: decodeCursor(q.cursor, Cursor), limit: q.limit + 1,
      });
      return page(rows, q.limit, (p) => ({ createdAt: new Date(p.createdAt).toISOString(), id: p.id }));
    });

    r.get('/v1/campaigns/:id', {
      config: { permission: 'plans:read' },
      schema: { tags: ['campaigns'], summary: 'One campaign: its plan with ideas, channel plans, feedback, costs and activity', params: IdParams },
    }, async (req) => campaigns.getCampaign(deps, principal(req).orgId, req.params.id));

    r.post('/v1/campaigns/:id/ideas', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Add an idea to a campaign (the next version of its plan)',
        params: IdParams,
        body: TemplateIdea.extend({ version: ExpectedVersion }),
      },
    }, async (req, reply) => {
      const { version, ...idea } = req.body;
      return reply.status(201).send(await campaigns.addIdea(deps, actor(req), req.params.id, version, idea));
    });

    r.delete('/v1/campaigns/:id/ideas/:ideaId', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Remove an idea from a campaign (the next version of its plan; answers the campaign)',
        params: IdeaParams,
        querystring: z.strictObject({ version: QueryVersion.describe('the version you read; stale answers 409') }),
      },
    }, async (req) => campaigns.removeIdea(deps, actor(req), req.params.id, req.query.version, req.params.ideaId));

    r.put('/v1/campaigns/:id/channel-plans', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: "Replace a campaign's channel mix; the allocations add up to at most 100 %",
        params: IdParams,
        body: z.strictObject({ version: ExpectedVersion, channelPlans: Channels }),
      },
    }, async (req) => campaigns.replaceChannels(deps, actor(req), req.params.id, req.body.version, req.body.channelPlans));

    r.post('/v1/campaigns/:id/feedback', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: "Add feedback to a campaign's history (who, when, rating, comment)",
        params: IdParams,
        body: z.strictObject({
          version: ExpectedVersion,
          rating: z.number().int().min(1).max(5).nullable().optional().describe('1..5'),
          comment: NonBlank(10_000),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await campaigns.addFeedback(deps, actor(req), req.params.id, req.body.version, req.body)));

    r.patch('/v1/campaigns/:id/status', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['campaigns'],
        summary: 'Move a campaign on: draft → active|cancelled, active → paused|completed|cancelled, paused → active|cancelled',
        params: IdParams,
        body: z.strictObject({ version: ExpectedVersion, status: z.enum(CAMPAIGN_STATUSES) }),
      },
    }, async (req) => campaigns.setStatus(deps, actor(req), req.params.id, req.body.version, req.body.status));
  };
}
