import { appendAudit, type Actor } from '../../audit/index.js';
import { CACHE_TAGS, invalidate, readThrough } from '../../cache/index.js';
import type { Sql } from '../../db/index.js';
import { isPgError, uuidv7 } from '../../db/index.js';
import { conflict, notFound, versionConflict } from '../../errors.js';
import { clock, type PlansDeps } from './deps.js';
import * as repo from './services-repo.js';
import type { CatalogRow, ServiceFields, ServiceFilter, ServiceRow } from './services-repo.js';

const CATALOG = { tags: [CACHE_TAGS.services], ttlMs: 3_600_000 };

async function withCounts(sql: Sql, orgId: string, rows: readonly CatalogRow[]): Promise<ServiceRow[]> {
  const counts = await repo.activeCampaignCounts(sql, orgId, rows.map((r) => r.id));
  return rows.map((r) => ({ ...r, activeCampaigns: counts.get(r.id) ?? 0 }));
}

/**
 * The services catalog (seed 001 services). Seed 001 asks to cache it for an
 * hour: the catalogue entries are read through the query cache (tag
 * services), and every change of a service drops the organization's entries
 * in its own transaction. activeCampaigns is not cached: campaigns change
 * status far more often than the catalogue changes, so it is counted live
 * for the entries returned (one grouped, indexed query) and merged in.
 */

export type { ServiceFields, ServiceFilter, ServiceRow };

const missing = (id: string) => notFound('service', id);

/** A unique-name violation is a 409 naming the name; anything else goes on to the error boundary. */
async function uniqueName<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isPgError(err, '23505')) throw conflict(`a service named "${name}" already exists in this organization (names are compared case-insensitively)`, { field: 'name' });
    throw err;
  }
}

export function createService(deps: PlansDeps, actor: Actor, f: ServiceFields): Promise<ServiceRow> {
  return uniqueName(f.name, () => deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.insertService(sql, actor.orgId, uuidv7(), f, clock(deps));
    await invalidate(sql, actor.orgId, [CACHE_TAGS.services]);
    await appendAudit(sql, actor, { action: 'service.created', resourceType: 'service', resourceId: row.id, newValues: { ...f, version: 1 } });
    return row;
  }));
}

export async function getService(deps: PlansDeps, orgId: string, id: string): Promise<ServiceRow> {
  const row = await deps.db.tenant(orgId, async (sql) => {
    const entry = await readThrough(deps.cache, sql, orgId, { name: 'plans.service', params: { id }, ...CATALOG },
      async () => (await repo.getCatalogEntry(sql, orgId, id)) ?? null);
    return entry ? (await withCounts(sql, orgId, [entry]))[0] : undefined;
  });
  if (!row) throw missing(id);
  return row;
}

export function listServices(deps: PlansDeps, orgId: string, f: ServiceFilter): Promise<ServiceRow[]> {
  return deps.db.tenant(orgId, async (sql) =>
    withCounts(sql, orgId, await readThrough(deps.cache, sql, orgId, { name: 'plans.services', params: f, ...CATALOG }, () => repo.listCatalog(sql, orgId, f))));
}

const fieldsOf = (r: ServiceRow): ServiceFields => ({
  name: r.name, category: r.category, description: r.description, targetAudience: r.targetAudience,
  keyBenefits: r.keyBenefits, marketMentions: r.marketMentions, competitors: r.competitors,
});

/** Changes the fields given; the others keep their values. A stale version is 409 version_conflict. */
export function updateService(deps: PlansDeps, actor: Actor, id: string, version: number, change: Partial<ServiceFields>): Promise<ServiceRow> {
  return uniqueName(change.name ?? '', () => deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.lockService(sql, actor.orgId, id);
    if (!row) throw missing(id);
    if (row.version !== version) throw versionConflict(`service ${id}`, version);
    const before = fieldsOf(row);
    const after: ServiceFields = { ...before, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) };
    const changed = (Object.keys(after) as (keyof ServiceFields)[]).filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]));
    if (!changed.length) return row;
    await repo.updateService(sql, actor.orgId, id, after, row.version + 1, clock(deps));
    await invalidate(sql, actor.orgId, [CACHE_TAGS.services]);
    await appendAudit(sql, actor, {
      action: 'service.updated', resourceType: 'service', resourceId: id,
      oldValues: { version: row.version, ...Object.fromEntries(changed.map((k) => [k, before[k]])) },
      newValues: { version: row.version + 1, ...Object.fromEntries(changed.map((k) => [k, after[k]])) },
    });
    return (await repo.getService(sql, actor.orgId, id))!;
  }));
}

/**
 * Soft delete: it leaves the catalog and cannot be named again. A service that
 * live campaigns still name is refused (409): every change of a campaign
 * checks that its service exists, so deleting it would freeze them.
 */
export async function deleteService(deps: PlansDeps, actor: Actor, id: string, version?: number): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.lockService(sql, actor.orgId, id);
    if (!row) throw missing(id);
    if (version !== undefined && row.version !== version) throw versionConflict(`service ${id}`, version);
    const naming = await repo.campaignsNaming(sql, actor.orgId, id);
    if (naming > 0) {
      throw conflict(`service ${id} is named by ${naming} campaign${naming === 1 ? '' : 's'}; point them at another service (or none), or delete them, first`, { campaigns: naming });
    }
    await repo.softDeleteService(sql, actor.orgId, id, clock(deps));
    await invalidate(sql, actor.orgId, [CACHE_TAGS.services]);
    await appendAudit(sql, actor, { action: 'service.deleted', resourceType: 'service', resourceId: id, oldValues: { version: row.version, name: row.name } });
  });
}
