import { getAgentVersion, slugify } from '../../agents/index.js';
import { appendAudit, type Actor } from '../../audit/index.js';
import { CACHE_TAGS, invalidateEveryOrganization } from '../../cache/index.js';
import { isPgError, uuidv7, type Sql } from '../../db/index.js';
import { badRequest, conflict, notFound, versionConflict } from '../../errors.js';
import type { MarketplaceDeps } from './deps.js';
import { isUuid } from './refs.js';
import * as repo from './listings-repo.js';
import type { ListingFields, ListingRow, ListingSource, ListingStatus } from './listings-repo.js';
import { stripSecrets, toolSummary } from './strip-secrets.js';

/**
 * An organization's own listings: publish an agent version, edit, submit for
 * review, delete. The review itself is a platform admin's (review-queue-service.ts).
 *
 * Status moves:
 *   draft ──submit──▶ pending_review ──approve──▶ approved
 *   rejected ──submit──▶ pending_review ──reject──▶ rejected
 *   approved ──edit──▶ pending_review (what is visible changed; it is reviewed again,
 *                                      and leaves the marketplace until approved)
 * Editing a draft, pending or rejected listing keeps its status; a suspended
 * listing cannot be edited (a platform decision).
 */

// Paths under /v1/marketplace/ that a slug would shadow.
const RESERVED_SLUGS = new Set(['listings', 'installs']);

export type NewListing = Omit<ListingFields, 'slug' | 'longDescription' | 'tags' | 'iconUrl' | 'screenshots' | 'demoVideoUrl' | 'pricingModel' | 'priceCents'>
  & Partial<ListingFields> & { agent: string; agentVersion?: string };
export type ListingPatch = Partial<ListingFields> & { agentVersion?: string; version: number };

const slugTaken = (slug: string) => conflict(`a marketplace listing with slug ${slug} already exists; choose another slug`, { field: 'slug', slug });

function assertSlug(slug: string): void {
  if (RESERVED_SLUGS.has(slug)) throw badRequest(`slug ${slug} is reserved; choose another`, { field: 'slug' });
  if (isUuid(slug)) throw badRequest('slug must not have the shape of a UUID: paths name a listing by id or slug', { field: 'slug' });
}

function assertPrice(model: string, price: number | null): void {
  if (model === 'free' && price !== null) throw badRequest('a free listing has no price; drop priceCents or choose a paid pricingModel', { field: 'priceCents' });
  if (model !== 'free' && price === null) throw badRequest(`a ${model} listing needs priceCents (a positive integer number of US cents)`, { field: 'priceCents' });
}

/** What a listing publishes of one version of the organization's agent (secrets stripped). */
async function sourceOf(deps: MarketplaceDeps, orgId: string, agentRef: string, version?: string): Promise<ListingSource> {
  const v = await getAgentVersion(deps, orgId, agentRef, version);
  const { config, stripped } = stripSecrets(v.config);
  return { agentId: v.agentId, agentVersionId: v.id, agentVersion: v.version, config, strippedSecrets: stripped, toolSummary: toolSummary(config) };
}

// What the audit log keeps of a listing: not its config (the version it came from has that).
const auditView = (l: ListingRow) => {
  const { config: _config, ...rest } = l;
  return rest;
};

export async function createListing(deps: MarketplaceDeps, actor: Actor, input: NewListing): Promise<ListingRow> {
  const slug = input.slug ?? slugify(input.title);
  assertSlug(slug);
  const pricingModel = input.pricingModel ?? 'free';
  const priceCents = input.priceCents ?? null;
  assertPrice(pricingModel, priceCents);
  const source = await sourceOf(deps, actor.orgId, input.agent, input.agentVersion);
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      const row = await repo.insertListing(sql, actor.orgId, uuidv7(), actor.userId, {
        slug, title: input.title, shortDescription: input.shortDescription, longDescription: input.longDescription ?? null,
        category: input.category, tags: input.tags ?? [], iconUrl: input.iconUrl ?? null, screenshots: input.screenshots ?? [],
        demoVideoUrl: input.demoVideoUrl ?? null, pricingModel, priceCents, ...source,
      });
      await appendAudit(sql, actor, { action: 'marketplace_listing.created', resourceType: 'marketplace_listing', resourceId: row.id, agentId: row.agentId, newValues: auditView(row) });
      return row;
    });
  } catch (err) {
    if (isPgError(err, '23505')) throw slugTaken(slug);
    throw err;
  }
}

export async function getListing(deps: MarketplaceDeps, orgId: string, id: string): Promise<ListingRow> {
  const row = await deps.db.tenant(orgId, (sql) => repo.getListing(sql, id));
  if (!row) throw notFound('marketplace listing', id);
  return row;
}

export function listListings(deps: MarketplaceDeps, orgId: string, f: Parameters<typeof repo.listListings>[1]): Promise<ListingRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listListings(sql, f));
}

async function lockOwn(sql: Sql, id: string, version: number): Promise<ListingRow> {
  const before = await repo.getListing(sql, id, true);
  if (!before) throw notFound('marketplace listing', id);
  if (before.version !== version) throw versionConflict('marketplace listing', version);
  return before;
}

export async function updateListing(deps: MarketplaceDeps, actor: Actor, id: string, input: ListingPatch): Promise<ListingRow> {
  const { version, agentVersion, ...fields } = input;
  if (fields.slug !== undefined) assertSlug(fields.slug);
  // A new version of the same agent is read before the transaction (versions never change).
  const current = await getListing(deps, actor.orgId, id);
  const source = agentVersion !== undefined ? await sourceOf(deps, actor.orgId, current.agentId, agentVersion) : undefined;
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      const before = await lockOwn(sql, id, version);
      // an approved listing changes (or goes back to review): the catalogue every organization reads
      await invalidateEveryOrganization(sql, actor.orgId, [CACHE_TAGS.marketplace]);
      if (before.status === 'suspended') throw conflict('this listing is suspended by the platform; it cannot be changed', { status: before.status });
      const pricingModel = fields.pricingModel ?? before.pricingModel;
      const priceCents = fields.priceCents !== undefined ? fields.priceCents : fields.pricingModel === 'free' ? null : before.priceCents;
      assertPrice(pricingModel, priceCents);
      const status: ListingStatus = before.status === 'approved' ? 'pending_review' : before.status;
      const after = await repo.updateListing(sql, id, version, { ...fields, pricingModel, priceCents, ...source }, status, status !== before.status);
      if (!after) throw versionConflict('marketplace listing', version);
      await appendAudit(sql, actor, {
        action: 'marketplace_listing.updated', resourceType: 'marketplace_listing', resourceId: id, agentId: after.agentId,
        oldValues: auditView(before), newValues: auditView(after),
      });
      return after;
    });
  } catch (err) {
    if (isPgError(err, '23505') && fields.slug !== undefined) throw slugTaken(fields.slug);
    throw err;
  }
}

/** draft or rejected → pending_review: a platform admin reviews it next. */
export async function submitListing(deps: MarketplaceDeps, actor: Actor, id: string, version: number): Promise<ListingRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await lockOwn(sql, id, version);
    await invalidateEveryOrganization(sql, actor.orgId, [CACHE_TAGS.marketplace]);
    if (before.status !== 'draft' && before.status !== 'rejected') {
      throw conflict(`a listing in status ${before.status} cannot be submitted; only draft and rejected listings can`, { status: before.status });
    }
    const after = (await repo.updateListing(sql, id, version, {}, 'pending_review', true))!;
    await appendAudit(sql, actor, {
      action: 'marketplace_listing.submitted', resourceType: 'marketplace_listing', resourceId: id, agentId: after.agentId,
      oldValues: { status: before.status, version: before.version }, newValues: { status: after.status, version: after.version },
    });
    return after;
  });
}

/** Soft delete: it leaves the marketplace; installed copies are the installers' own and stay. */
export async function deleteListing(deps: MarketplaceDeps, actor: Actor, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getListing(sql, id, true);
    if (!before) throw notFound('marketplace listing', id);
    await invalidateEveryOrganization(sql, actor.orgId, [CACHE_TAGS.marketplace]);
    await repo.softDeleteListing(sql, id);
    await appendAudit(sql, actor, { action: 'marketplace_listing.deleted', resourceType: 'marketplace_listing', resourceId: id, agentId: before.agentId, oldValues: auditView(before) });
  });
}
