import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { JsonObject } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as sessions from '../learning-sessions-service.js';
import { SESSION_STATUSES, TRANSFER_MODES, type LearningSessionsDeps } from '../learning-sessions-service.js';
import { AgentParams, AgentRef, IdParams, Instant, Label, Uuid } from './learning-schemas.js';

const Cursor = z.object({ startedAt: Instant, id: Uuid });
const Domain = Label(100);

export function learningSessionsRoutes(deps: LearningSessionsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/agents/:agentId/learning-sessions', {
      config: { permission: 'memory:write' },
      schema: {
        tags: ['learning sessions'],
        summary: 'Start a learning session in which the agent carries what it learned in one domain into another',
        params: AgentParams,
        body: z.strictObject({
          sourceDomain: Domain,
          targetDomain: Domain,
          transferMode: z.enum(TRANSFER_MODES).optional().describe('default adaptive'),
          sessionMetrics: JsonObject.optional().describe('default {}'),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await sessions.startSession(deps, actor(req), req.params.agentId, req.body)));

    r.get('/v1/learning-sessions', {
      config: { permission: 'memory:read' },
      schema: {
        tags: ['learning sessions'],
        summary: 'Learning sessions of the organization, newest first',
        querystring: z.strictObject({
          ...pageQuery,
          agentId: AgentRef.optional().describe('only sessions of this agent (id or slug)'),
          sourceDomain: Domain.optional(),
          targetDomain: Domain.optional(),
          status: z.enum(SESSION_STATUSES).optional().describe('active (not completed yet) or completed'),
        }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await sessions.listSessions(deps, principal(req).orgId, {
        agentRef: q.agentId,
        sourceDomain: q.sourceDomain,
        targetDomain: q.targetDomain,
        status: q.status,
        before: decodeCursor(q.cursor, Cursor),
        limit: q.limit + 1,
      });
      return page(rows, q.limit, (s) => ({ startedAt: new Date(s.startedAt).toISOString(), id: s.id }));
    });

    r.get('/v1/learning-sessions/:id', {
      config: { permission: 'memory:read' },
      schema: { tags: ['learning sessions'], summary: 'One learning session', params: IdParams },
    }, async (req) => sessions.getSession(deps, principal(req).orgId, req.params.id));

    r.post('/v1/learning-sessions/:id/metrics', {
      config: { permission: 'memory:write' },
      schema: {
        tags: ['learning sessions'],
        summary: "Merge metrics into an active session's sessionMetrics (top-level keys sent replace those stored); "
          + '409 session_completed once it is completed',
        params: IdParams,
        body: z.strictObject({ metrics: JsonObject }),
      },
    }, async (req) => sessions.recordMetrics(deps, actor(req), req.params.id, req.body.metrics));

    r.post('/v1/learning-sessions/:id/complete', {
      config: { permission: 'memory:write' },
      schema: {
        tags: ['learning sessions'],
        summary: 'Complete a session with its improvement score (-1..1, stored with two decimals), merging any last metrics; '
          + '409 session_completed if it already is',
        params: IdParams,
        body: z.strictObject({
          improvementScore: z.number().min(-1).max(1).describe('-1 (much worse) .. 1 (much better), two decimals kept'),
          sessionMetrics: JsonObject.optional(),
        }),
      },
    }, async (req) => sessions.completeSession(deps, actor(req), req.params.id, req.body));
  };
}
