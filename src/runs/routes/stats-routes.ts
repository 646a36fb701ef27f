import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest } from '../../errors.js';
import { principal } from '../../http/context.js';
import type { RunsDeps } from '../deps.js';
import { Uuid } from '../json.js';
import * as runs from '../runs-service.js';
import { ACTIVITY_SPLITS, COST_DIMENSIONS, type ActivitySplit, type CostGroup } from '../stats-repo.js';

const Day = z.iso.date('must be a date such as 2026-01-31');
const GROUPS = Object.keys(COST_DIMENSIONS) as [CostGroup, ...CostGroup[]];
const GroupBy = z.enum(GROUPS, { message: `must be one of ${GROUPS.join(', ')}` });
const MAX_DAYS = 366;
const SPLITS = Object.keys(ACTIVITY_SPLITS) as [ActivitySplit, ...ActivitySplit[]];

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

const range = {
  from: Day.optional().describe('first UTC day (default: 30 days before to)'),
  to: Day.optional().describe('last UTC day, inclusive (default: today)'),
};

export function statsRoutes(deps: RunsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/costs', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['executions'],
        summary: 'Cost and tokens by day, model, provider, agent (with its slug and name), user, session, plan or tag, from the daily aggregates (UTC billing days, inclusive)',
        querystring: z.strictObject({
          groupBy: GroupBy.default('day').describe('a ledger row counts once under each of its tags, so tag groups need not add up to the total'),
          ...range,
        }),
      },
    }, async (req) => {
      const { from, to } = dayRange(req.query);
      const data = await runs.costs(deps, principal(req).orgId, req.query.groupBy, from, to);
      return { groupBy: req.query.groupBy, from, to, data };
    });

    r.get('/v1/performance/daily', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['executions'],
        summary: 'Per UTC day and agent (or model): executions, failures, tokens and cost (the ten largest keys, the rest as "(other)"), and each day\'s p50/p95 latency, from the daily roll-ups',
        querystring: z.strictObject({
          by: z.enum(SPLITS, { message: `must be one of ${SPLITS.join(', ')}` }).default('agent'),
          ...range,
        }),
      },
    }, async (req) => {
      const { from, to } = dayRange(req.query);
      const out = await runs.dailyActivity(deps, principal(req).orgId, req.query.by, from, to);
      return { by: req.query.by, from, to, p95: 'upper bound of the 1.25x latency bucket holding the percentile', ...out };
    });

    r.get('/v1/performance', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['executions'],
        summary: 'Agent performance per agent and model: executions, success rate, average and p95 latency, tokens, cost (UTC days of creation, inclusive)',
        querystring: z.strictObject({ agentId: Uuid.optional(), ...range }),
      },
    }, async (req) => {
      const { from, to } = dayRange(req.query);
      const data = await runs.performance(deps, principal(req).orgId, from, to, req.query.agentId);
      return { from, to, p95: 'upper bound of the 1.25x latency bucket holding the 95th percentile', data };
    });
  };
}
