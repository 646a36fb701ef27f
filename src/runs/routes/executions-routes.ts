import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest } from '../../errors.js';
import { principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { RunsDeps } from '../deps.js';
import { EXECUTION_STATUSES } from '../ingest-schemas.js';
import { MetadataFilter, Tag, Text, Uuid } from '../json.js';
import * as runs from '../runs-service.js';

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z' });
const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });
const Cost = z.coerce.number().min(0).max(999_999);

export function executionRoutes(deps: RunsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/executions', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['executions'],
        summary: 'Executions, newest first, with filters',
        querystring: z.strictObject({
          agentId: Uuid.optional(),
          agentVersionId: Uuid.optional(),
          status: z.enum(EXECUTION_STATUSES).optional(),
          sessionId: Text(255).optional(),
          planId: Uuid.optional().describe('executions of this plan (such as a campaign)'),
          from: Instant.optional().describe('created at or after'),
          to: Instant.optional().describe('created before'),
          minCost: Cost.optional(),
          maxCost: Cost.optional(),
          tag: Tag.optional().describe('carrying this tag'),
          metadata: MetadataFilter.optional().describe('metadata holding key:value, such as customer:acme'),
          ...pageQuery,
        }),
      },
    }, async (req) => {
      const q = req.query;
      if (q.minCost !== undefined && q.maxCost !== undefined && q.minCost > q.maxCost) {
        throw badRequest('minCost must not exceed maxCost', { field: 'minCost' });
      }
      const after = decodeCursor(q.cursor, Cursor);
      const rows = await runs.listExecutions(deps, principal(req).orgId, {
        agentId: q.agentId, agentVersionId: q.agentVersionId, status: q.status, sessionId: q.sessionId, from: q.from, to: q.to,
        minCost: q.minCost, maxCost: q.maxCost, tag: q.tag, metadata: q.metadata, planId: q.planId, after, limit: q.limit + 1,
      });
      return page(rows, q.limit, (e) => ({ createdAt: new Date(e.createdAt).toISOString(), id: e.id }));
    });

    r.get('/v1/executions/:id', {
      config: { permission: 'executions:read' },
      schema: { tags: ['executions'], summary: 'One execution with its span tree, the roll-up of its subtree of child executions, and its direct children', params: z.strictObject({ id: Uuid }) },
    }, async (req) => runs.getExecution(deps, principal(req).orgId, req.params.id));

    r.get('/v1/traces/:traceId', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['executions'],
        summary: 'One W3C trace: totals, one tree of executions and spans (child executions under the span that called them), and the flat executions and span forest',
        params: z.strictObject({ traceId: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lower-case hex characters') }),
      },
    }, async (req) => runs.getTrace(deps, principal(req).orgId, req.params.traceId));
  };
}
