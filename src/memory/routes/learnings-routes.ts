import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { jsonValue, Tag, Tags, Text } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as learnings from '../learnings-service.js';
import type { LearningsDeps } from '../learnings-service.js';
import { AgentParams, AgentRef, Instant, Label, Score01, Uuid } from './learning-schemas.js';

const Cursor = z.object({ createdAt: Instant, id: Uuid });
const LearningParams = z.strictObject({ agentId: AgentRef, id: Uuid });
// The column's CHECK (1..32768 characters); a blank finding says nothing.
const Finding = Text(32_768).refine((s) => s.trim().length > 0, 'must not be blank');

export function learningsRoutes(deps: LearningsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/agents/:agentId/learnings', {
      config: { permission: 'memory:write' },
      schema: {
        tags: ['learnings'],
        summary: 'Record a finding an agent made, with its evidence and confidence',
        params: AgentParams,
        body: z.strictObject({
          sourceType: Label(50).describe('what the finding came from, such as execution, feedback or evaluation'),
          sourceId: Label(255).nullable().optional().describe('the id of that source, in its own system'),
          learningCategory: Label(100).describe('such as pricing, routing or tone'),
          finding: Finding,
          evidence: jsonValue().refine((v) => v !== null, 'must not be null; omit it for {}').optional()
            .describe('any JSON that supports the finding; default {}'),
          confidence: Score01.describe('0..1'),
          impactScore: Score01.nullable().optional().describe('0..1'),
          tags: Tags.optional(),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await learnings.createLearning(deps, actor(req), req.params.agentId, req.body)));

    r.get('/v1/agents/:agentId/learnings', {
      config: { permission: 'memory:read' },
      schema: {
        tags: ['learnings'],
        summary: "An agent's learnings, newest first",
        params: AgentParams,
        querystring: z.strictObject({
          ...pageQuery,
          category: Label(100).optional().describe('only this learningCategory'),
          tag: Tag.optional().describe('only learnings with this tag'),
          minConfidence: z.coerce.number().min(0).max(1).optional().describe('only learnings at least this confident'),
        }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await learnings.listLearnings(deps, principal(req).orgId, req.params.agentId, {
        category: q.category,
        tag: q.tag,
        minConfidence: q.minConfidence,
        before: decodeCursor(q.cursor, Cursor),
        limit: q.limit + 1,
      });
      return page(rows, q.limit, (l) => ({ createdAt: new Date(l.createdAt).toISOString(), id: l.id }));
    });

    r.get('/v1/agents/:agentId/learnings/:id', {
      config: { permission: 'memory:read' },
      schema: { tags: ['learnings'], summary: 'One learning of an agent', params: LearningParams },
    }, async (req) => learnings.getLearning(deps, principal(req).orgId, req.params.agentId, req.params.id));

    r.delete('/v1/agents/:agentId/learnings/:id', {
      config: { permission: 'memory:write' },
      schema: { tags: ['learnings'], summary: 'Delete a learning (the audit log keeps what it said)', params: LearningParams },
    }, async (req, reply) => {
      await learnings.deleteLearning(deps, actor(req), req.params.agentId, req.params.id);
      return reply.status(204).send();
    });

    r.post('/v1/agents/:agentId/learnings/:id/applications', {
      config: { permission: 'memory:write' },
      schema: {
        tags: ['learnings'],
        summary: 'Record that a learning was applied and whether it worked; answers the learning with appliedCount, '
          + 'successCount and successRate (successCount / appliedCount) updated together',
        params: LearningParams,
        body: z.strictObject({ success: z.boolean().describe('whether applying it worked') }),
      },
    }, async (req) => learnings.recordApplication(deps, actor(req), req.params.agentId, req.params.id, req.body.success));
  };
}
