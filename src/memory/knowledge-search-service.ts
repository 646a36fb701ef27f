import { AppError } from '../errors.js';
import { VECTOR_UNAVAILABLE_HINT } from './capability.js';
import { embedText } from './knowledge-embedding.js';
import * as repo from './knowledge-search-repo.js';
import type { SearchFilters, SearchHit, SearchPlan } from './knowledge-search-repo.js';
import type { MemoryModule } from './module.js';

export type { SearchHit } from './knowledge-search-repo.js';

export const SEARCH_MODES = ['hybrid', 'text', 'vector'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/**
 * How deep each list of a hybrid search goes: past the page, so an item
 * ranked modestly by both lists can still make it to the top after fusion.
 */
export const candidatesFor = (limit: number): number => Math.min(200, Math.max(4 * limit, 40));

export interface SearchInput extends SearchFilters {
  query: string;
  mode: SearchMode;
  limit: number;
}

export interface SearchResult {
  /** what ran: a hybrid search of an org that embeds nothing runs as text */
  mode: SearchMode;
  /** the space the query was embedded in, when vectors took part */
  space: { model: string; dims: number } | null;
  /** the words matched more than TEXT_RANK_MAX items and only the first found were ranked */
  partial: boolean;
  items: SearchHit[];
}

function vectorUnavailable(m: MemoryModule): AppError {
  if (!m.vectors) return new AppError(409, 'vector_unavailable', `vector search is not available: ${VECTOR_UNAVAILABLE_HINT}`);
  return new AppError(
    409,
    'vector_unavailable',
    'vector search is not available: this organization embeds nothing (its memory embedder is none); '
      + 'configure an embedder, or search with mode "text" or "hybrid"',
  );
}

/**
 * Best first. The query is embedded before the transaction opens (it may be
 * a network call); hybrid falls back to text when there is nothing to embed with.
 */
export async function searchKnowledge(m: MemoryModule, orgId: string, input: SearchInput): Promise<SearchResult> {
  const filters: SearchFilters = { domain: input.domain, tags: input.tags, minConfidence: input.minConfidence };
  let plan: SearchPlan = { mode: 'text', query: input.query };
  if (input.mode !== 'text') {
    const embedder = m.vectors ? await m.embedderFor(orgId) : null;
    if (!embedder && input.mode === 'vector') throw vectorUnavailable(m);
    if (embedder) {
      const e = await embedText(embedder, input.query);
      const space = { model: e.model, dims: e.dims };
      plan = input.mode === 'vector' ? { mode: 'vector', vector: e.vector, space } : { mode: 'hybrid', query: input.query, vector: e.vector, space };
    }
  }
  // A single list needs no more than the page; fusion looks deeper.
  const candidates = plan.mode === 'hybrid' ? candidatesFor(input.limit) : input.limit;
  const items = await m.db.tenantRead(orgId, (sql) => repo.searchItems(sql, orgId, plan, filters, input.limit, candidates));
  const partial = items.some((i) => i.textRanked >= repo.TEXT_RANK_MAX);
  return { mode: plan.mode, space: plan.mode === 'text' ? null : plan.space, partial, items };
}
