import type { Embedder } from './embedders/types.js';

/**
 * SQL fragments for one embedding space. The model name and dimensions are
 * inlined as literals, not parameters, on purpose: PostgreSQL uses a partial
 * index only when the query's WHERE implies the index predicate at plan time,
 * and a `$n` parameter in a generic plan implies nothing. Both are checked
 * here (dims an integer in range, the model quoted as a literal), so nothing
 * a tenant sends reaches the SQL text unescaped.
 */
export interface Space {
  model: string;
  dims: number;
}

export const MAX_DIMS = 4000;
/** HNSW indexes `vector` up to 2,000 dimensions; above that the space is indexed as halfvec. */
const VECTOR_INDEX_MAX_DIMS = 2000;

export function spaceOf(e: Pick<Embedder, 'model' | 'dims'>): Space {
  return { model: e.model, dims: e.dims };
}

function checkDims(dims: number): number {
  if (!Number.isInteger(dims) || dims < 1 || dims > MAX_DIMS) throw new Error(`embedding dimensions must be 1..${MAX_DIMS}, got ${dims}`);
  return dims;
}

/** A SQL string literal (standard_conforming_strings is on in every supported PostgreSQL). */
export function sqlLiteral(s: string): string {
  if (s.includes('\0')) throw new Error('a NUL byte cannot be in an embedding model name');
  return `'${s.replaceAll("'", "''")}'`;
}

/** The type the space's vectors are cast to, matching its HNSW index expression. */
export function castType(dims: number): string {
  checkDims(dims);
  return dims <= VECTOR_INDEX_MAX_DIMS ? `vector(${dims})` : `halfvec(${dims})`;
}

/** `embedding::vector(N)` on `alias`: the indexed expression. */
export function indexedExpr(alias: string, s: Space): string {
  return `${alias}.embedding::${castType(s.dims)}`;
}

/** The partial index predicate of the space, on `alias`. */
export function spacePredicate(alias: string, s: Space): string {
  return `${alias}.embedding_model = ${sqlLiteral(s.model)} AND ${alias}.embedding_dims = ${checkDims(s.dims)}`;
}

/** A vector as pgvector's text input ('[0.1,0.2,…]'), sent as a parameter. */
export function vectorText(v: readonly number[]): string {
  for (const x of v) if (!Number.isFinite(x)) throw new Error('an embedding holds a non-finite number');
  return `[${v.join(',')}]`;
}
