import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AgentRef } from '../../agents/index.js';
import { actor, principal } from '../../http/context.js';
import { MetadataObject, Tag, Tags, Text, Uuid } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import { MEMORY_TYPES } from '../memories-repo.js';
import * as memories from '../memories-service.js';
import * as reembed from '../reembed-service.js';
import type { MemoryModule } from '../module.js';

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z' });
export const MAX_CONTENT = 32_768;
const Content = Text(MAX_CONTENT).refine((s) => s.trim().length > 0, 'must not be empty').describe(`what to remember, 1..${MAX_CONTENT} characters`);
const MemoryType = z.enum(MEMORY_TYPES);
const Importance = z.number().min(0).max(1);
const RelevanceDecay = z.number().min(0).max(100).describe('how fast recency fades for this memory: 1 at the half-life, 0 never, 2 twice as fast');
const SessionRef = z.string().min(1).max(255).describe("a session's id or the application's key for it (created on first sight)");

export const MemoryBody = z.strictObject({
  content: Content,
  memoryType: MemoryType.optional().describe('default conversation'),
  importance: Importance.optional().describe('0..1, default 0.5'),
  relevanceDecay: RelevanceDecay.optional(),
  sessionId: SessionRef.optional(),
  context: MetadataObject.optional(),
  tags: Tags.optional(),
  metadata: MetadataObject.optional(),
  occurredAt: Instant.optional().describe('when what is remembered happened; default now'),
  expiresAt: Instant.optional().describe('never returned by search after this; purged by maintenance'),
});
export const MAX_BATCH = 1000;

const Params = z.strictObject({ agentId: AgentRef });
const ItemParams = z.strictObject({ agentId: AgentRef, id: Uuid });

const filters = {
  memoryTypes: z.array(MemoryType).min(1).max(MEMORY_TYPES.length).optional(),
  sessionId: SessionRef.optional(),
  tags: z.array(Tag).min(1).max(20).optional().describe('memories carrying all of these'),
  minImportance: Importance.optional(),
  from: Instant.optional().describe('occurredAt at or after'),
  to: Instant.optional().describe('occurredAt before'),
};
export const SearchBody = z.strictObject({
  query: Text(4000).refine((s) => s.trim().length > 0, 'must not be empty'),
  limit: z.number().int().min(1).max(100).default(10),
  mode: z.enum(['hybrid', 'vector', 'text']).default('hybrid'),
  explain: z.boolean().default(false).describe("each item also shows its vector and text ranks, similarity, and the importance and recency factors"),
  ...filters,
});

const csv = <T extends z.ZodType<string, string>>(item: T) =>
  z.string().max(2000).transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)).pipe(z.array(item).min(1).max(20));
const ListQuery = z.strictObject({
  ...pageQuery,
  memoryType: csv(MemoryType).optional().describe('comma-separated'),
  sessionId: SessionRef.optional(),
  tag: csv(Tag).optional().describe('comma-separated; memories carrying all'),
  minImportance: z.coerce.number().min(0).max(1).optional(),
  from: Instant.optional(),
  to: Instant.optional(),
  includeSuperseded: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  includeExpired: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});
const Cursor = z.object({ createdAt: z.string().max(40), id: Uuid });

const PatchBody = z.strictObject({
  content: Content.optional().describe('a new content supersedes: a new memory replaces this one in search; this one is kept, linked'),
  memoryType: MemoryType.optional(),
  importance: Importance.optional(),
  relevanceDecay: RelevanceDecay.optional(),
  tags: Tags.optional(),
  metadata: MetadataObject.optional(),
  context: MetadataObject.optional(),
  expiresAt: Instant.nullable().optional(),
}).refine((b) => Object.values(b).some((v) => v !== undefined), 'send at least one field to change');

const TAG = ['memory'];

export function memoriesRoutes(m: MemoryModule): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/agents/:agentId/memories', {
      config: { permission: 'memory:write' },
      schema: { tags: TAG, summary: 'Save a memory of an agent (searchable by text and vector on return)', params: Params, body: MemoryBody },
    }, async (req, reply) => {
      const [row] = await memories.saveMemories(m, actor(req), req.params.agentId, [req.body]);
      return reply.status(201).send(row);
    });

    r.post('/v1/agents/:agentId/memories/batch', {
      config: { permission: 'memory:write' },
      schema: {
        tags: TAG,
        summary: `Save up to ${MAX_BATCH} memories of an agent, all or nothing`,
        params: Params,
        body: z.strictObject({ items: z.array(MemoryBody).min(1).max(MAX_BATCH) }),
      },
    }, async (req, reply) => {
      const items = await memories.saveMemories(m, actor(req), req.params.agentId, req.body.items);
      return reply.status(201).send({ items });
    });

    r.post('/v1/agents/:agentId/memories/search', {
      config: { permission: 'memory:read' },
      schema: {
        tags: TAG,
        summary: "Search an agent's memories: hybrid (vector + full text, fused by rank, weighted by importance and recency), vector or text",
        params: Params,
        body: SearchBody,
      },
    }, async (req) => memories.searchAgentMemories(m, principal(req).orgId, req.params.agentId, req.body));

    r.get('/v1/agents/:agentId/memories', {
      config: { permission: 'memory:read' },
      schema: { tags: TAG, summary: "An agent's memories, newest first", params: Params, querystring: ListQuery },
    }, async (req) => {
      const q = req.query;
      const after = decodeCursor(q.cursor, Cursor);
      const rows = await memories.listMemories(m, principal(req).orgId, req.params.agentId, {
        ...(q.memoryType ? { memoryTypes: q.memoryType } : {}),
        ...(q.sessionId ? { sessionId: q.sessionId } : {}),
        ...(q.tag ? { tags: q.tag } : {}),
        ...(q.minImportance !== undefined ? { minImportance: q.minImportance } : {}),
        ...(q.from ? { from: q.from } : {}),
        ...(q.to ? { to: q.to } : {}),
        ...(q.includeSuperseded ? { includeSuperseded: true } : {}),
        ...(q.includeExpired ? { includeExpired: true } : {}),
        ...(after ? { after } : {}),
        limit: q.limit + 1,
      });
      return page(rows, q.limit, (x) => ({ createdAt: new Date(x.createdAt).toISOString(), id: x.id }));
    });

    r.post('/v1/agents/:agentId/memories/reembed', {
      config: { permission: 'memory:admin' },
      schema: {
        tags: TAG,
        summary: "Move an agent's memories into the space of its current embedder, on the job queue; answers the job and the progress so far",
        params: Params,
      },
    }, async (req, reply) => reply.status(202).send(await reembed.startReembed(m, actor(req), req.params.agentId)));

    r.get('/v1/agents/:agentId/memories/reembed', {
      config: { permission: 'memory:read' },
      schema: { tags: TAG, summary: "How many of an agent's live memories are in its current embedder's space", params: Params },
    }, async (req) => reembed.reembedStatus(m, principal(req).orgId, req.params.agentId));

    r.get('/v1/agents/:agentId/memories/:id', {
      config: { permission: 'memory:read' },
      schema: { tags: TAG, summary: 'One memory (superseded ones too, with supersededBy)', params: ItemParams },
    }, async (req) => memories.getMemory(m, principal(req).orgId, req.params.agentId, req.params.id));

    r.patch('/v1/agents/:agentId/memories/:id', {
      config: { permission: 'memory:write' },
      schema: { tags: TAG, summary: 'Change a memory; a new content supersedes it (answered with the new memory)', params: ItemParams, body: PatchBody },
    }, async (req) => memories.patchMemory(m, actor(req), req.params.agentId, req.params.id, req.body));

    r.delete('/v1/agents/:agentId/memories/:id', {
      config: { permission: 'memory:write' },
      schema: { tags: TAG, summary: 'Delete a memory', params: ItemParams },
    }, async (req, reply) => {
      await memories.deleteMemory(m, actor(req), req.params.agentId, req.params.id);
      return reply.status(204).send();
    });
  };
}
