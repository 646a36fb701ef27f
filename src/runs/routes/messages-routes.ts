import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { RunsDeps } from '../deps.js';
import { MESSAGE_STATUSES } from '../ingest-schemas.js';
import { MetadataFilter, Tag, Text, Uuid } from '../json.js';
import * as messages from '../messages-service.js';

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z' });
const Cursor = z.object({ sentAt: z.iso.datetime({ offset: true }), id: Uuid });

export function messageRoutes(deps: RunsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/messages', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['messages'],
        summary: 'Inter-agent messages, newest sent first, with filters',
        querystring: z.strictObject({
          executionId: Uuid.optional(),
          sessionId: Text(255).optional(),
          planId: Uuid.optional(),
          fromAgentId: Uuid.optional(),
          toAgentId: Uuid.optional(),
          agent: Text(100).optional()
            .describe('an agent on either side: its name as sent in fromAgent/toAgent, or its id in fromAgentId/toAgentId'),
          messageType: Text(50).optional(),
          status: z.enum(MESSAGE_STATUSES).optional(),
          traceId: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lower-case hex characters (W3C trace id)').optional(),
          from: Instant.optional().describe('sent at or after'),
          to: Instant.optional().describe('sent before'),
          minPriority: z.coerce.number().int().min(1).max(10).optional().describe('priority at least this, 1..10'),
          tag: Tag.optional().describe('carrying this tag'),
          metadata: MetadataFilter.optional().describe('metadata holding key:value, such as customer:acme'),
          ...pageQuery,
        }),
      },
    }, async (req) => {
      const { cursor, limit, ...filter } = req.query;
      const rows = await messages.listMessages(deps, principal(req).orgId, {
        ...filter, after: decodeCursor(cursor, Cursor), limit: limit + 1,
      });
      const p = page(rows, limit, (m) => ({ sentAt: m.cursorAt, id: m.id }));
      return { data: p.data.map(({ cursorAt: _, ...m }) => m), nextCursor: p.nextCursor };
    });

    r.get('/v1/messages/stats', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['messages'],
        summary: `Messages sent in [from, to): counts per status, and per message type (most frequent first, at most `
          + `${messages.STATS_MAX_TYPES}) the count, failure rate (failed + timeout over all), average and p95 response time; `
          + `default: the 24 hours before now; at most ${messages.STATS_MAX_DAYS} days`,
        querystring: z.strictObject({
          from: Instant.optional().describe('sent at or after (default: 24 hours before to)'),
          to: Instant.optional().describe('sent before (default: now)'),
        }),
      },
    }, async (req) => messages.messageStats(deps, principal(req).orgId, req.query));
  };
}
