import { appendAudit, type Actor } from '../../audit/index.js';
import { CACHE_TAGS, invalidateEveryOrganization } from '../../cache/index.js';
import { uuidv7 } from '../../db/index.js';
import { conflict, notFound } from '../../errors.js';
import { appendPlatformAudit } from '../admins/index.js';
import * as catalog from './catalog-repo.js';
import type { AdminListing } from './catalog-repo.js';
import type { MarketplaceDeps } from './deps.js';
import * as repo from './listings-repo.js';
import type { ListingRow, ListingStatus } from './listings-repo.js';

/**
 * The platform admins' side of the review flow. Callers are checked by the
 * route (requirePlatformAdmin); these functions trust that. An admin sees a
 * listing's own fields and what it would publish, nothing else of the
 * organization, and decides pending_review → approved | rejected with a
 * reason. The decision is written in the publisher's tenant transaction
 * (its RLS applies), with an audit row in the publisher's chain (so it sees
 * who decided and why) and one in platform_audit, in the same transaction.
 */

export function reviewQueue(
  deps: MarketplaceDeps, status: ListingStatus, after: { createdAt: string; id: string } | undefined, limit: number,
): Promise<AdminListing[]> {
  // No tenant: the definer function reads across organizations; the app role reads nothing else here.
  return deps.db.transaction((sql) => catalog.adminListings(sql, status, after, limit));
}

export interface Decision {
  decision: 'approve' | 'reject';
  reason: string;
}

export async function reviewListing(
  deps: MarketplaceDeps, admin: Omit<Actor, 'orgId'> & { userId: string }, id: string, d: Decision,
): Promise<AdminListing> {
  const orgId = await deps.db.transaction((sql) => catalog.listingOrg(sql, id));
  if (!orgId) throw notFound('marketplace listing', id);
  return deps.db.tenant(orgId, async (sql) => {
    const before = await repo.getListing(sql, id, true);
    if (!before) throw notFound('marketplace listing', id);
    // approved, rejected or suspended: the catalogue every organization reads changes
    await invalidateEveryOrganization(sql, orgId, [CACHE_TAGS.marketplace]);
    if (before.status !== 'pending_review') {
      throw conflict(`only a listing in review can be decided; this one is ${before.status}`, { status: before.status });
    }
    const status = d.decision === 'approve' ? 'approved' : 'rejected';
    const after = (await repo.setReview(sql, id, status, d.reason, admin.userId))!;
    // In the publisher's chain, as the admin user (not a member: the row says so).
    const actor: Actor = { ...admin, orgId, apiKeyId: null, sessionId: admin.sessionId ?? null };
    await appendAudit(sql, actor, {
      action: `marketplace_listing.${status}`, resourceType: 'marketplace_listing', resourceId: id, agentId: after.agentId,
      oldValues: { status: before.status, version: before.version },
      newValues: { status: after.status, version: after.version, reason: d.reason, reviewedBy: 'platform_admin' },
    });
    await appendPlatformAudit(sql, {
      id: uuidv7(), actor: `user:${admin.userId}`, actorUserId: admin.userId, action: `marketplace_listing.${status}`,
      resourceType: 'marketplace_listing', resourceId: id, orgId, details: { slug: after.slug, reason: d.reason, requestId: admin.requestId ?? null },
    });
    return adminView(after);
  });
}

/** The admin's view of a listing row: the same fields the queue shows. */
function adminView(l: ListingRow): AdminListing {
  return {
    id: l.id, slug: l.slug, title: l.title, shortDescription: l.shortDescription, longDescription: l.longDescription,
    category: l.category, tags: l.tags, iconUrl: l.iconUrl, screenshots: l.screenshots, demoVideoUrl: l.demoVideoUrl,
    pricingModel: l.pricingModel, priceCents: l.priceCents, agentVersion: l.agentVersion, tools: l.toolSummary, config: l.config,
    status: l.status, reviewNotes: l.reviewNotes, submittedAt: l.submittedAt, reviewedAt: l.reviewedAt, publishedAt: l.publishedAt,
    createdAt: l.createdAt, updatedAt: l.updatedAt,
  };
}
