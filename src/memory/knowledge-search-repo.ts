import type { Sql } from '../db/index.js';
import { ITEM_COLUMNS, type KnowledgeItem } from './knowledge-repo.js';
import { castType, indexedExpr, spacePredicate, type Space } from './space.js';

/**
 * Knowledge search in one SQL statement per request:
 * - text:   websearch_to_tsquery('english') against the generated
 *           search_vector (GIN, through knowledge_text_hits), ranked by ts_rank over at most TEXT_RANK_MAX matches;
 * - vector: cosine distance in one embedding space, ordered by the space's
 *           indexed expression so its partial HNSW index answers;
 * - hybrid: the text top-k and the vector top-k fused by reciprocal rank
 *           (score = Σ 1 / (60 + rank)), a FULL JOIN of the two.
 * Filters (domain, tags, minimum confidence) apply inside each top-k, so a
 * filter never empties a page the index could have filled.
 */

/** Reciprocal rank fusion's k: damps the head of each list (Cormack et al. 2009). */
export const RRF_K = 60;

/**
 * At most this many items matching the words are ranked (knowledge_text_hits):
 * a query matching more ranks the first ones found, in storage order (which
 * favours older items), and the answer says so (`partial`). Ranking reads every
 * matching row: a word in 9 % of a million items took 170 ms to rank in full
 * (5,000: 70 ms p95 over the bench's queries, 2,000: 44 ms, 1,000: 24 ms).
 * Like Sphinx's max_matches; more words or a filter narrow such a query.
 */
export const TEXT_RANK_MAX = 1000;

export interface SearchFilters {
  domain?: string | undefined;
  /** items must carry every one of these */
  tags?: readonly string[] | undefined;
  minConfidence?: number | undefined;
}

export type SearchPlan =
  | { mode: 'text'; query: string }
  | { mode: 'vector'; vector: string; space: Space }
  | { mode: 'hybrid'; query: string; vector: string; space: Space };

export interface SearchHit extends KnowledgeItem {
  score: number;
  /** 1-based rank in the full-text list, null when not in it */
  textRank: number | null;
  textScore: number | null;
  /** 1-based rank in the vector list, null when not in it */
  vectorRank: number | null;
  /** cosine distance (0 same direction, 2 opposite) */
  vectorDistance: number | null;
  /** how many full-text matches were ranked (TEXT_RANK_MAX when the ranking was partial) */
  textRanked: number;
}

/**
 * The statement and its parameters. Identifiers and literals come only from
 * space.ts (checked) and fixed strings; every value is a parameter.
 */
export function searchStatement(orgId: string, plan: SearchPlan, f: SearchFilters, limit: number, candidates: number): { text: string; params: unknown[] } {
  const params: unknown[] = [orgId, limit, candidates];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  // The vector list's filters; the text list's are applied by knowledge_text_hits.
  const vectorWhere = () => {
    const filters: string[] = ['k.org_id = $1', 'k.deleted_at IS NULL'];
    if (f.domain !== undefined) filters.push(`k.domain = ${p(f.domain)}`);
    if (f.tags?.length) filters.push(`k.tags @> ${p(f.tags)}::text[]`);
    if (f.minConfidence !== undefined) filters.push(`k.confidence >= ${p(f.minConfidence)}`);
    return filters.join(' AND ');
  };

  const ctes: string[] = [];
  if (plan.mode !== 'vector') {
    // knowledge_text_hits (migration 0016) matches with the GIN index, which
    // RLS keeps this role from using (@@ is not leakproof); it applies the
    // same filters and the tenant, and returns ids and scores that the join
    // below reads back under RLS.
    ctes.push(
      `text_hits AS (
         SELECT h.id, h.text_score, h.ranked FROM knowledge_text_hits(${p(plan.query)}::text, ${p(f.domain ?? null)}::text, ${p(f.tags?.length ? f.tags : null)}::text[],
           ${p(f.minConfidence ?? null)}::numeric, $3::int, ${p(TEXT_RANK_MAX)}::int) h)`,
      `text_ranked AS (SELECT id, text_score, row_number() OVER (ORDER BY text_score DESC, id) AS rnk FROM text_hits)`,
    );
  }
  if (plan.mode !== 'text') {
    const s = plan.space;
    const distance = `${indexedExpr('k', s)} <=> ${p(plan.vector)}::${castType(s.dims)}`;
    // MATERIALIZED: the index scan's LIMIT stays inside; the ranking re-sorts
    // by distance, since relaxed_order iterative scans may return rows slightly out of order.
    ctes.push(
      `vector_hits AS MATERIALIZED (
         SELECT k.id, ${distance} AS distance
         FROM knowledge_items k
         WHERE ${spacePredicate('k', s)} AND ${vectorWhere()}
         ORDER BY ${distance} LIMIT $3)`,
      `vector_ranked AS (SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS rnk FROM vector_hits)`,
    );
  }
  const fused = {
    text: `SELECT t.id, t.text_score::float8 AS score, t.rnk AS text_rank, t.text_score, NULL::bigint AS vector_rank, NULL::float8 AS distance
           FROM text_ranked t`,
    vector: `SELECT v.id, (1 - v.distance)::float8 AS score, NULL::bigint AS text_rank, NULL::real AS text_score, v.rnk AS vector_rank, v.distance
             FROM vector_ranked v`,
    hybrid: `SELECT coalesce(t.id, v.id) AS id,
               (coalesce(1.0 / (${RRF_K} + t.rnk), 0) + coalesce(1.0 / (${RRF_K} + v.rnk), 0))::float8 AS score,
               t.rnk AS text_rank, t.text_score, v.rnk AS vector_rank, v.distance
             FROM text_ranked t FULL JOIN vector_ranked v ON v.id = t.id`,
  }[plan.mode];
  ctes.push(`fused AS (${fused})`);
  const ranked = plan.mode === 'vector' ? '0' : '(SELECT max(ranked) FROM text_hits)';
  const text = `WITH ${ctes.join(',\n')}
    SELECT ${ITEM_COLUMNS}, f.score, f.text_rank::int AS "textRank", f.text_score::float8 AS "textScore",
      f.vector_rank::int AS "vectorRank", f.distance::float8 AS "vectorDistance", ${ranked}::int AS "textRanked"
    FROM fused f JOIN knowledge_items k ON k.id = f.id AND k.org_id = $1
    ORDER BY f.score DESC, k.id LIMIT $2`;
  return { text, params };
}

export async function searchItems(sql: Sql, orgId: string, plan: SearchPlan, f: SearchFilters, limit: number, candidates: number): Promise<SearchHit[]> {
  if (plan.mode !== 'text') {
    // pgvector 0.8: keep scanning the HNSW graph until the filters (and RLS)
    // have let `candidates` rows through, instead of stopping at ef_search.
    await sql.query(`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
  }
  const { text, params } = searchStatement(orgId, plan, f, limit, candidates);
  const r = await sql.query<SearchHit>(text, params);
  return r.rows;
}
