import { resolveAgentRef } from '../agents/index.js';
import { appendAudit, type Actor } from '../audit/index.js';
import { AppError, notFound } from '../errors.js';
import { clock } from './deps.js';
import { embedText, ensureVectorIndex, itemText, sameSpace } from './knowledge-embedding.js';
import { ensureMetricPartition } from './knowledge-metrics-service.js';
import * as metrics from './knowledge-metrics-repo.js';
import * as repo from './knowledge-repo.js';
import type { EmbeddingChange, ItemFilters, ItemPatch, KnowledgeItem, StoredEmbedding } from './knowledge-repo.js';
import type { MemoryModule } from './module.js';
import { spaceOf } from './space.js';

export type { KnowledgeItem } from './knowledge-repo.js';

export const missingItem = (id: string) => notFound('knowledge item', id);
export const missingAgent = (ref: string) => notFound('agent', ref);

/** 409 naming the version the item is at now, so the caller knows what to fetch. */
const staleVersion = (id: string, sent: number, current: number) =>
  new AppError(
    409,
    'version_conflict',
    `knowledge item ${id} is at version ${current}, not ${sent}: it was changed since you read it; fetch it again and retry with version ${current}`,
    { expectedVersion: sent, currentVersion: current },
  );

// What an audit row keeps of an item: all of it but the vector, which the row never holds anyway.
const audited = (k: KnowledgeItem) => ({ ...k });

export interface CreateItemInput {
  domain: string;
  content: Record<string, unknown>;
  sourceAgentId: string;
  confidence?: number | null | undefined;
  tags?: readonly string[] | undefined;
}

/**
 * The org's knowledge embedding of `text`, or null when there are no vectors
 * here or the org embeds nothing. Embedding happens before any transaction
 * opens (it may be a network call), and the space's index is ensured before
 * its first row is written.
 */
async function embedForItem(m: MemoryModule, orgId: string, text: string): Promise<StoredEmbedding | null> {
  if (!m.vectors) return null;
  const embedder = await m.embedderFor(orgId);
  if (!embedder) return null;
  const e = await embedText(embedder, text);
  await ensureVectorIndex(m, 'knowledge_items', e);
  return e;
}

export async function createItem(m: MemoryModule, actor: Actor, input: CreateItemInput): Promise<KnowledgeItem> {
  const embedding = await embedForItem(m, actor.orgId, itemText(input.content));
  return m.db.tenant(actor.orgId, async (sql) => {
    // Share-locked so the agent cannot be deleted under the new item.
    const agent = await repo.findLiveAgent(sql, actor.orgId, input.sourceAgentId, true);
    if (!agent) throw missingAgent(input.sourceAgentId);
    const item = await repo.insertItem(sql, actor.orgId, actor.userId, {
      domain: input.domain,
      content: input.content,
      sourceAgentId: agent.id,
      confidence: input.confidence ?? null,
      tags: input.tags ?? [],
      embedding,
    });
    await appendAudit(sql, actor, {
      action: 'knowledge.created', resourceType: 'knowledge_item', resourceId: item.id, agentId: agent.id, newValues: audited(item),
    });
    return item;
  });
}

/** A live item; each read is counted ('read' metric) in the same transaction. */
export async function readItem(m: MemoryModule, orgId: string, id: string): Promise<KnowledgeItem> {
  const at = clock(m);
  await ensureMetricPartition(m, at);
  return m.db.tenant(orgId, async (sql) => {
    const item = await repo.getItem(sql, orgId, id);
    if (!item) throw missingItem(id);
    await metrics.insertMetricEvents(sql, orgId, [{ knowledgeId: id, agentId: null, event: 'read', at }]);
    return item;
  });
}

export interface ListItemsQuery {
  domain?: string | undefined;
  tag?: string | undefined;
  /** an agent id or slug */
  sourceAgentId?: string | undefined;
  minConfidence?: number | undefined;
  beforeId?: string | undefined;
  limit: number;
}

export async function listItems(m: MemoryModule, orgId: string, q: ListItemsQuery): Promise<KnowledgeItem[]> {
  return m.db.tenant(orgId, async (sql) => {
    const f: ItemFilters = { domain: q.domain, tag: q.tag, minConfidence: q.minConfidence };
    if (q.sourceAgentId !== undefined) {
      // An id names deleted agents too: their items stay, and stay listable by them.
      f.sourceAgentId = (await resolveAgentRef(sql, q.sourceAgentId)).id;
    }
    return repo.listItems(sql, orgId, { ...f, beforeId: q.beforeId, limit: q.limit });
  });
}

/**
 * What a PATCH does to the embedding. New content whose text (title and
 * description) differs, or that is not yet in the org's current space, is
 * embedded again; changed text with nothing to embed it with clears the old
 * vector, which would otherwise answer for words the item no longer has.
 */
async function embeddingChange(m: MemoryModule, orgId: string, before: KnowledgeItem, content: Record<string, unknown> | undefined): Promise<EmbeddingChange> {
  if (!content) return { kind: 'keep' };
  const text = itemText(content);
  const changed = text !== itemText(before.content);
  const embedder = m.vectors ? await m.embedderFor(orgId) : null;
  if (!embedder) return changed && before.embeddingModel !== null ? { kind: 'clear', vectors: m.vectors } : { kind: 'keep' };
  if (!changed && sameSpace(before, spaceOf(embedder))) return { kind: 'keep' };
  const embedding = await embedText(embedder, text);
  await ensureVectorIndex(m, 'knowledge_items', embedding);
  return { kind: 'set', embedding };
}

/**
 * Optimistic update: `version` must be the one the caller read. The item is
 * read first (outside the write) so a stale or missing item costs no
 * embedding call; the write re-checks the version under the row lock.
 */
export async function updateItem(
  m: MemoryModule,
  actor: Actor,
  id: string,
  input: ItemPatch & { version: number },
): Promise<KnowledgeItem> {
  const { version, ...patch } = input;
  const current = await m.db.tenant(actor.orgId, (sql) => repo.getItem(sql, actor.orgId, id));
  if (!current) throw missingItem(id);
  if (current.version !== version) throw staleVersion(id, version, current.version);
  const embedding = await embeddingChange(m, actor.orgId, current, patch.content);
  return m.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.lockItem(sql, actor.orgId, id, 'update');
    if (!before) throw missingItem(id);
    // Every change bumps the version, so an equal version means the row is the one the embedding was made from.
    if (before.version !== version) throw staleVersion(id, version, before.version);
    const after = await repo.updateItem(sql, actor.orgId, id, version, patch, embedding);
    if (!after) throw staleVersion(id, version, before.version);
    await appendAudit(sql, actor, {
      action: 'knowledge.updated', resourceType: 'knowledge_item', resourceId: id, agentId: after.sourceAgentId,
      oldValues: audited(before), newValues: audited(after),
    });
    return after;
  });
}

/** Soft delete: 404 afterwards on every route, never found by search; its transfers' memories stay with their agents. */
export async function deleteItem(m: MemoryModule, actor: Actor, id: string): Promise<void> {
  await m.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.lockItem(sql, actor.orgId, id, 'update');
    if (!before) throw missingItem(id);
    await repo.softDeleteItem(sql, actor.orgId, id);
    await appendAudit(sql, actor, {
      action: 'knowledge.deleted', resourceType: 'knowledge_item', resourceId: id, agentId: before.sourceAgentId, oldValues: audited(before),
    });
  });
}
