import { isUuid } from './refs.js';
import { CACHE_TAGS, readThrough } from '../../cache/index.js';
import { notFound } from '../../errors.js';
import * as catalog from './catalog-repo.js';
import type { BrowseFilter, PublicListing, PublicReview } from './catalog-repo.js';
import type { MarketplaceDeps } from './deps.js';

/**
 * Browsing the marketplace: approved listings of every organization. The
 * reads run in the caller's tenant transaction (its RLS applies to anything
 * else), through the definer functions of catalog-repo.ts.
 */

/** Seed 001: the catalogue changes rarely; cached for an hour, dropped on every change (publish, review, rating, install). */
const CATALOGUE = { tags: [CACHE_TAGS.marketplace], ttlMs: 3_600_000 };

export function browseListings(deps: MarketplaceDeps, orgId: string, f: BrowseFilter): Promise<Array<PublicListing & { rank: number }>> {
  return deps.db.tenant(orgId, (sql) =>
    readThrough(deps.cache, sql, orgId, { name: 'marketplace.browse', params: f, ...CATALOGUE }, () => catalog.browse(sql, f)));
}

/** An approved listing by id or slug; anything else (a draft, another's unapproved listing) is 404 alike. */
export async function getPublicListing(deps: MarketplaceDeps, orgId: string, ref: string): Promise<PublicListing> {
  const by = isUuid(ref) ? { id: ref } : { slug: ref };
  const l = await deps.db.tenant(orgId, (sql) =>
    readThrough(deps.cache, sql, orgId, { name: 'marketplace.listing', params: by, ...CATALOGUE }, async () => (await catalog.publicListing(sql, by)) ?? null));
  if (!l) throw notFound('marketplace listing', ref);
  return l;
}

export async function listPublicReviews(
  deps: MarketplaceDeps, orgId: string, ref: string, after: { createdAt: string; id: string } | undefined, limit: number,
): Promise<PublicReview[]> {
  const listing = await getPublicListing(deps, orgId, ref);
  return deps.db.tenant(orgId, (sql) => catalog.listingReviews(sql, listing.id, after, limit));
}
