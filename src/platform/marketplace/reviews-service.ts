import { appendAudit, type Actor } from '../../audit/index.js';
import { CACHE_TAGS, invalidateEveryOrganization } from '../../cache/index.js';
import { uuidv7 } from '../../db/index.js';
import { conflict, notFound } from '../../errors.js';
import * as catalog from './catalog-repo.js';
import type { MarketplaceDeps } from './deps.js';
import * as installs from './installs-repo.js';
import { isUuid } from './refs.js';
import * as repo from './reviews-repo.js';
import type { ReviewFields, ReviewRow } from './reviews-repo.js';

/**
 * Reviews: a rating 1–5 with optional text, one per organization and
 * listing, only from an organization that installed the listing (so every
 * review is a verified install), never from its publisher. Writing again
 * replaces the organization's review (200; the first write is 201). The
 * listing's rating_sum/rating_count (and so rating_average) are kept by the
 * table's triggers in the same transaction, exactly, under concurrency.
 */

async function approvedListing(deps: MarketplaceDeps, orgId: string, ref: string) {
  return deps.db.tenant(orgId, async (sql) => {
    const id = isUuid(ref) ? ref : (await catalog.publicListing(sql, { slug: ref }))?.id;
    const source = id ? await catalog.installSource(sql, id) : undefined;
    if (!source) throw notFound('marketplace listing', ref);
    return source;
  });
}

export async function writeReview(
  deps: MarketplaceDeps, actor: Actor, ref: string, f: ReviewFields,
): Promise<ReviewRow & { created: boolean }> {
  const listing = await approvedListing(deps, actor.orgId, ref);
  if (listing.own) throw conflict('an organization cannot review its own listing');
  return deps.db.tenant(actor.orgId, async (sql) => {
    // the listing's rating, shown in the catalogue every organization reads
    await invalidateEveryOrganization(sql, actor.orgId, [CACHE_TAGS.marketplace]);
    if (!(await installs.findInstall(sql, listing.id))) {
      throw conflict(`only an organization that installed ${listing.slug} can review it; install it first (POST /v1/marketplace/${listing.slug}/install)`);
    }
    const before = await repo.getReview(sql, listing.id);
    const row = await repo.upsertReview(sql, actor.orgId, uuidv7(), listing.id, actor.userId, f, true);
    await appendAudit(sql, actor, {
      action: row.created ? 'marketplace_review.created' : 'marketplace_review.updated', resourceType: 'marketplace_review',
      resourceId: row.id, oldValues: before, newValues: { listingId: listing.id, rating: row.rating, title: row.title, body: row.body },
    });
    return row;
  });
}

export async function getOwnReview(deps: MarketplaceDeps, orgId: string, ref: string): Promise<ReviewRow> {
  const listing = await approvedListing(deps, orgId, ref);
  const row = await deps.db.tenant(orgId, (sql) => repo.getReview(sql, listing.id));
  if (!row) throw notFound(`this organization's review of ${listing.slug}`);
  return row;
}

export async function deleteOwnReview(deps: MarketplaceDeps, actor: Actor, ref: string): Promise<void> {
  const listing = await approvedListing(deps, actor.orgId, ref);
  await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.deleteReview(sql, listing.id);
    await invalidateEveryOrganization(sql, actor.orgId, [CACHE_TAGS.marketplace]);
    if (!before) throw notFound(`this organization's review of ${listing.slug}`);
    await appendAudit(sql, actor, { action: 'marketplace_review.deleted', resourceType: 'marketplace_review', resourceId: before.id, oldValues: before });
  });
}
