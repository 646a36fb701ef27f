import type { Embedder } from './embedders/types.js';
import type { StoredEmbedding } from './knowledge-repo.js';
import type { MemoryModule } from './module.js';
import { spaceOf, vectorText, type Space } from './space.js';

/**
 * Embedding for knowledge: what text of an item is embedded, embedding it,
 * and making sure the space's HNSW index exists before the first row of the
 * space is written.
 */

/** The text an item's embedding and search vector are made from: its title and description. */
export function itemText(content: Record<string, unknown>): string {
  const title = typeof content.title === 'string' ? content.title : '';
  const description = typeof content.description === 'string' ? content.description : '';
  return `${title}\n${description}`;
}

/** What a transfer writes into the target agent's memory. */
export function memoryText(content: Record<string, unknown>): string {
  const title = typeof content.title === 'string' ? content.title : '';
  const description = typeof content.description === 'string' ? content.description : '';
  return description ? `${title}\n\n${description}` : title;
}

export const sameSpace = (a: { embeddingModel: string | null; embeddingDims: number | null }, s: Space): boolean =>
  a.embeddingModel === s.model && a.embeddingDims === s.dims;

/** One text embedded; refuses a vector whose length is not the embedder's dims (it would fail the table's CHECK). */
export async function embedText(embedder: Embedder, text: string): Promise<StoredEmbedding> {
  const { vectors } = await embedder.embed([text]);
  const v = vectors[0];
  if (!v || v.length !== embedder.dims) {
    throw new Error(`embedder ${embedder.model} returned a vector of ${v?.length ?? 0} dimensions, not ${embedder.dims}`);
  }
  const space = spaceOf(embedder);
  return { vector: vectorText(v), model: space.model, dims: space.dims };
}

/** Spaces whose index this process has ensured, per database (tests run several). */
const ensured = new WeakMap<object, Set<string>>();

/**
 * Creates the partial HNSW index of a space (memory_ensure_vector_index) if
 * missing, once per process and space. Runs as the owner outside any tenant
 * transaction: it is DDL and touches no tenant rows.
 */
export async function ensureVectorIndex(m: MemoryModule, table: 'knowledge_items' | 'agent_memories', space: Space): Promise<void> {
  let done = ensured.get(m.db);
  if (!done) ensured.set(m.db, (done = new Set()));
  const key = `${table}\u0000${space.model}\u0000${space.dims}`;
  if (done.has(key)) return;
  await m.db.admin.query('SELECT memory_ensure_vector_index($1, $2, $3)', [table, space.model, space.dims]);
  done.add(key);
}
