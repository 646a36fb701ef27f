import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { RunsDeps } from '../deps.js';
import { Text, Uuid } from '../json.js';
import { TYPE_RANK } from '../timeline-repo.js';
import { sessionTimeline } from '../timeline-service.js';

const Cursor = z.object({ at: z.iso.datetime({ offset: true }), rank: z.number().int().min(0).max(2), id: Uuid });

export function timelineRoutes(deps: RunsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/sessions/:id/timeline', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['sessions'],
        summary: 'What happened in a session, oldest first: executions (runtime and ingested), decisions and messages',
        params: z.strictObject({ id: Text(255).min(1).describe('the session id, or your key for the conversation') }),
        querystring: z.strictObject({ ...pageQuery }),
      },
    }, async (req) => {
      const { cursor, limit } = req.query;
      const { session, entries } = await sessionTimeline(deps, principal(req).orgId, req.params.id, {
        after: decodeCursor(cursor, Cursor), limit: limit + 1,
      });
      const p = page(entries, limit, (e) => ({ at: e.cursorAt, rank: TYPE_RANK[e.type], id: e.id }));
      return { session, data: p.data.map(({ cursorAt: _, ...e }) => e), nextCursor: p.nextCursor };
    });
  };
}
