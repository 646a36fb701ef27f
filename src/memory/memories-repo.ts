import type { Sql } from '../db/index.js';
import { uuidv7 } from '../db/index.js';
import { vectorText, type Space } from './space.js';

export const MEMORY_TYPES = ['conversation', 'fact', 'preference', 'task', 'learning', 'insight'] as const;
export type MemoryType = (typeof MEMORY_TYPES)[number];

export interface MemoryRow {
  id: string;
  agentId: string;
  sessionId: string | null;
  userId: string | null;
  executionId: string | null;
  knowledgeId: string | null;
  memoryType: MemoryType;
  content: string;
  context: Record<string, unknown>;
  tags: string[];
  metadata: Record<string, unknown>;
  importance: number;
  relevanceDecay: number;
  accessCount: number;
  lastAccessedAt: Date | null;
  occurredAt: Date;
  expiresAt: Date | null;
  supersededBy: string | null;
  supersededAt: Date | null;
  embeddingModel: string | null;
  embeddingDims: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export const MEMORY_COLUMNS = `m.id, m.agent_id AS "agentId", m.session_id AS "sessionId", m.user_id AS "userId",
  m.execution_id AS "executionId", m.knowledge_id AS "knowledgeId", m.memory_type AS "memoryType", m.content,
  m.context, m.tags, m.metadata, m.importance_score AS "importance", m.relevance_decay AS "relevanceDecay",
  m.access_count AS "accessCount", m.last_accessed_at AS "lastAccessedAt", m.occurred_at AS "occurredAt",
  m.expires_at AS "expiresAt", m.superseded_by AS "supersededBy", m.superseded_at AS "supersededAt",
  m.embedding_model AS "embeddingModel", m.embedding_dims AS "embeddingDims", m.created_at AS "createdAt",
  m.updated_at AS "updatedAt"`;

/** One memory to write, with its vector (when the agent's space has one). */
export interface NewMemory {
  agentId: string;
  sessionId?: string | null;
  userId?: string | null;
  executionId?: string | null;
  knowledgeId?: string | null;
  memoryType: MemoryType;
  content: string;
  context?: Record<string, unknown>;
  tags?: string[];
  metadata?: Record<string, unknown>;
  importance?: number;
  relevanceDecay?: number;
  occurredAt?: string | Date | null;
  expiresAt?: string | Date | null;
  embedding?: { space: Space; vector: readonly number[] } | null;
}

// Two statements, not one with a dynamic column list: without pgvector the
// embedding column does not exist (see migration 0015).
const INSERT_COLUMNS = `id, org_id, agent_id, session_id, user_id, execution_id, knowledge_id, memory_type, content, context,
  tags, metadata, importance_score, relevance_decay, occurred_at, expires_at, embedding_model, embedding_dims`;
const RECORD = `id uuid, agent_id uuid, session_id uuid, user_id uuid, execution_id uuid, knowledge_id uuid, memory_type text,
  content text, context jsonb, tags text[], metadata jsonb, importance_score real, relevance_decay real,
  occurred_at timestamptz, expires_at timestamptz, embedding_model text, embedding_dims integer, embedding text`;
const VALUES = `x.id, $1, x.agent_id, x.session_id, x.user_id, x.execution_id, x.knowledge_id, x.memory_type, x.content,
  coalesce(x.context, '{}'), coalesce(x.tags, '{}'), coalesce(x.metadata, '{}'), coalesce(x.importance_score, 0.5),
  coalesce(x.relevance_decay, 1), coalesce(x.occurred_at, now()), x.expires_at, x.embedding_model, x.embedding_dims`;
const INSERT_TEXT = `INSERT INTO agent_memories AS m (${INSERT_COLUMNS})
  SELECT ${VALUES} FROM jsonb_to_recordset($2::jsonb) AS x(${RECORD})
  RETURNING ${MEMORY_COLUMNS}`;
const INSERT_VECTOR = `INSERT INTO agent_memories AS m (${INSERT_COLUMNS}, embedding)
  SELECT ${VALUES}, x.embedding::vector FROM jsonb_to_recordset($2::jsonb) AS x(${RECORD})
  RETURNING ${MEMORY_COLUMNS}`;

function toRecord(m: NewMemory, id: string, vectors: boolean): Record<string, unknown> {
  const e = vectors ? m.embedding : null;
  return {
    id,
    agent_id: m.agentId,
    session_id: m.sessionId ?? null,
    user_id: m.userId ?? null,
    execution_id: m.executionId ?? null,
    knowledge_id: m.knowledgeId ?? null,
    memory_type: m.memoryType,
    content: m.content,
    context: m.context ?? null,
    tags: m.tags ?? null,
    metadata: m.metadata ?? null,
    importance_score: m.importance ?? null,
    relevance_decay: m.relevanceDecay ?? null,
    occurred_at: m.occurredAt ?? null,
    expires_at: m.expiresAt ?? null,
    embedding_model: e ? e.space.model : null,
    embedding_dims: e ? e.space.dims : null,
    embedding: e ? vectorText(e.vector) : null,
  };
}

/** Writes memories in one statement, returned in input order. */
export async function insertMemories(sql: Sql, orgId: string, items: readonly NewMemory[], vectors: boolean): Promise<MemoryRow[]> {
  if (items.length === 0) return [];
  const ids = items.map(() => uuidv7());
  const r = await sql.query<MemoryRow>(vectors ? INSERT_VECTOR : INSERT_TEXT, [
    orgId,
    JSON.stringify(items.map((m, i) => toRecord(m, ids[i]!, vectors))),
  ]);
  const byId = new Map(r.rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id)!);
}

export async function getMemory(sql: Sql, orgId: string, agentId: string, id: string, lock = false): Promise<MemoryRow | undefined> {
  const r = await sql.query<MemoryRow>(
    `SELECT ${MEMORY_COLUMNS} FROM agent_memories m WHERE m.org_id = $1 AND m.agent_id = $2 AND m.id = $3${lock ? ' FOR UPDATE' : ''}`,
    [orgId, agentId, id],
  );
  return r.rows[0];
}

/** Which of an agent's memories a list or a search looks at. */
export interface MemoryFilter {
  memoryTypes?: readonly string[];
  sessionId?: string;
  tags?: readonly string[];
  minImportance?: number;
  from?: string;
  to?: string;
  includeSuperseded?: boolean;
  includeExpired?: boolean;
}

export interface MemoryListFilter extends MemoryFilter {
  after?: { createdAt: string; id: string };
  limit: number;
}

/**
 * The WHERE conditions (joined by AND) of an agent's memories under a filter,
 * alias `m`; the values are appended to params, so it composes with the
 * caller's own. Live memories only unless the filter says otherwise.
 */
export function memoryWhere(params: unknown[], orgId: string, agentId: string, f: MemoryFilter): string[] {
  params.push(orgId, agentId);
  const where = [`m.org_id = $${params.length - 1}`, `m.agent_id = $${params.length}`];
  const add = (cond: (p: string) => string, v: unknown) => {
    params.push(v);
    where.push(cond(`$${params.length}`));
  };
  if (!f.includeSuperseded) where.push('m.superseded_at IS NULL');
  if (!f.includeExpired) where.push('(m.expires_at IS NULL OR m.expires_at > now())');
  if (f.memoryTypes?.length) add((p) => `m.memory_type = ANY(${p}::text[])`, f.memoryTypes);
  if (f.sessionId) add((p) => `m.session_id = ${p}`, f.sessionId);
  if (f.tags?.length) add((p) => `m.tags @> ${p}::text[]`, f.tags);
  if (f.minImportance !== undefined) add((p) => `m.importance_score >= ${p}`, f.minImportance);
  if (f.from) add((p) => `m.occurred_at >= ${p}`, f.from);
  if (f.to) add((p) => `m.occurred_at < ${p}`, f.to);
  return where;
}

/** An agent's memories, newest first (keyset on created_at, id). */
export async function listMemories(sql: Sql, orgId: string, agentId: string, f: MemoryListFilter): Promise<MemoryRow[]> {
  const params: unknown[] = [];
  const where = memoryWhere(params, orgId, agentId, f);
  if (f.after) {
    params.push(f.after.createdAt, f.after.id);
    where.push(`(m.created_at, m.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(f.limit);
  const r = await sql.query<MemoryRow>(
    `SELECT ${MEMORY_COLUMNS} FROM agent_memories m WHERE ${where.join(' AND ')}
      ORDER BY m.created_at DESC, m.id DESC LIMIT $${params.length}`,
    params,
  );
  return r.rows;
}

/** The fields a PATCH may change in place (everything but the content, which supersedes). */
export interface MemoryChanges {
  memoryType?: MemoryType;
  importance?: number;
  relevanceDecay?: number;
  tags?: string[];
  metadata?: Record<string, unknown>;
  context?: Record<string, unknown>;
  expiresAt?: string | null;
}

// Allow-list: API field → column and cast.
const CHANGE_COLUMNS: Record<keyof MemoryChanges, string> = {
  memoryType: 'memory_type = $%::text',
  importance: 'importance_score = $%::real',
  relevanceDecay: 'relevance_decay = $%::real',
  tags: 'tags = $%::text[]',
  metadata: 'metadata = $%::jsonb',
  context: 'context = $%::jsonb',
  expiresAt: 'expires_at = $%::timestamptz',
};

export async function updateMemory(sql: Sql, orgId: string, id: string, c: MemoryChanges): Promise<MemoryRow> {
  const params: unknown[] = [orgId, id];
  const sets = ['updated_at = now()'];
  for (const [k, v] of Object.entries(c) as [keyof MemoryChanges, unknown][]) {
    if (v === undefined) continue;
    params.push(k === 'metadata' || k === 'context' ? JSON.stringify(v) : v);
    sets.push(CHANGE_COLUMNS[k].replace('$%', `$${params.length}`));
  }
  const r = await sql.query<MemoryRow>(
    `UPDATE agent_memories m SET ${sets.join(', ')} WHERE m.org_id = $1 AND m.id = $2 RETURNING ${MEMORY_COLUMNS}`,
    params,
  );
  return r.rows[0]!;
}

export async function markSuperseded(sql: Sql, orgId: string, id: string, by: string): Promise<void> {
  await sql.query(
    `UPDATE agent_memories SET superseded_by = $3, superseded_at = now(), updated_at = now() WHERE org_id = $1 AND id = $2`,
    [orgId, id, by],
  );
}

export async function deleteMemory(sql: Sql, orgId: string, agentId: string, id: string): Promise<boolean> {
  const r = await sql.query(`DELETE FROM agent_memories WHERE org_id = $1 AND agent_id = $2 AND id = $3`, [orgId, agentId, id]);
  return r.rowCount > 0;
}

/** Access counts from searches, folded per memory by the batcher. */
export async function recordAccess(sql: Sql, orgId: string, ids: readonly string[], counts: readonly number[], at: Date): Promise<void> {
  await sql.query(`SELECT set_config('synchronous_commit', 'off', true)`);
  await sql.query(
    `UPDATE agent_memories m SET access_count = m.access_count + x.n, last_accessed_at = greatest(m.last_accessed_at, $4::timestamptz)
       FROM unnest($2::uuid[], $3::int[]) AS x(id, n) WHERE m.org_id = $1 AND m.id = x.id`,
    [orgId, ids, counts, at.toISOString()],
  );
}

/** Maintenance: memories past expires_at, at most `limit` per call. */
export async function purgeExpired(sql: Sql, orgId: string, limit: number): Promise<number> {
  const r = await sql.query(
    `DELETE FROM agent_memories WHERE id IN (
       SELECT id FROM agent_memories WHERE org_id = $1 AND expires_at IS NOT NULL AND expires_at <= now() LIMIT $2)`,
    [orgId, limit],
  );
  return r.rowCount;
}
