import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as decisions from '../decisions-service.js';
import type { RunsDeps } from '../deps.js';
import { MetadataFilter, Tag, Text, Uuid } from '../json.js';

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z' });
const Cursor = z.object({ decidedAt: z.iso.datetime({ offset: true }), id: Uuid });

export function decisionRoutes(deps: RunsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/decisions', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['decisions'],
        summary: 'Agent decisions, newest first, with filters',
        querystring: z.strictObject({
          decisionType: Text(100).optional(),
          sessionId: Text(255).optional(),
          agentId: Uuid.optional(),
          executionId: Uuid.optional(),
          planId: Uuid.optional().describe('decisions about this plan (such as a campaign)'),
          from: Instant.optional().describe('decided at or after'),
          to: Instant.optional().describe('decided before'),
          minConfidence: z.coerce.number().min(0).max(1).optional().describe('confidence score at least this, 0..1'),
          tag: Tag.optional().describe('carrying this tag'),
          metadata: MetadataFilter.optional().describe('metadata holding key:value, such as customer:acme'),
          ...pageQuery,
        }),
      },
    }, async (req) => {
      const { cursor, limit, ...filter } = req.query;
      const rows = await decisions.listDecisions(deps, principal(req).orgId, {
        ...filter, after: decodeCursor(cursor, Cursor), limit: limit + 1,
      });
      const p = page(rows, limit, (d) => ({ decidedAt: d.cursorAt, id: d.id }));
      return { data: p.data.map(({ cursorAt: _, ...d }) => d), nextCursor: p.nextCursor };
    });

    r.get('/v1/decisions/stats', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['decisions'],
        summary: 'Per decision type: how many, average confidence and latency (seed 001 A3), most frequent first; '
          + 'default: the 30 days before to, and with no to, up to any time',
        querystring: z.strictObject({
          from: Instant.optional().describe('decided at or after (default: 30 days before to, or before now)'),
          to: Instant.optional().describe('decided before (default: no upper bound, like v_decision_analytics)'),
        }),
      },
    }, async (req) => decisions.decisionStats(deps, principal(req).orgId, req.query));
  };
}
