import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as agents from '../agents-service.js';
import { BuiltinToolName } from '../builtin-tools.js';
import type { AgentsDeps } from '../deps.js';
import { AGENT_STATUSES } from '../status.js';
import { AgentParams, JsonObject, MetadataObject, Name, Slug, Text, Uuid, Version } from './schemas.js';

const Cursor = z.object({ id: z.uuid() });
const AgentType = z.string().min(1).max(50).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "." and "-"');

// Every configurable field; PATCH takes the same ones, each optional.
const fields = {
  description: Text(10_000).nullable(),
  type: AgentType,
  systemPrompt: Text(200_000),
  model: z.string().trim().min(1).max(100).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters'),
  modelSettings: JsonObject,
  temperature: z.number().min(0).max(2).describe('0..2, stored with two decimals'),
  maxTokens: z.number().int().min(1).max(2_000_000),
  tools: z.array(z.union([Uuid, BuiltinToolName])).max(128)
    .describe('ids of tools in this organization (POST /v1/tools) and names of built-in tools (call_agent, context_get, context_set, …)'),
  memoryEnabled: z.boolean(),
  memoryType: z.enum(['conversation', 'long_term', 'hybrid']),
  cognitivePattern: z.enum(['convergent', 'divergent', 'lateral', 'systems', 'critical', 'adaptive']),
  learningRate: z.number().min(0).max(1).nullable(),
  performanceScore: z.number().min(0).max(1).nullable(),
  metadata: MetadataObject,
};
const optional = <T extends Record<string, z.ZodType>>(shape: T) =>
  Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v.optional()])) as { [K in keyof T]: z.ZodOptional<T[K]> };

export function agentRoutes(deps: AgentsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/agents', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['agents'],
        summary: 'Create an agent: a draft, or with status "active" also its version 1.0.0, published and activated in the same '
          + 'transaction (ready to run). The slug is derived from the name when not sent',
        body: z.strictObject({
          name: Name,
          slug: Slug.optional(),
          ...optional(fields),
          status: z.enum(['draft', 'active']).optional()
            .describe('draft (the default), or active: publish this configuration as version 1.0.0 and activate it, all or nothing'),
          changelog: Text(10_000).nullable().optional().describe('the changelog of version 1.0.0 (status active only)'),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await agents.createAgent(deps, actor(req), req.body)));

    r.get('/v1/agents', {
      config: { permission: 'agents:read' },
      schema: {
        tags: ['agents'],
        summary: 'Agents of the organization, newest first',
        querystring: z.strictObject({ ...pageQuery, status: z.enum(AGENT_STATUSES).optional(), type: AgentType.optional() }),
      },
    }, async (req) => {
      const before = decodeCursor(req.query.cursor, Cursor);
      const rows = await agents.listAgents(deps, principal(req).orgId, {
        status: req.query.status,
        type: req.query.type,
        beforeId: before?.id,
        limit: req.query.limit + 1,
      });
      return page(rows, req.query.limit, (a) => ({ id: a.id }));
    });

    r.get('/v1/agents/:id', {
      config: { permission: 'agents:read' },
      schema: { tags: ['agents'], summary: 'One agent', params: AgentParams },
    }, async (req) => agents.getAgent(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/agents/:id', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['agents'],
        summary: "Change an agent's working configuration; send the version you read. Status changes go through /status",
        params: AgentParams,
        body: z.strictObject({ version: Version, name: Name.optional(), slug: Slug.optional(), ...optional(fields) }),
      },
    }, async (req) => agents.updateAgent(deps, actor(req), req.params.id, req.body));

    r.post('/v1/agents/:id/status', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['agents'],
        summary: 'Move an agent through its lifecycle (draft, active, paused, stopped, learning, archived); illegal moves get 409',
        params: AgentParams,
        body: z.strictObject({ status: z.enum(AGENT_STATUSES), version: Version }),
      },
    }, async (req) => agents.changeAgentStatus(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/agents/:id', {
      config: { permission: 'agents:write' },
      schema: { tags: ['agents'], summary: 'Delete an agent; its history stays but it is no longer visible', params: AgentParams },
    }, async (req, reply) => {
      await agents.deleteAgent(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
