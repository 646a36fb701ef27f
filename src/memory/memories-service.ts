import { requireAgent, type AgentRow } from '../agents/index.js';
import { appendAudit, type Actor } from '../audit/index.js';
import type { Database, Sql } from '../db/index.js';
import { AppError, notFound } from '../errors.js';
import { findSession, resolveSessionKeys } from '../sessions/index.js';
import { VECTOR_UNAVAILABLE_HINT } from './capability.js';
import type { Embedder } from './embedders/types.js';
import * as repo from './memories-repo.js';
import type { MemoryChanges, MemoryListFilter, MemoryRow, MemoryType, NewMemory } from './memories-repo.js';
import { searchMemories, type SearchFilter, type SearchHit } from './memories-search-repo.js';
import type { MemoryModule } from './module.js';
import { spaceOf } from './space.js';

/** A memory as a caller sends it: sessionId may be a session's id or the application's key for it. */
export interface MemoryInput {
  content: string;
  memoryType?: MemoryType;
  importance?: number;
  relevanceDecay?: number;
  sessionId?: string;
  context?: Record<string, unknown>;
  tags?: string[];
  metadata?: Record<string, unknown>;
  occurredAt?: string;
  expiresAt?: string;
  /** set by the runtime and by knowledge transfers, not by the API */
  executionId?: string | null;
  userId?: string | null;
}

export type SearchMode = 'hybrid' | 'vector' | 'text';

export interface SearchInput extends SearchFilter {
  query: string;
  limit: number;
  mode: SearchMode;
  explain?: boolean;
}

export interface SearchResult {
  items: (SearchHit | Omit<SearchHit, ExplainKey>)[];
  /** how the search ran: text only when vectors are unavailable or the agent has no embedder */
  mode: SearchMode;
  embeddingModel: string | null;
}
type ExplainKey = 'vectorRank' | 'textRank' | 'similarity' | 'textScore' | 'importanceFactor' | 'recencyFactor';

/** How deep each list of a search goes: past the page, so a row ranked modestly by both lists can still make the top after fusion. */
export const candidatesFor = (limit: number): number => Math.min(200, Math.max(40, limit * 4));

const vectorUnavailable = () => new AppError(409, 'vector_unavailable', VECTOR_UNAVAILABLE_HINT);

/** Embeds outside any transaction (a model call can take seconds); an embedder failure is the caller's 502, not ours. */
export async function embedTexts(e: Embedder, texts: readonly string[]): Promise<{ vectors: number[][]; tokens: number }> {
  try {
    return await e.embed(texts);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new AppError(502, 'embedder_error', `the ${e.kind} embedder (${e.model}) failed: ${(err as Error).message}`,
      typeof code === 'string' ? { embedderCode: code } : undefined);
  }
}

async function agentFor(m: MemoryModule, orgId: string, ref: string): Promise<AgentRow> {
  return m.db.tenant(orgId, (sql) => requireAgent(sql, ref));
}

/** What an audit row keeps of a memory: never its content (it may be personal), only its shape. */
const audited = (r: MemoryRow) => ({ id: r.id, memoryType: r.memoryType, importance: r.importance, contentLength: r.content.length, sessionId: r.sessionId });

/**
 * Writes memories of one agent, embedded first and written in one
 * transaction: all or nothing. Searchable by text and vector on return.
 */
export async function saveMemories(m: MemoryModule, actor: Actor, agentRef: string, items: readonly MemoryInput[]): Promise<MemoryRow[]> {
  const agent = await agentFor(m, actor.orgId, agentRef);
  const embedder = await m.embedderFor(actor.orgId, agent.id);
  const vectors = embedder ? (await embedTexts(embedder, items.map((i) => i.content))).vectors : null;
  if (embedder) await m.ensureSpace('agent_memories', spaceOf(embedder));
  return m.db.tenant(actor.orgId, async (sql) => {
    const sessions = await resolveSessionKeys(sql, actor.orgId, items.flatMap((i) => (i.sessionId ? [i.sessionId] : [])));
    const rows = await repo.insertMemories(sql, actor.orgId, items.map((i, n): NewMemory => ({
      agentId: agent.id,
      sessionId: i.sessionId ? sessions.get(i.sessionId)! : null,
      userId: i.userId ?? null,
      executionId: i.executionId ?? null,
      memoryType: i.memoryType ?? 'conversation',
      content: i.content,
      ...(i.context ? { context: i.context } : {}),
      ...(i.tags ? { tags: i.tags } : {}),
      ...(i.metadata ? { metadata: i.metadata } : {}),
      ...(i.importance !== undefined ? { importance: i.importance } : {}),
      ...(i.relevanceDecay !== undefined ? { relevanceDecay: i.relevanceDecay } : {}),
      occurredAt: i.occurredAt ?? null,
      expiresAt: i.expiresAt ?? null,
      embedding: embedder && vectors ? { space: spaceOf(embedder), vector: vectors[n]! } : null,
    })), m.vectors);
    await appendAudit(sql, actor, rows.length === 1
      ? { action: 'memory.created', resourceType: 'agent_memory', resourceId: rows[0]!.id, agentId: agent.id, newValues: audited(rows[0]!) }
      : { action: 'memory.batch_created', resourceType: 'agent_memory', agentId: agent.id, newValues: { count: rows.length, ids: rows.map((r) => r.id) } });
    return rows;
  });
}

export async function getMemory(m: MemoryModule, orgId: string, agentRef: string, id: string): Promise<MemoryRow> {
  return m.db.tenant(orgId, async (sql) => {
    const agent = await requireAgent(sql, agentRef);
    const row = await repo.getMemory(sql, orgId, agent.id, id);
    if (!row) throw notFound('memory', id);
    return row;
  });
}

export async function listMemories(
  m: MemoryModule,
  orgId: string,
  agentRef: string,
  f: Omit<MemoryListFilter, 'sessionId'> & { sessionId?: string },
): Promise<MemoryRow[]> {
  return m.db.tenant(orgId, async (sql) => {
    const agent = await requireAgent(sql, agentRef);
    const { sessionId, ...rest } = f;
    let session: string | undefined;
    if (sessionId) {
      session = (await findSession(sql, orgId, sessionId))?.id;
      if (!session) return [];
    }
    return repo.listMemories(sql, orgId, agent.id, { ...rest, ...(session ? { sessionId: session } : {}) });
  });
}

/**
 * Changes a memory. A new content supersedes: a new row (re-embedded) takes
 * the old one's place in search, and the old row keeps its content with
 * superseded_by pointing at the new one. Other fields change in place.
 */
export async function patchMemory(
  m: MemoryModule,
  actor: Actor,
  agentRef: string,
  id: string,
  patch: MemoryChanges & { content?: string },
): Promise<MemoryRow> {
  const agent = await agentFor(m, actor.orgId, agentRef);
  const { content, ...changes } = patch;
  const embedder = content !== undefined ? await m.embedderFor(actor.orgId, agent.id) : null;
  const vector = embedder && content !== undefined ? (await embedTexts(embedder, [content])).vectors[0]! : null;
  if (embedder) await m.ensureSpace('agent_memories', spaceOf(embedder));
  return m.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getMemory(sql, actor.orgId, agent.id, id, true);
    if (!before) throw notFound('memory', id);
    if (before.supersededAt) {
      throw new AppError(409, 'conflict', `memory ${id} was superseded by ${before.supersededBy}; change that one`, { supersededBy: before.supersededBy });
    }
    if (content === undefined) {
      const after = await repo.updateMemory(sql, actor.orgId, id, changes);
      await appendAudit(sql, actor, { action: 'memory.updated', resourceType: 'agent_memory', resourceId: id, agentId: agent.id, oldValues: audited(before), newValues: audited(after) });
      return after;
    }
    const [after] = await repo.insertMemories(sql, actor.orgId, [{
      agentId: agent.id,
      sessionId: before.sessionId,
      userId: before.userId,
      executionId: before.executionId,
      knowledgeId: before.knowledgeId,
      memoryType: changes.memoryType ?? before.memoryType,
      content,
      context: changes.context ?? before.context,
      tags: changes.tags ?? before.tags,
      metadata: changes.metadata ?? before.metadata,
      importance: changes.importance ?? before.importance,
      relevanceDecay: changes.relevanceDecay ?? before.relevanceDecay,
      occurredAt: before.occurredAt,
      expiresAt: changes.expiresAt !== undefined ? changes.expiresAt : before.expiresAt,
      embedding: embedder && vector ? { space: spaceOf(embedder), vector } : null,
    }], m.vectors);
    await repo.markSuperseded(sql, actor.orgId, id, after!.id);
    await appendAudit(sql, actor, { action: 'memory.superseded', resourceType: 'agent_memory', resourceId: after!.id, agentId: agent.id, oldValues: audited(before), newValues: audited(after!) });
    return after!;
  });
}

export async function deleteMemory(m: MemoryModule, actor: Actor, agentRef: string, id: string): Promise<void> {
  await m.db.tenant(actor.orgId, async (sql) => {
    const agent = await requireAgent(sql, agentRef);
    if (!(await repo.deleteMemory(sql, actor.orgId, agent.id, id))) throw notFound('memory', id);
    await appendAudit(sql, actor, { action: 'memory.deleted', resourceType: 'agent_memory', resourceId: id, agentId: agent.id });
  });
}

/**
 * Hybrid (default), vector or text retrieval over an agent's live memories.
 * Hybrid without vectors here runs as text and says so (`mode` of the result);
 * vector mode without them is 409 vector_unavailable.
 */
export async function searchAgentMemories(m: MemoryModule, orgId: string, agentRef: string, input: SearchInput): Promise<SearchResult> {
  const agent = await agentFor(m, orgId, agentRef);
  return searchAgent(m, orgId, agent.id, input);
}

/** searchAgentMemories for a known agent id (the runtime's memory_search tool). */
export async function searchAgent(m: MemoryModule, orgId: string, agentId: string, input: SearchInput): Promise<SearchResult> {
  const settings = await m.settingsFor(orgId, agentId);
  const embedder = input.mode === 'text' ? null : await m.embedderFor(orgId, agentId);
  if (input.mode === 'vector' && !embedder) throw vectorUnavailable();
  const qv = embedder ? (await embedTexts(embedder, [input.query])).vectors[0]! : null;
  const mode: SearchMode = embedder ? input.mode : 'text';
  const hits = await m.db.tenantRead(orgId, async (sql: Sql) => {
    let sessionId: string | undefined;
    if (input.sessionId) {
      sessionId = (await findSession(sql, orgId, input.sessionId))?.id;
      if (!sessionId) return [];
    }
    const filter: SearchFilter = {
      ...(input.memoryTypes ? { memoryTypes: input.memoryTypes } : {}),
      ...(sessionId ? { sessionId } : {}),
      ...(input.tags ? { tags: input.tags } : {}),
      ...(input.minImportance !== undefined ? { minImportance: input.minImportance } : {}),
      ...(input.from ? { from: input.from } : {}),
      ...(input.to ? { to: input.to } : {}),
    };
    return searchMemories(sql, orgId, agentId, {
      text: mode === 'vector' ? null : input.query,
      vector: embedder && qv && mode !== 'text' ? { space: spaceOf(embedder), values: qv } : null,
      filter,
      candidates: candidatesFor(input.limit),
      limit: input.limit,
      halfLifeDays: settings.recencyHalfLifeDays,
    });
  });
  m.access.record(orgId, hits.map((h) => h.id));
  const items = input.explain
    ? hits
    : hits.map(({ vectorRank: _a, textRank: _b, similarity: _c, textScore: _d, importanceFactor: _e, recencyFactor: _f, ...rest }) => rest);
  return { items, mode, embeddingModel: embedder?.model ?? null };
}

/**
 * Maintenance: deletes memories past expires_at, one organization at a time
 * in its own tenant transaction (the app role deletes under RLS).
 */
export async function purgeExpiredMemories(db: Database): Promise<number> {
  const orgIds = await db.transaction(async (sql) =>
    (await sql.query<{ id: string }>(`SELECT ops_organization_ids() AS id`)).rows.map((r) => r.id));
  let purged = 0;
  for (const orgId of orgIds) {
    for (;;) {
      const n = await db.tenant(orgId, (sql) => repo.purgeExpired(sql, orgId, 5000));
      purged += n;
      if (n < 5000) break;
    }
  }
  return purged;
}
