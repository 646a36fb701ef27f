import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { jsonObject, METADATA_LIMITS } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as uses from '../pattern-uses-service.js';
import type { PatternsDeps } from '../patterns-service.js';
import { AgentParams, AgentRef, IdParams, Instant, Int32, Label, Uuid } from './learning-schemas.js';

const Cursor = z.object({ usedAt: Instant, id: Uuid });

// Uses are many and small: their context is descriptive, so it has metadata's size class.
const useFields = {
  success: z.boolean().describe('whether applying the pattern worked'),
  executionTimeMs: Int32.optional().describe('how long applying it took; recorded in the pattern\'s metrics (needs an agent)'),
  errorType: Label(50).optional().describe('what kind of failure it was; recorded with executionTimeMs'),
  executionId: Uuid.optional().describe('the execution the pattern was applied in'),
  context: jsonObject(METADATA_LIMITS).optional(),
};

export function patternUsesRoutes(deps: PatternsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/patterns/:id/uses', {
      config: { permission: 'memory:write' },
      schema: {
        tags: ['patterns'],
        summary: 'Record a use of a pattern: its usageCount, successCount and accuracy move in the same transaction; '
          + 'with agentId and executionTimeMs the timing goes into its daily metrics. Answers {use, pattern}',
        params: IdParams,
        body: z.strictObject({ agentId: AgentRef.optional().describe('the agent that used it (id or slug)'), ...useFields }),
      },
    }, async (req, reply) => reply.status(201).send(await uses.recordPatternUse(deps, actor(req), req.params.id, req.body)));

    r.get('/v1/patterns/:id/uses', {
      config: { permission: 'memory:read' },
      schema: {
        tags: ['patterns'],
        summary: 'Recorded uses of a pattern, newest first',
        params: IdParams,
        querystring: z.strictObject({
          ...pageQuery,
          agentId: AgentRef.optional().describe('only uses by this agent (id or slug)'),
          from: Instant.optional().describe('used at or after'),
          to: Instant.optional().describe('used before'),
        }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await uses.listPatternUses(deps, principal(req).orgId, req.params.id, {
        agentRef: q.agentId,
        from: q.from,
        to: q.to,
        before: decodeCursor(q.cursor, Cursor),
        limit: q.limit + 1,
      });
      return page(rows, q.limit, (u) => ({ usedAt: new Date(u.usedAt).toISOString(), id: u.id }));
    });

    r.get('/v1/patterns/:id/metrics', {
      config: { permission: 'memory:read' },
      schema: {
        tags: ['patterns'],
        summary: `Timed uses of a pattern per UTC day (uses, successes, successRate, avgExecutionTimeMs, p95ExecutionTimeMs), `
          + `oldest first, times to 0.01 ms; days without timed uses are left out. Default: the last ${uses.DEFAULT_METRICS_DAYS} days, at most ${uses.MAX_METRICS_DAYS}`,
        params: IdParams,
        querystring: z.strictObject({ from: Instant.optional().describe('at or after'), to: Instant.optional().describe('before; default now') }),
      },
    }, async (req) => uses.patternMetrics(deps, principal(req).orgId, req.params.id, req.query));

    r.get('/v1/agents/:agentId/pattern', {
      config: { permission: 'memory:read' },
      schema: {
        tags: ['patterns'],
        summary: "An agent's default pattern: the organization's pattern whose type is the agent's cognitivePattern (most accurate, "
          + 'then most used, then oldest); 404 no_default_pattern when there is none',
        params: AgentParams,
      },
    }, async (req) => uses.defaultPatternOf(deps, principal(req).orgId, req.params.agentId));

    r.post('/v1/agents/:agentId/pattern-uses', {
      config: { permission: 'memory:write' },
      schema: {
        tags: ['patterns'],
        summary: "Record a use of the agent's default pattern by the agent (see GET /v1/agents/{agentId}/pattern). Answers {use, pattern}",
        params: AgentParams,
        body: z.strictObject(useFields),
      },
    }, async (req, reply) => reply.status(201).send(await uses.recordAgentPatternUse(deps, actor(req), req.params.agentId, req.body)));
  };
}
