import { isUuid } from './refs.js';
import { notFound } from '../../errors.js';
import * as catalog from './catalog-repo.js';
import type { BrowseFilter, PublicListing, PublicReview } from './catalog-repo.js';
import type { MarketplaceDeps } from './deps.js';

/**
 * Browsing the marketplace: approved listings of every organization. The
 * reads run in the caller's tenant transaction (its RLS applies to anything
 * else), through the definer functions of catalog-repo.ts.
 */

export function browseListings(deps: MarketplaceDeps, orgId: string, f: BrowseFilter): Promise<Array<PublicListing & { rank: number }>> {
  return deps.db.tenant(orgId, (sql) => catalog.browse(sql, f));
}

/** An approved listing by id or slug; anything else (a draft, another's unapproved listing) is 404 alike. */
export async function getPublicListing(deps: MarketplaceDeps, orgId: string, ref: string): Promise<PublicListing> {
  const l = await deps.db.tenant(orgId, (sql) => catalog.publicListing(sql, isUuid(ref) ? { id: ref } : { slug: ref }));
  if (!l) throw notFound('marketplace listing', ref);
  return l;
}

export async function listPublicReviews(
  deps: MarketplaceDeps, orgId: string, ref: string, after: { createdAt: string; id: string } | undefined, limit: number,
): Promise<PublicReview[]> {
  const listing = await getPublicListing(deps, orgId, ref);
  return deps.db.tenant(orgId, (sql) => catalog.listingReviews(sql, listing.id, after, limit));
}
