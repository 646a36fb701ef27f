import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as plans from '../plans-service.js';
import type { PlansDeps } from '../plans-service.js';
import { IdParams, NewPlanBody, PlanChangeBody, PlanListQuery, Uuid } from './plan-schemas.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });

export function plansRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/plans', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['plans'],
        summary: 'Create a plan (travel, campaign or generic); it starts at version 1',
        body: NewPlanBody,
      },
    }, async (req, reply) => {
      const { kind, travel, campaign, ...core } = req.body;
      return reply.status(201).send(await plans.createPlan(deps, actor(req), { kind, core, travel, campaign }));
    });

    r.get('/v1/plans', {
      config: { permission: 'plans:read' },
      schema: {
        tags: ['plans'],
        summary: 'Plans of the organization, newest first, each with its cost and tokens from the ledger',
        querystring: z.strictObject({ ...pageQuery, ...PlanListQuery }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await plans.listPlans(deps, principal(req).orgId, {
        kind: q.kind, status: q.status, userId: q.userId, template: q.template, destination: q.destination,
        travelFrom: q.from, travelTo: q.to, before: decodeCursor(q.cursor, Cursor), limit: q.limit + 1,
      });
      return page(rows, q.limit, (p) => ({ createdAt: new Date(p.createdAt).toISOString(), id: p.id }));
    });

    r.get('/v1/plans/:id', {
      config: { permission: 'plans:read' },
      schema: {
        tags: ['plans'],
        summary: 'One plan: its content, cost and tokens rolled up from the ledger, and its executions, decisions, messages and sessions',
        params: IdParams,
      },
    }, async (req) => plans.getPlan(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/plans/:id', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['plans'],
        summary: 'Change a plan; the result is recorded as its next version (a change that changes nothing records none)',
        params: IdParams,
        body: PlanChangeBody,
      },
    }, async (req) => {
      const { version, travel, campaign, ...core } = req.body;
      return plans.updatePlan(deps, actor(req), req.params.id, { version, core, travel, campaign });
    });

    r.delete('/v1/plans/:id', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['plans'],
        summary: 'Delete a plan (soft: its versions and the audit log keep it)',
        params: IdParams,
        querystring: z.strictObject({ version: z.coerce.number().int().min(1).optional().describe('the version you read; stale answers 409') }),
      },
    }, async (req, reply) => {
      await plans.deletePlan(deps, actor(req), req.params.id, req.query.version);
      return reply.status(204).send();
    });

    r.post('/v1/plans/:id/instantiate', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['plans'],
        summary: 'Make a new draft plan from a template plan (isTemplate), with its content',
        params: IdParams,
        body: z.strictObject({ title: z.string().trim().min(1).max(255).optional().describe('default: the template\'s title') }),
      },
    }, async (req, reply) => reply.status(201).send(await plans.instantiatePlan(deps, actor(req), req.params.id, req.body)));
  };
}
