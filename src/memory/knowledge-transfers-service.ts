import { resolveAgentRef } from '../agents/index.js';
import { appendAudit, type Actor } from '../audit/index.js';
import type { Sql } from '../db/index.js';
import { conflict } from '../errors.js';
import { clock } from './deps.js';
import { embedText, ensureVectorIndex, memoryText, sameSpace } from './knowledge-embedding.js';
import { ensureMetricPartition } from './knowledge-metrics-service.js';
import * as metrics from './knowledge-metrics-repo.js';
import * as items from './knowledge-repo.js';
import type { AgentInfo, KnowledgeItem } from './knowledge-repo.js';
import { missingAgent, missingItem } from './knowledge-service.js';
import * as repo from './knowledge-transfers-repo.js';
import type { KnowledgeTransfer, MemoryEmbedding, TransferFilters, TransferMethod } from './knowledge-transfers-repo.js';
import type { MemoryModule } from './module.js';
import { spaceOf } from './space.js';

export type { KnowledgeTransfer, TransferMethod } from './knowledge-transfers-repo.js';
export { TRANSFER_METHODS } from './knowledge-transfers-repo.js';

/** Importance of the new memory when the item states no confidence. */
const DEFAULT_IMPORTANCE = 0.5;

/**
 * Why the target cannot take the item, or undefined when it can. These are
 * recorded as failed transfers (the caller learns why and the attempt is on
 * record); an unknown agent or item is a 404 instead, recorded nowhere.
 */
async function refusal(sql: Sql, orgId: string, item: KnowledgeItem, target: AgentInfo): Promise<string | undefined> {
  if (target.id === item.sourceAgentId) return `agent ${target.slug} is the item's source agent; it knows this already`;
  if (!target.memoryEnabled) return `agent ${target.slug} has memory disabled (memoryEnabled is false)`;
  if (target.status === 'archived') return `agent ${target.slug} is archived`;
  const existing = await repo.liveTransferredMemory(sql, orgId, item.id, target.id);
  if (existing) return `the item is already in agent ${target.slug}'s memory (memory ${existing}) from an earlier transfer`;
  return undefined;
}

/**
 * The vector of the memory a transfer writes, decided before the
 * transaction: the item's own when it is in the target agent's space (copied
 * in SQL), else the memory text embedded with the target's embedder.
 */
async function planEmbedding(m: MemoryModule, orgId: string, item: KnowledgeItem, targetId: string): Promise<MemoryEmbedding> {
  if (!m.vectors) return { kind: 'none' };
  const embedder = await m.embedderFor(orgId, targetId);
  if (!embedder) return { kind: 'none' };
  const space = spaceOf(embedder);
  const plan: MemoryEmbedding = sameSpace(item, space) ? { kind: 'copy' } : { kind: 'vector', embedding: await embedText(embedder, memoryText(item.content)) };
  await ensureVectorIndex(m, 'agent_memories', space);
  return plan;
}

/**
 * Makes a live item a memory of the target agent and records the transfer,
 * successful or not, with its audit row and a knowledge metric, in one
 * transaction. The item and agent are read once before it (to embed outside
 * any transaction), then again under lock; if either changed in between the
 * request is refused with 409 and nothing is written.
 */
export async function transferItem(
  m: MemoryModule,
  actor: Actor,
  id: string,
  input: { targetAgentId: string; method: TransferMethod },
): Promise<KnowledgeTransfer> {
  const orgId = actor.orgId;
  const pre = await m.db.tenant(orgId, async (sql) => {
    const item = await items.getItem(sql, orgId, id);
    if (!item) throw missingItem(id);
    const target = await items.findLiveAgent(sql, orgId, input.targetAgentId);
    if (!target) throw missingAgent(input.targetAgentId);
    return { item, target, refused: await refusal(sql, orgId, item, target) };
  });
  const embedding = pre.refused === undefined ? await planEmbedding(m, orgId, pre.item, pre.target.id) : { kind: 'none' as const };
  const at = clock(m);
  await ensureMetricPartition(m, at);

  return m.db.tenant(orgId, async (sql) => {
    const item = await items.lockItem(sql, orgId, id, 'noKeyUpdate');
    if (!item) throw missingItem(id);
    const target = await items.findLiveAgent(sql, orgId, input.targetAgentId, true);
    if (!target) throw missingAgent(input.targetAgentId);
    const refused = await refusal(sql, orgId, item, target);
    if (refused === undefined && (pre.refused !== undefined || item.version !== pre.item.version || target.id !== pre.target.id)) {
      throw conflict('the item or the target agent changed while the transfer was prepared; send the request again', { knowledgeId: id });
    }
    let memoryId: string | null = null;
    if (refused === undefined) {
      memoryId = await repo.insertTransferredMemory(sql, orgId, {
        agentId: target.id,
        knowledgeId: item.id,
        content: memoryText(item.content),
        importance: item.confidence ?? DEFAULT_IMPORTANCE,
        tags: item.tags,
        metadata: { knowledgeId: item.id, domain: item.domain },
        embedding,
      });
    }
    const transfer = await repo.insertTransfer(sql, orgId, actor.userId, {
      knowledgeId: item.id,
      sourceAgentId: item.sourceAgentId,
      targetAgentId: target.id,
      transferMethod: input.method,
      success: refused === undefined,
      errorMessage: refused ?? null,
      memoryId,
    });
    await metrics.insertMetricEvents(sql, orgId, [
      { knowledgeId: item.id, agentId: target.id, event: transfer.success ? 'transfer' : 'transfer_failed', at },
    ]);
    await appendAudit(sql, actor, {
      action: transfer.success ? 'knowledge.transferred' : 'knowledge.transfer_failed',
      resourceType: 'knowledge_transfer',
      resourceId: transfer.id,
      agentId: target.id,
      newValues: transfer,
    });
    return transfer;
  });
}

/** Transfers of one live item, newest first. */
export async function listItemTransfers(
  m: MemoryModule,
  orgId: string,
  id: string,
  q: { beforeId?: string | undefined; limit: number },
): Promise<KnowledgeTransfer[]> {
  return m.db.tenant(orgId, async (sql) => {
    if (!(await items.getItem(sql, orgId, id))) throw missingItem(id);
    return repo.listTransfers(sql, orgId, { knowledgeId: id, beforeId: q.beforeId, limit: q.limit });
  });
}

/** The organization's transfers, newest first; agents by id (deleted ones too) or slug. */
export async function listTransfers(
  m: MemoryModule,
  orgId: string,
  q: { sourceAgentId?: string | undefined; targetAgentId?: string | undefined; success?: boolean | undefined; beforeId?: string | undefined; limit: number },
): Promise<KnowledgeTransfer[]> {
  return m.db.tenant(orgId, async (sql) => {
    const f: TransferFilters = { success: q.success };
    if (q.sourceAgentId !== undefined) f.sourceAgentId = (await resolveAgentRef(sql, q.sourceAgentId)).id;
    if (q.targetAgentId !== undefined) f.targetAgentId = (await resolveAgentRef(sql, q.targetAgentId)).id;
    return repo.listTransfers(sql, orgId, { ...f, beforeId: q.beforeId, limit: q.limit });
  });
}
