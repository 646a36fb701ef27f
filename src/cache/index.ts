import type { Sql } from '../db/index.js';
import { invalidateTags } from './cache-repo.js';
import type { QueryCache, ReadSpec } from './query-cache.js';

/**
 * The query cache (seed 004 query_cache): a read-through cache of expensive
 * reads, in PostgreSQL, per organization (RLS: a tenant reads only its own
 * entries). Generic: the modules that read decide what to cache and with which
 * tags, and invalidate those tags in the transactions that change the data.
 *
 * Terminology:
 * - entry:        one cached answer, keyed by (organization, SHA-256 of the
 *                 read's name and the stable JSON of its parameters).
 * - tag:          a name for the data an answer depends on (costs,
 *                 marketplace, campaign_templates); an invalidation drops every
 *                 entry holding any of its tags.
 * - invalidation: a DELETE plus a marker with the writer's transaction id, in
 *                 the writer's transaction; an entry computed under a snapshot
 *                 that could not see a marker of its tags is never served, so
 *                 once a write returns no reader sees the answer from before it.
 * - hit ratio:    hits / (hits + misses), counted per organization and UTC day
 *                 (query_cache_stats), folded in memory and written ~every second.
 *
 * This module imports only db (and no other module), so any module may use it.
 */

export { cacheKey, stableJson } from './cache-key.js';
export { CACHE_TAGS } from './tags.js';
export type { CacheFigures } from './cache-repo.js';
export {
  createQueryCache,
  maintainQueryCache,
  DEFAULT_CACHE_MAX_BYTES,
  MAX_TTL_MS,
  type MaintainResult,
  type Outcome,
  type OutcomeDetail,
  type OutcomeListener,
  type QueryCache,
  type QueryCacheOptions,
  type ReadSpec,
} from './query-cache.js';

/**
 * Drops the organization's entries with any of these tags, in the caller's
 * transaction (the one that changes the data): one statement.
 */
export function invalidate(sql: Sql, orgId: string, tags: readonly string[]): Promise<void> {
  return invalidateTags(sql, orgId, tags);
}

/**
 * The same for every organization's entries with these tags (data every
 * tenant reads, e.g. the marketplace catalogue): this tenant's are deleted,
 * the others' are no longer served from the commit on.
 */
export function invalidateEveryOrganization(sql: Sql, orgId: string, tags: readonly string[]): Promise<void> {
  return invalidateTags(sql, orgId, tags, true);
}

/**
 * `cache.cached(…)` when there is a cache, else `compute()`: for modules whose
 * deps carry the cache optionally (tests and tools build them without one).
 */
export function readThrough<T>(
  cache: QueryCache | undefined, sql: Sql, orgId: string, spec: ReadSpec, compute: () => Promise<T>,
): Promise<T> {
  return cache ? cache.cached(sql, orgId, spec, compute) : compute();
}
