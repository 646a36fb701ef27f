import { requireAgent } from '../agents/index.js';
import { appendAudit, type Actor } from '../audit/index.js';
import { resolveSessionKeys } from '../sessions/index.js';
import * as repo from './memories-repo.js';
import type { MemoryRow, MemoryType } from './memories-repo.js';
import { nearestMemory } from './memories-search-repo.js';
import { embedTexts, type MemoryInput } from './memories-service.js';
import type { MemoryModule } from './module.js';
import { spaceOf } from './space.js';

/**
 * What a near-duplicate is compared with: the memories extraction itself
 * writes. A fact the model pulled out of a conversation makes an older fact or
 * preference obsolete; it does not make a task or a conversation note so.
 */
export const DEDUPE_TYPES: readonly MemoryType[] = ['fact', 'preference'];

export interface DedupedSave {
  /** the rows written, in input order */
  rows: MemoryRow[];
  /** the live memories each new row took the place of */
  superseded: { id: string; by: string; similarity: number }[];
}

const audited = (r: MemoryRow) => ({ id: r.id, memoryType: r.memoryType, importance: r.importance, contentLength: r.content.length, sessionId: r.sessionId });

/**
 * Writes memories of one agent, each deduplicated against the agent's live
 * fact and preference memories: when the nearest one (cosine, in the agent's
 * space) is at least `threshold` similar, the new row supersedes it, as a
 * content change through PATCH does (superseded_by, history kept); otherwise
 * it is added. Embedded first, then written in one transaction: all or
 * nothing. Items later in the list are compared with earlier ones too (the
 * transaction sees its own rows). Without an embedder (no vectors, or `none`)
 * nothing can be compared and every item is added.
 */
export async function saveDeduplicated(
  m: MemoryModule,
  actor: Actor,
  agentId: string,
  items: readonly MemoryInput[],
  threshold: number,
): Promise<DedupedSave> {
  const agent = await m.db.tenant(actor.orgId, (sql) => requireAgent(sql, agentId));
  const embedder = await m.embedderFor(actor.orgId, agent.id);
  const vectors = embedder && items.length ? (await embedTexts(embedder, items.map((i) => i.content))).vectors : null;
  if (embedder) await m.ensureSpace('agent_memories', spaceOf(embedder));
  return m.db.tenant(actor.orgId, async (sql) => {
    const sessions = await resolveSessionKeys(sql, actor.orgId, items.flatMap((i) => (i.sessionId ? [i.sessionId] : [])));
    const out: DedupedSave = { rows: [], superseded: [] };
    for (const [n, i] of items.entries()) {
      const vector = vectors?.[n];
      const embedding = embedder && vector ? { space: spaceOf(embedder), vector } : null;
      // Before the insert, or the nearest would be the new row itself.
      const near = embedding ? await nearestMemory(sql, actor.orgId, agent.id, embedding.space, embedding.vector, DEDUPE_TYPES) : undefined;
      const [row] = await repo.insertMemories(sql, actor.orgId, [{
        agentId: agent.id,
        sessionId: i.sessionId ? (sessions.get(i.sessionId) ?? null) : null,
        userId: i.userId ?? null,
        executionId: i.executionId ?? null,
        memoryType: i.memoryType ?? 'fact',
        content: i.content,
        ...(i.tags ? { tags: i.tags } : {}),
        ...(i.metadata ? { metadata: i.metadata } : {}),
        ...(i.importance !== undefined ? { importance: i.importance } : {}),
        embedding,
      }], m.vectors);
      out.rows.push(row!);
      if (near && near.similarity >= threshold) {
        await repo.markSuperseded(sql, actor.orgId, near.id, row!.id);
        out.superseded.push({ id: near.id, by: row!.id, similarity: near.similarity });
        await appendAudit(sql, actor, { action: 'memory.superseded', resourceType: 'agent_memory', resourceId: row!.id, agentId: agent.id, oldValues: { id: near.id, similarity: near.similarity }, newValues: audited(row!) });
      } else {
        await appendAudit(sql, actor, { action: 'memory.created', resourceType: 'agent_memory', resourceId: row!.id, agentId: agent.id, newValues: audited(row!) });
      }
    }
    return out;
  });
}
