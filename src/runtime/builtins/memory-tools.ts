/**
 * memory_search / memory_save: the agent's own long-term memory, offered to
 * agents with memory enabled (run-memory.ts), not named in their tools. They
 * go through the memory module's services (hybrid search, embedded writes),
 * so what a tool saves is what GET /v1/agents/{id}/memories shows.
 *
 * Their calls are recorded as memory_access spans (spanKind); what the span
 * keeps beyond the arguments and the output is in `details`: the query, the
 * hits (ids and scores) and the latency of the memory call itself.
 */
import { z } from 'zod';
import { MEMORY_TYPES, saveMemories, searchAgent, type MemoryModule } from '../../memory/index.js';
import { AppError } from '../../errors.js';
import { isRunToolContext } from '../agent-loop.js';
import { systemActor } from '../run-recorder.js';
import type { RunnableTool } from '../run-tools.js';
import type { ToolOutcome } from '../tools/types.js';

export const MEMORY_SEARCH_LIMIT = 20;
/** A memory is a note, not a document: the model's notes beyond this are cut by the model, not by us. */
export const MEMORY_CONTENT_MAX_CHARS = 10_000;

const refuse = (error: string, details?: Record<string, unknown>): ToolOutcome => ({ isError: true, output: { error }, ...(details ? { details } : {}) });

const SearchArgs = z.strictObject({
  query: z.string().trim().min(1).max(2000),
  limit: z.number().int().min(1).max(MEMORY_SEARCH_LIMIT).optional(),
  memoryTypes: z.array(z.enum(MEMORY_TYPES)).min(1).max(MEMORY_TYPES.length).optional(),
});

const SaveArgs = z.strictObject({
  content: z.string().trim().min(1).max(MEMORY_CONTENT_MAX_CHARS),
  memoryType: z.enum(MEMORY_TYPES).optional(),
  importance: z.number().min(0).max(1).optional(),
  tags: z.array(z.string().trim().min(1).max(100)).max(20).optional(),
});

function invalid(e: z.ZodError, example: string): ToolOutcome {
  const i = e.issues[0]!;
  return refuse(`the arguments are not valid: ${i.path.join('.') || 'arguments'}: ${i.message}; send ${example}`);
}

/** A failure of the memory service (the embedder is down) is the model's to work around, not the run's end. */
function failed(what: string, err: unknown, details: Record<string, unknown>): ToolOutcome {
  if (err instanceof AppError) return refuse(`${what} failed: ${err.message}`, { ...details, errorCode: err.code });
  throw err;
}

const ms = (t0: number) => Math.round(performance.now() - t0);

export function memorySearchTool(m: MemoryModule): RunnableTool {
  return {
    spanKind: 'memory_access',
    spec: {
      name: 'memory_search',
      description: 'Search what you remember from earlier conversations (facts, preferences, tasks, …), best match first.',
      parameters: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'what to look for, in words' },
          limit: { type: 'integer', minimum: 1, maximum: MEMORY_SEARCH_LIMIT, description: 'how many memories at most (default 5)' },
          memoryTypes: { type: 'array', items: { type: 'string', enum: [...MEMORY_TYPES] }, description: 'only these kinds of memory' },
        },
        required: ['query'],
        additionalProperties: false,
      },
    },
    async run(args, ctx) {
      const parsed = SearchArgs.safeParse(args);
      if (!parsed.success) return invalid(parsed.error, '{"query": "<words>", "limit"?: 1..20, "memoryTypes"?: ["fact", …]}');
      const { query, limit = 5, memoryTypes } = parsed.data;
      const t0 = performance.now();
      try {
        const r = await searchAgent(m, ctx.orgId, ctx.agentId, { query, limit, mode: 'hybrid', ...(memoryTypes ? { memoryTypes } : {}) });
        const hits = r.items.map((h) => ({ id: h.id, score: h.score }));
        return {
          isError: false,
          output: {
            memories: r.items.map((h) => ({
              id: h.id, content: h.content, memoryType: h.memoryType, importance: h.importance, tags: h.tags, occurredAt: h.occurredAt, score: h.score,
            })),
          },
          details: { operation: 'search', query, hits, mode: r.mode, latencyMs: ms(t0) },
        };
      } catch (err) {
        return failed('the memory search', err, { operation: 'search', query, hits: [], latencyMs: ms(t0) });
      }
    },
  };
}

export function memorySaveTool(m: MemoryModule): RunnableTool {
  return {
    spanKind: 'memory_access',
    spec: {
      name: 'memory_save',
      description: 'Remember something for later conversations: a fact, a preference of the user, a task, something learned.',
      parameters: {
        type: 'object',
        properties: {
          content: { type: 'string', description: 'what to remember, as a self-contained sentence' },
          memoryType: { type: 'string', enum: [...MEMORY_TYPES], description: 'what kind of memory (default fact)' },
          importance: { type: 'number', minimum: 0, maximum: 1, description: 'how much it matters, 0..1 (default 0.5)' },
          tags: { type: 'array', items: { type: 'string' }, description: 'labels to find it by' },
        },
        required: ['content'],
        additionalProperties: false,
      },
    },
    async run(args, ctx) {
      const parsed = SaveArgs.safeParse(args);
      if (!parsed.success) return invalid(parsed.error, '{"content": "<sentence>", "memoryType"?: "fact", "importance"?: 0..1, "tags"?: ["…"]}');
      const a = parsed.data;
      const actor = isRunToolContext(ctx) ? ctx.frame.actor : systemActor(ctx.orgId);
      const t0 = performance.now();
      try {
        const [row] = await saveMemories(m, actor, ctx.agentId, [{
          content: a.content,
          memoryType: a.memoryType ?? 'fact',
          ...(a.importance !== undefined ? { importance: a.importance } : {}),
          ...(a.tags ? { tags: a.tags } : {}),
          // Tied to the run's session when it has one, so a session's memories can be listed and searched apart.
          ...(ctx.sessionId ? { sessionId: ctx.sessionId } : {}),
          executionId: ctx.executionId,
          userId: actor.userId,
        }]);
        return {
          isError: false,
          output: { saved: true, id: row!.id, memoryType: row!.memoryType },
          details: { operation: 'save', hits: [{ id: row!.id, score: null }], memoryType: row!.memoryType, sessionId: row!.sessionId, latencyMs: ms(t0) },
        };
      } catch (err) {
        return failed('saving the memory', err, { operation: 'save', hits: [], latencyMs: ms(t0) });
      }
    },
  };
}

/** The memory built-ins of a run whose agent has memory. */
export const memoryTools = (m: MemoryModule): RunnableTool[] => [memorySearchTool(m), memorySaveTool(m)];
