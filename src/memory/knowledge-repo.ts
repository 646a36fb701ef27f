import { isAgentId } from '../agents/index.js';
import { uuidv7, type Sql } from '../db/index.js';

/**
 * knowledge_items as the API shows them. The embedding itself never leaves
 * the database: only which space it is in and when it was made.
 */
export interface KnowledgeItem {
  id: string;
  domain: string;
  /** a JSON object with at least a string title (and usually a description) */
  content: Record<string, unknown>;
  sourceAgentId: string;
  confidence: number | null;
  tags: string[];
  embeddingModel: string | null;
  embeddingDims: number | null;
  embeddedAt: Date | null;
  version: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A vector to store with its space; `vector` is pgvector's text form (space.ts vectorText). */
export interface StoredEmbedding {
  vector: string;
  model: string;
  dims: number;
}

// numeric(3,2) comes back as float8 so the API shows a number, not a string.
export const ITEM_COLUMNS = `k.id, k.domain, k.content, k.source_agent_id AS "sourceAgentId", k.confidence::float8 AS confidence,
  k.tags, k.embedding_model AS "embeddingModel", k.embedding_dims AS "embeddingDims", k.embedded_at AS "embeddedAt",
  k.version, k.created_by AS "createdBy", k.created_at AS "createdAt", k.updated_at AS "updatedAt"`;

export async function insertItem(
  sql: Sql,
  orgId: string,
  createdBy: string | null,
  f: {
    domain: string;
    content: Record<string, unknown>;
    sourceAgentId: string;
    confidence: number | null;
    tags: readonly string[];
    embedding: StoredEmbedding | null;
  },
): Promise<KnowledgeItem> {
  const params: unknown[] = [uuidv7(), orgId, f.domain, JSON.stringify(f.content), f.sourceAgentId, f.confidence, f.tags, createdBy];
  let cols = '';
  let vals = '';
  // The embedding column exists only where pgvector does, so it is named only when there is a vector to store.
  if (f.embedding) {
    params.push(f.embedding.vector, f.embedding.model, f.embedding.dims);
    cols = ', embedding, embedding_model, embedding_dims, embedded_at';
    vals = `, $${params.length - 2}::vector, $${params.length - 1}, $${params.length}, now()`;
  }
  const r = await sql.query<KnowledgeItem>(
    `INSERT INTO knowledge_items AS k (id, org_id, domain, content, source_agent_id, confidence, tags, created_by${cols})
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::text[], $8${vals}) RETURNING ${ITEM_COLUMNS}`,
    params,
  );
  return r.rows[0]!;
}

/** A live item (deleted ones are not found, as if they never were). */
export async function getItem(sql: Sql, orgId: string, id: string): Promise<KnowledgeItem | undefined> {
  const r = await sql.query<KnowledgeItem>(
    `SELECT ${ITEM_COLUMNS} FROM knowledge_items k WHERE k.org_id = $1 AND k.id = $2 AND k.deleted_at IS NULL`,
    [orgId, id],
  );
  return r.rows[0];
}

const LOCKS = { update: 'FOR UPDATE', noKeyUpdate: 'FOR NO KEY UPDATE', share: 'FOR SHARE' } as const;

/**
 * A live item, row-locked: `update` for changes to it (a PATCH and a delete
 * serialize), `noKeyUpdate` for transfers (two transfers of one item to one
 * agent must not both pass the already-transferred check).
 */
export async function lockItem(sql: Sql, orgId: string, id: string, mode: keyof typeof LOCKS): Promise<KnowledgeItem | undefined> {
  const r = await sql.query<KnowledgeItem>(
    `SELECT ${ITEM_COLUMNS} FROM knowledge_items k WHERE k.org_id = $1 AND k.id = $2 AND k.deleted_at IS NULL ${LOCKS[mode]}`,
    [orgId, id],
  );
  return r.rows[0];
}

export interface ItemFilters {
  domain?: string | undefined;
  tag?: string | undefined;
  sourceAgentId?: string | undefined;
  minConfidence?: number | undefined;
}

/** Newest first; the caller asks for limit + 1 to learn whether another page follows. */
export async function listItems(sql: Sql, orgId: string, f: ItemFilters & { beforeId?: string | undefined; limit: number }): Promise<KnowledgeItem[]> {
  const params: unknown[] = [orgId, f.limit];
  const where = ['k.org_id = $1', 'k.deleted_at IS NULL'];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replaceAll('?', `$${params.length}`));
  };
  if (f.domain !== undefined) add('k.domain = ?', f.domain);
  if (f.tag !== undefined) add('k.tags @> ARRAY[?::text]', f.tag);
  if (f.sourceAgentId !== undefined) add('k.source_agent_id = ?', f.sourceAgentId);
  if (f.minConfidence !== undefined) add('k.confidence >= ?', f.minConfidence);
  // Keyset on the cursor row's own values, exact whatever the timestamp precision;
  // a cursor row deleted since still marks its place.
  if (f.beforeId !== undefined) add('(k.created_at, k.id) < (SELECT c.created_at, c.id FROM knowledge_items c WHERE c.org_id = $1 AND c.id = ?)', f.beforeId);
  const r = await sql.query<KnowledgeItem>(
    `SELECT ${ITEM_COLUMNS} FROM knowledge_items k WHERE ${where.join(' AND ')} ORDER BY k.created_at DESC, k.id DESC LIMIT $2`,
    params,
  );
  return r.rows;
}

export interface ItemPatch {
  domain?: string | undefined;
  content?: Record<string, unknown> | undefined;
  confidence?: number | null | undefined;
  tags?: readonly string[] | undefined;
}

/**
 * What happens to the stored embedding: `keep` it, `set` a new one, or
 * `clear` it (the text changed and there is nothing to embed it with now).
 * `vectors` says whether the embedding column exists.
 */
export type EmbeddingChange = { kind: 'keep' } | { kind: 'set'; embedding: StoredEmbedding } | { kind: 'clear'; vectors: boolean };

/** Optimistic update: undefined when no live row has this id and version. Every update is a new version. */
export async function updateItem(
  sql: Sql,
  orgId: string,
  id: string,
  version: number,
  patch: ItemPatch,
  embedding: EmbeddingChange,
): Promise<KnowledgeItem | undefined> {
  const params: unknown[] = [orgId, id, version];
  const sets = ['version = k.version + 1', 'updated_at = now()'];
  const set = (col: string, value: unknown, cast = '') => {
    params.push(value);
    sets.push(`${col} = $${params.length}${cast}`);
  };
  if (patch.domain !== undefined) set('domain', patch.domain);
  if (patch.content !== undefined) set('content', JSON.stringify(patch.content), '::jsonb');
  if (patch.confidence !== undefined) set('confidence', patch.confidence);
  if (patch.tags !== undefined) set('tags', patch.tags, '::text[]');
  if (embedding.kind === 'set') {
    set('embedding', embedding.embedding.vector, '::vector');
    set('embedding_model', embedding.embedding.model);
    set('embedding_dims', embedding.embedding.dims);
    sets.push('embedded_at = now()');
  } else if (embedding.kind === 'clear') {
    // Without the column (vectors off) a stale vector may stay behind, but
    // with no space named it is never compared with anything.
    if (embedding.vectors) sets.push('embedding = NULL');
    sets.push('embedding_model = NULL', 'embedding_dims = NULL', 'embedded_at = NULL');
  }
  const r = await sql.query<KnowledgeItem>(
    `UPDATE knowledge_items AS k SET ${sets.join(', ')}
     WHERE k.org_id = $1 AND k.id = $2 AND k.version = $3 AND k.deleted_at IS NULL RETURNING ${ITEM_COLUMNS}`,
    params,
  );
  return r.rows[0];
}

/** Soft delete: the row stays (transfers and metrics refer to it) but nothing finds it again. */
export async function softDeleteItem(sql: Sql, orgId: string, id: string): Promise<boolean> {
  const r = await sql.query(
    `UPDATE knowledge_items SET deleted_at = now(), updated_at = now(), version = version + 1
     WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
    [orgId, id],
  );
  return r.rowCount > 0;
}

/** What the knowledge module needs to know of an agent. */
export interface AgentInfo {
  id: string;
  slug: string;
  memoryEnabled: boolean;
  status: string;
}

/**
 * A live agent by id or slug (agents/agent-ref.ts decides which), share-locked
 * when asked so an archive, a memory switch-off or a delete waits for the
 * write that relies on it. Another organization's agent is not found (RLS).
 */
export async function findLiveAgent(sql: Sql, orgId: string, ref: string, lock = false): Promise<AgentInfo | undefined> {
  const key = isAgentId(ref) ? 'id = $2::uuid' : 'slug = $2';
  const r = await sql.query<AgentInfo>(
    `SELECT id, slug, memory_enabled AS "memoryEnabled", status FROM agents
     WHERE org_id = $1 AND ${key} AND deleted_at IS NULL${lock ? ' FOR SHARE' : ''}`,
    [orgId, ref],
  );
  return r.rows[0];
}
