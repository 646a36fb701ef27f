import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../../db/index.js';
import { badRequest } from '../../../errors.js';
import { principal } from '../../../http/context.js';
import { Uuid } from '../../../http/json-schemas.js';
import { agentPerformanceReport, dailyCostsReport } from '../reports-service.js';

const Day = z.iso.date('must be a date such as 2026-01-31');
const MAX_DAYS = 366;
const Limit = z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(10_000, 'must be at most 10000').default(1000);

/** from/to as inclusive UTC days: defaults to the 30 days up to today; at most a year. */
function dayRange(q: { from?: string | undefined; to?: string | undefined }): { from: string; to: string } {
  const to = q.to ?? new Date().toISOString().slice(0, 10);
  const from = q.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 30 * 86_400_000).toISOString().slice(0, 10);
  if (from > to) throw badRequest('from must not be after to', { field: 'from' });
  if (Date.parse(to) - Date.parse(from) > MAX_DAYS * 86_400_000) {
    throw badRequest(`the range spans more than ${MAX_DAYS} days: ask for a shorter one`, { field: 'from' });
  }
  return { from, to };
}

/**
 * Reports from the materialized views: cheap to read whatever the ledger's
 * size, as fresh as the last refresh (refreshedAt in every answer).
 */
export function reportsRoutes(deps: { db: Database }): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/reports/daily-costs', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['reports'],
        summary: 'Cost, tokens and calls per agent or plan and UTC day, from a materialized view refreshed on a schedule (refreshedAt says as of when)',
        querystring: z.strictObject({
          by: z.enum(['agent', 'plan'], { message: 'must be agent or plan' }).describe('agent: per agent (with executions started that day); plan: per plan (with users who worked on it)'),
          from: Day.optional().describe('first UTC day (default: 30 days before to)'),
          to: Day.optional().describe('last UTC day, inclusive (default: today)'),
          agentId: Uuid.optional().describe('by=agent only: this agent'),
          planId: Uuid.optional().describe('by=plan only: this plan'),
          limit: Limit.describe('rows at most (default 1000); truncated says when more matched'),
        }),
      },
    }, async (req) => {
      const q = req.query;
      if (q.by === 'agent' && q.planId) throw badRequest('planId filters by=plan; with by=agent use agentId', { field: 'planId' });
      if (q.by === 'plan' && q.agentId) throw badRequest('agentId filters by=agent; with by=plan use planId', { field: 'agentId' });
      const { from, to } = dayRange(q);
      const rep = await dailyCostsReport(deps.db, principal(req).orgId, q.by, { from, to, id: q.agentId ?? q.planId, limit: q.limit });
      return { by: q.by, from, to, ...rep };
    });

    r.get('/v1/reports/agent-performance', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['reports'],
        summary: 'Seed 000 v_agent_performance from a materialized view: per agent and model over the 30 days before the refresh, executions, average and p95 latency, tokens, cost, success rate',
        querystring: z.strictObject({
          agentId: Uuid.optional(),
          limit: Limit.describe('rows at most (default 1000); truncated says when more matched'),
        }),
      },
    }, async (req) => {
      const rep = await agentPerformanceReport(deps.db, principal(req).orgId, { agentId: req.query.agentId, limit: req.query.limit });
      return { window: '30 days before refreshedAt', p95: 'upper bound of the 1.25x latency bucket holding the 95th percentile', ...rep };
    });
  };
}
