import type { Sql } from '../db/index.js';
import { MEMORY_COLUMNS, memoryWhere, type MemoryFilter, type MemoryRow } from './memories-repo.js';
import { castType, indexedExpr, spacePredicate, vectorText, type Space } from './space.js';

/**
 * Hybrid retrieval in one statement: the vector top-k (HNSW over the agent's
 * space) and the full-text top-k, fused by reciprocal rank (RRF, k = 60: a
 * row's fused value is the sum of w/(60 + its rank) over the lists it is in),
 * then weighted by importance and recency:
 *
 *   score = rrf / rrfMax × (0.5 + importance) / 1.5 × (0.5 + 0.5 × 2^(−age × relevanceDecay / halfLife))
 *
 * so a score is in 0..1, the best possible being a row first in every list,
 * of importance 1, that just happened. Importance and recency only re-order
 * what retrieval found; they never bring in a row neither list matched.
 *
 * w is 1 in the text list and the cosine similarity (clipped at 0) in the
 * vector list. Plain RRF drops magnitudes, and with k = 60 ranks 1 and 2 differ
 * by under 2 %: a vector list always has k rows, however unrelated, so an
 * important but unrelated memory ranked second would outrank the answer.
 * Weighting by similarity keeps rank fusion's robustness to the two lists'
 * different scales while an unrelated vector hit contributes next to nothing.
 *
 * Full text uses OR semantics (any of the query's words), ranked by ts_rank
 * (how often the words occur): a question rarely shares all its words with
 * the memory answering it, and RRF only needs the order. Not ts_rank_cd
 * (cover density): with common words in the query it matches most of an
 * agent's rows, and cover density cost ~4 µs a row against ts_rank's
 * fraction of that, most of a 1M-row hybrid search's time.
 */
export const RRF_K = 60;

/**
 * Up to this many rows in the agent's space, the vector list is an exact scan
 * of the agent's rows instead of the HNSW index. The index spans every
 * agent's (and tenant's) rows of the space; filtered down to one agent that
 * holds a small share of them, the iterative scan returns approximate
 * neighbours (recall@10 0.77 measured at 1M rows over 100 agents) and visits
 * more pages than the agent has: the exact scan was faster there and is
 * exact. Above it, one agent dominates what the graph holds and HNSW wins.
 * `npm run bench -- memory` measures both sides.
 */
export const EXACT_SCAN_MAX_ROWS = 20_000;

/**
 * Whether the agent has at most `max` rows in the space: a count capped at
 * max + 1 over the (org, agent, model, dims) btree, superseded rows included
 * (an upper bound is enough), so it costs at most max index entries.
 */
export async function spaceRowsAtMost(sql: Sql, orgId: string, agentId: string, space: Space, max: number): Promise<boolean> {
  const r = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM agent_memories m WHERE m.org_id = $1 AND m.agent_id = $2 AND ${spacePredicate('m', space)} LIMIT $3) x`,
    [orgId, agentId, max + 1],
  );
  return r.rows[0]!.n <= max;
}

/** Search looks at live memories only: superseded and expired ones are never returned. */
export type SearchFilter = Omit<MemoryFilter, 'includeSuperseded' | 'includeExpired'>;

export interface SearchQuery {
  text: string | null;
  /** exact: scan the agent's rows instead of the HNSW index; by default, exact up to EXACT_SCAN_MAX_ROWS rows in the space */
  vector: { space: Space; values: readonly number[]; exact?: boolean } | null;
  filter: SearchFilter;
  /** how many each list contributes */
  candidates: number;
  limit: number;
  halfLifeDays: number;
}

export interface SearchHit extends MemoryRow {
  score: number;
  vectorRank: number | null;
  textRank: number | null;
  similarity: number | null;
  textScore: number | null;
  importanceFactor: number;
  recencyFactor: number;
}

/** Conditions every list shares: the agent's live memories, and the caller's filters. */
function baseWhere(params: unknown[], orgId: string, agentId: string, f: SearchFilter): string {
  return memoryWhere(params, orgId, agentId, { ...f, includeSuperseded: false, includeExpired: false }).join(' AND ');
}

export async function searchMemories(sql: Sql, orgId: string, agentId: string, q: SearchQuery): Promise<SearchHit[]> {
  const params: unknown[] = [];
  const where = baseWhere(params, orgId, agentId, q.filter);
  params.push(q.candidates);
  const k = `$${params.length}`;
  const lists: string[] = [];
  const ctes: string[] = [];
  const exact = q.vector ? (q.vector.exact ?? (await spaceRowsAtMost(sql, orgId, agentId, q.vector.space, EXACT_SCAN_MAX_ROWS))) : false;
  // The tsquery is written out where it is used, not joined in from a CTE:
  // as an expression of the parameter it folds to a constant at plan time, so
  // the planner estimates the match count from search_vector's statistics (a
  // CTE column is opaque: every query was estimated alike). The GIN index on
  // search_vector is out of reach here: under RLS a condition that is not
  // leakproof (@@ is not) cannot be an index condition (see migration 0016),
  // so the text list reads the agent's rows through its btree and matches
  // each; bounded by the agent's size, unlike knowledge search over a whole
  // organization, which goes through a SECURITY DEFINER function for it.
  const tsqOf = (p: string) => `replace(plainto_tsquery('english', ${p})::text, ' & ', ' | ')::tsquery`;
  if (q.vector && exact && q.text !== null) {
    // Hybrid over an exact scan: the vector list reads every row of the agent
    // anyway, so the text list is computed in the same pass instead of a
    // second visit to the same heap pages (which made hybrid cost text +
    // vector). The distance is null for rows outside the space (no embedding,
    // or another model's), which still count for text.
    params.push(vectorText(q.vector.values), q.text);
    const v = `$${params.length - 1}::${castType(q.vector.space.dims)}`;
    const tsq = tsqOf(`$${params.length}`);
    ctes.push(
      `pass AS MATERIALIZED (
        SELECT m.id,
               CASE WHEN ${spacePredicate('m', q.vector.space)} THEN ${indexedExpr('m', q.vector.space)} <=> ${v} END AS d,
               CASE WHEN m.search_vector @@ ${tsq} THEN ts_rank(m.search_vector, ${tsq}) END AS rank
          FROM agent_memories m WHERE ${where})`,
      `vec AS (SELECT id, d, row_number() OVER (ORDER BY d, id) AS r FROM (
        SELECT id, d FROM pass WHERE d IS NOT NULL ORDER BY d, id LIMIT ${k}) x)`,
      `txt AS (SELECT id, rank, row_number() OVER (ORDER BY rank DESC, id) AS r FROM (
        SELECT id, rank FROM pass WHERE rank IS NOT NULL ORDER BY rank DESC, id LIMIT ${k}) y)`,
    );
    lists.push(
      `SELECT id, r, greatest(1 - d, 0) AS w, r AS vr, NULL::bigint AS tr, 1 - d AS sim, NULL::real AS ts FROM vec`,
      `SELECT id, r, 1::float8 AS w, NULL::bigint AS vr, r AS tr, NULL::float8 AS sim, rank::real AS ts FROM txt`,
    );
  } else {
    if (q.vector) {
      const cast = castType(q.vector.space.dims);
      params.push(vectorText(q.vector.values));
      const v = `$${params.length}::${cast}`;
      if (!exact) {
        // relaxed_order: pgvector 0.8 keeps scanning the graph until k rows pass
        // the filters (the agent's rows among every tenant's), in nearly-sorted
        // order; the row_number below restores the exact order.
        await sql.query(`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', $1, true)`, [
          String(Math.min(1000, Math.max(40, q.candidates))),
        ]);
      }
      // Exact: `+ 0` makes the ORDER BY an expression the HNSW index cannot
      // answer, so the planner reads the agent's rows by its btree and sorts them.
      const distance = `${indexedExpr('m', q.vector.space)} <=> ${v}`;
      const order = exact ? `(${distance}) + 0` : distance;
      ctes.push(`vec AS (
        SELECT id, d, row_number() OVER (ORDER BY d, id) AS r FROM (
          SELECT m.id, ${indexedExpr('m', q.vector.space)} <=> ${v} AS d FROM agent_memories m
           WHERE ${where} AND ${spacePredicate('m', q.vector.space)}
           ORDER BY ${order} LIMIT ${k}) x)`);
      lists.push(`SELECT id, r, greatest(1 - d, 0) AS w, r AS vr, NULL::bigint AS tr, 1 - d AS sim, NULL::real AS ts FROM vec`);
    }
    if (q.text !== null) {
      params.push(q.text);
      const tsq = tsqOf(`$${params.length}`);
      ctes.push(`txt AS (
        SELECT id, rank, row_number() OVER (ORDER BY rank DESC, id) AS r FROM (
          SELECT m.id, ts_rank(m.search_vector, ${tsq}) AS rank FROM agent_memories m
           WHERE ${where} AND m.search_vector @@ ${tsq}
           ORDER BY rank DESC, m.id LIMIT ${k}) y)`);
      lists.push(`SELECT id, r, 1::float8 AS w, NULL::bigint AS vr, r AS tr, NULL::float8 AS sim, rank::real AS ts FROM txt`);
    }
  }
  if (lists.length === 0) return [];
  params.push(q.halfLifeDays, q.limit, lists.length / (RRF_K + 1));
  const [half, limit, rrfMax] = [`$${params.length - 2}`, `$${params.length - 1}`, `$${params.length}`];
  const r = await sql.query<SearchHit>(
    `WITH ${ctes.join(',\n')},
     fused AS (
       SELECT id, sum(w / (${RRF_K} + r)) AS rrf, min(vr) AS vr, min(tr) AS tr, max(sim) AS sim, max(ts) AS ts
         FROM (${lists.join(' UNION ALL ')}) u GROUP BY id),
     scored AS (
       SELECT f.*, (0.5 + m.importance_score) / 1.5 AS imp,
              0.5 + 0.5 * power(2::float8, -greatest(0, extract(epoch FROM now() - m.occurred_at)) / 86400.0
                                             * m.relevance_decay / ${half}::float8) AS rec
         FROM fused f JOIN agent_memories m ON m.id = f.id)
     SELECT ${MEMORY_COLUMNS}, (s.rrf / ${rrfMax}::float8 * s.imp * s.rec)::float8 AS score,
            s.vr::int AS "vectorRank", s.tr::int AS "textRank", s.sim::float8 AS similarity, s.ts::float8 AS "textScore",
            s.imp::float8 AS "importanceFactor", s.rec::float8 AS "recencyFactor"
       FROM scored s JOIN agent_memories m ON m.id = s.id
      ORDER BY score DESC, m.id
      LIMIT ${limit}`,
    params,
  );
  return r.rows;
}

/**
 * The agent's live memory nearest to a vector in its space, with cosine
 * similarity: what deduplication compares a new fact with.
 */
export async function nearestMemory(
  sql: Sql,
  orgId: string,
  agentId: string,
  space: Space,
  vector: readonly number[],
  memoryTypes: readonly string[],
): Promise<{ id: string; similarity: number } | undefined> {
  const params: unknown[] = [];
  const where = baseWhere(params, orgId, agentId, { memoryTypes });
  params.push(vectorText(vector));
  const v = `$${params.length}::${castType(space.dims)}`;
  await sql.query(`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
  const r = await sql.query<{ id: string; similarity: number }>(
    `SELECT m.id, (1 - (${indexedExpr('m', space)} <=> ${v}))::float8 AS similarity FROM agent_memories m
      WHERE ${where} AND ${spacePredicate('m', space)}
      ORDER BY ${indexedExpr('m', space)} <=> ${v} LIMIT 1`,
    params,
  );
  return r.rows[0];
}
