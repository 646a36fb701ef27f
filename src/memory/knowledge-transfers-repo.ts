import { uuidv7, type Sql } from '../db/index.js';
import type { StoredEmbedding } from './knowledge-repo.js';

export const TRANSFER_METHODS = ['direct', 'adaptive', 'gradual', 'copy'] as const;
export type TransferMethod = (typeof TRANSFER_METHODS)[number];

export interface KnowledgeTransfer {
  id: string;
  knowledgeId: string;
  sourceAgentId: string;
  targetAgentId: string;
  transferMethod: TransferMethod;
  success: boolean;
  errorMessage: string | null;
  memoryId: string | null;
  createdBy: string | null;
  createdAt: Date;
}

const COLUMNS = `t.id, t.knowledge_id AS "knowledgeId", t.source_agent_id AS "sourceAgentId", t.target_agent_id AS "targetAgentId",
  t.transfer_method AS "transferMethod", t.success, t.error_message AS "errorMessage", t.memory_id AS "memoryId",
  t.created_by AS "createdBy", t.created_at AS "createdAt"`;

export async function insertTransfer(
  sql: Sql,
  orgId: string,
  createdBy: string | null,
  f: Omit<KnowledgeTransfer, 'id' | 'createdBy' | 'createdAt'>,
): Promise<KnowledgeTransfer> {
  const r = await sql.query<KnowledgeTransfer>(
    `INSERT INTO knowledge_transfers AS t (id, org_id, knowledge_id, source_agent_id, target_agent_id, transfer_method, success,
       error_message, memory_id, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
    [uuidv7(), orgId, f.knowledgeId, f.sourceAgentId, f.targetAgentId, f.transferMethod, f.success, f.errorMessage, f.memoryId, createdBy],
  );
  return r.rows[0]!;
}

export interface TransferFilters {
  knowledgeId?: string | undefined;
  sourceAgentId?: string | undefined;
  targetAgentId?: string | undefined;
  success?: boolean | undefined;
}

/**
 * Newest first, transfers of live items only (a deleted item is gone from
 * every read); the caller asks for limit + 1.
 */
export async function listTransfers(sql: Sql, orgId: string, f: TransferFilters & { beforeId?: string | undefined; limit: number }): Promise<KnowledgeTransfer[]> {
  const params: unknown[] = [orgId, f.limit];
  const where = ['t.org_id = $1', 'k.deleted_at IS NULL'];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replaceAll('?', `$${params.length}`));
  };
  if (f.knowledgeId !== undefined) add('t.knowledge_id = ?', f.knowledgeId);
  if (f.sourceAgentId !== undefined) add('t.source_agent_id = ?', f.sourceAgentId);
  if (f.targetAgentId !== undefined) add('t.target_agent_id = ?', f.targetAgentId);
  if (f.success !== undefined) add('t.success = ?', f.success);
  if (f.beforeId !== undefined) add('(t.created_at, t.id) < (SELECT c.created_at, c.id FROM knowledge_transfers c WHERE c.org_id = $1 AND c.id = ?)', f.beforeId);
  const r = await sql.query<KnowledgeTransfer>(
    `SELECT ${COLUMNS} FROM knowledge_transfers t JOIN knowledge_items k ON k.id = t.knowledge_id
     WHERE ${where.join(' AND ')} ORDER BY t.created_at DESC, t.id DESC LIMIT $2`,
    params,
  );
  return r.rows;
}

/** The target agent's live memory made from this item by an earlier transfer, if any. */
export async function liveTransferredMemory(sql: Sql, orgId: string, knowledgeId: string, agentId: string): Promise<string | undefined> {
  const r = await sql.query<{ id: string }>(
    `SELECT id FROM agent_memories
     WHERE org_id = $1 AND agent_id = $2 AND knowledge_id = $3 AND superseded_at IS NULL AND (expires_at IS NULL OR expires_at > now())
     ORDER BY created_at DESC LIMIT 1`,
    [orgId, agentId, knowledgeId],
  );
  return r.rows[0]?.id;
}

/**
 * Where the new memory's vector comes from: copied in SQL from the item (same
 * space, so it never travels), a vector made for the memory, or none.
 */
export type MemoryEmbedding = { kind: 'copy' } | { kind: 'vector'; embedding: StoredEmbedding } | { kind: 'none' };

export interface TransferredMemory {
  agentId: string;
  knowledgeId: string;
  content: string;
  importance: number;
  tags: readonly string[];
  metadata: Record<string, unknown>;
  embedding: MemoryEmbedding;
}

/** A 'fact' memory of the target agent, marked with the item it came from (knowledge_id). Returns its id. */
export async function insertTransferredMemory(sql: Sql, orgId: string, f: TransferredMemory): Promise<string> {
  const id = uuidv7();
  const params: unknown[] = [id, orgId, f.agentId, f.knowledgeId, f.content, f.tags, JSON.stringify(f.metadata), f.importance];
  let cols = '';
  let vals = '';
  if (f.embedding.kind === 'copy') {
    cols = ', embedding, embedding_model, embedding_dims';
    vals = ', k.embedding, k.embedding_model, k.embedding_dims';
  } else if (f.embedding.kind === 'vector') {
    params.push(f.embedding.embedding.vector, f.embedding.embedding.model, f.embedding.embedding.dims);
    cols = ', embedding, embedding_model, embedding_dims';
    vals = `, $${params.length - 2}::vector, $${params.length - 1}, $${params.length}`;
  }
  await sql.query(
    `INSERT INTO agent_memories (id, org_id, agent_id, knowledge_id, memory_type, content, tags, metadata, importance_score${cols})
     SELECT $1::uuid, $2::uuid, $3::uuid, k.id, 'fact', $5::text, $6::text[], $7::jsonb, $8::real${vals}
     FROM knowledge_items k WHERE k.org_id = $2 AND k.id = $4`,
    params,
  );
  return id;
}
