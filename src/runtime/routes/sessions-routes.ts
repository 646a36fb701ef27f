import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { JsonObject, Text, Uuid } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { RuntimeDeps } from '../deps.js';
import { createSession, endSession, getSession, listSessions } from '../sessions-service.js';

const Cursor = z.object({ id: Uuid });
const Params = z.strictObject({ id: Uuid });

export function sessionRoutes(deps: RuntimeDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/sessions', {
      config: { permission: 'executions:write' },
      schema: {
        tags: ['sessions'],
        summary: 'Start a conversation session (runs continue it with sessionId or sessionToken)',
        body: z.strictObject({
          sessionToken: Text(255).min(1).optional().describe('your id of the conversation, unique in the organization; generated when absent'),
          externalUserId: Text(255).min(1).optional().describe('your application\'s user'),
          agentId: Uuid.optional(),
          ttlSeconds: z.number().int().min(60).max(366 * 86_400).optional().describe('the session expires this long after it starts; never when absent'),
          context: JsonObject.optional().describe('initial context_data'),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await createSession(deps, actor(req), req.body)));

    r.get('/v1/sessions', {
      config: { permission: 'executions:read' },
      schema: {
        tags: ['sessions'],
        summary: 'Sessions of the organization, newest first',
        querystring: z.strictObject({
          ...pageQuery,
          active: z.enum(['true', 'false']).optional(),
          externalUserId: Text(255).min(1).optional(),
          agentId: Uuid.optional(),
        }),
      },
    }, async (req) => {
      const q = req.query;
      const before = decodeCursor(q.cursor, Cursor);
      const rows = await listSessions(deps, principal(req).orgId, {
        active: q.active === undefined ? undefined : q.active === 'true',
        externalUserId: q.externalUserId,
        agentId: q.agentId,
        beforeId: before?.id,
        limit: q.limit + 1,
      });
      return page(rows, q.limit, (s) => ({ id: s.id }));
    });

    r.get('/v1/sessions/:id', {
      config: { permission: 'executions:read' },
      schema: { tags: ['sessions'], summary: 'One session with its context and recent history', params: Params },
    }, async (req) => getSession(deps, principal(req).orgId, req.params.id));

    r.delete('/v1/sessions/:id', {
      config: { permission: 'executions:write' },
      schema: { tags: ['sessions'], summary: 'End a session (it stays readable; runs can no longer continue it)', params: Params },
    }, async (req) => endSession(deps, actor(req), req.params.id));
  };
}
