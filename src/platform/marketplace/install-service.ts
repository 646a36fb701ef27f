import { cloneAgentFromConfig, requireAgent, type ClonedTool } from '../../agents/index.js';
import { appendAudit, type Actor } from '../../audit/index.js';
import { CACHE_TAGS, invalidateEveryOrganization } from '../../cache/index.js';
import { isPgError, uuidv7, type Sql } from '../../db/index.js';
import { AppError, badRequest, conflict, notFound } from '../../errors.js';
import * as catalog from './catalog-repo.js';
import type { MarketplaceDeps } from './deps.js';
import * as installs from './installs-repo.js';
import type { InstallRow } from './installs-repo.js';
import { isUuid } from './refs.js';
import { stripSecrets } from './strip-secrets.js';

/**
 * Installing a listing: its published configuration is cloned into the
 * installing organization as a new agent — its stored tools created there,
 * the configuration published under the listing's semver and activated —
 * within the organization's agent limit, in one transaction with the
 * install record and its audit rows. Secrets and credentials never travel:
 * the listing's config had them stripped when it was published (and is
 * stripped again here); the response lists where, and which tools start
 * inactive because they need the installer's own configuration.
 *
 * Re-installing a listing the organization has installed is 409 while the
 * copy it made still exists (one install per organization and listing, as
 * seed 002's unique_install_per_org says; edit or delete the copy instead).
 * Once that copy is deleted, installing again makes a new copy on the same
 * install record, which the listing's install count does not count twice.
 */

export interface InstallOutcome {
  install: InstallRow;
  agent: { id: string; slug: string; name: string; status: string; currentVersion: string | null };
  tools: ClonedTool[];
  /** where secrets and credentials were removed from the configuration (supply your own) */
  strippedSecrets: string[];
  /** tools created inactive: configure them (an integration of yours) and activate them */
  inactiveTools: string[];
  /** true when this replaced a deleted copy of an earlier install */
  reinstalled: boolean;
  notice: string;
}

const NOTICE = 'Secrets and credentials are never copied from a listing: secret references, credential headers and keys were removed from the configuration (see strippedSecrets). Store your own secrets and add them to the tools that need them.';

async function copyStillExists(sql: Sql, agentId: string | null): Promise<boolean> {
  if (!agentId) return false;
  try {
    await requireAgent(sql, agentId);
    return true;
  } catch (err) {
    if (err instanceof AppError && err.status === 404) return false;
    throw err;
  }
}

export async function installListing(
  deps: MarketplaceDeps, actor: Actor, ref: string, input: { acceptPriceCents?: number | undefined },
): Promise<InstallOutcome> {
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      // the listing's install count, shown in the catalogue every organization reads
      await invalidateEveryOrganization(sql, actor.orgId, [CACHE_TAGS.marketplace]);
      const id = isUuid(ref) ? ref : (await catalog.publicListing(sql, { slug: ref }))?.id;
      const source = id ? await catalog.installSource(sql, id) : undefined;
      if (!id || !source) throw notFound('marketplace listing', ref);
      if (source.priceCents !== null && input.acceptPriceCents !== source.priceCents) {
        throw badRequest(
          `this listing is ${source.pricingModel} at ${source.priceCents} US cents; send acceptPriceCents: ${source.priceCents} to accept the price`,
          { field: 'acceptPriceCents', priceCents: source.priceCents, pricingModel: source.pricingModel },
        );
      }
      const existing = await installs.lockInstall(sql, id);
      if (existing && (await copyStillExists(sql, existing.clonedAgentId))) {
        throw conflict(`this organization has installed ${source.slug} already (agent ${existing.clonedAgentId}); delete that agent to install it again`, {
          installId: existing.id, agentId: existing.clonedAgentId,
        });
      }
      const { config, stripped } = stripSecrets(source.config);
      const strippedSecrets = [...new Set([...source.strippedSecrets, ...stripped])];
      const clone = await cloneAgentFromConfig(sql, deps, actor, {
        config, version: source.agentVersion, changelog: `Installed from the marketplace listing ${source.slug} (${source.agentVersion})`,
      });
      const fields = { installedBy: actor.userId, clonedAgentId: clone.agent.id, agentVersion: source.agentVersion, priceCents: source.priceCents };
      const install = existing
        ? await installs.reinstall(sql, existing.id, fields)
        : await installs.insertInstall(sql, actor.orgId, { id: uuidv7(), listingId: id, ...fields });
      await appendAudit(sql, actor, {
        action: existing ? 'marketplace.reinstalled' : 'marketplace.installed', resourceType: 'marketplace_install', resourceId: install.id,
        agentId: clone.agent.id, newValues: { listingId: id, slug: source.slug, agentVersion: source.agentVersion, priceCents: source.priceCents, strippedSecrets },
      });
      const inactive = Array.isArray(config.tools)
        ? (config.tools as Array<Record<string, unknown>>).filter((t) => t && t.isActive === false).map((t) => String(t.name))
        : [];
      const a = clone.agent;
      return {
        install,
        agent: { id: a.id, slug: a.slug, name: a.name, status: a.status, currentVersion: a.currentVersion },
        tools: clone.tools,
        strippedSecrets,
        inactiveTools: inactive,
        reinstalled: existing !== undefined,
        notice: NOTICE,
      };
    });
  } catch (err) {
    // Two installs of one listing by one organization at once: the unique constraint decides.
    if (isPgError(err, '23505')) throw conflict('this organization is installing this listing already; fetch GET /v1/marketplace/installs');
    throw err;
  }
}

export function listInstalls(deps: MarketplaceDeps, orgId: string, before: { installedAt: string; id: string } | undefined, limit: number): Promise<InstallRow[]> {
  return deps.db.tenant(orgId, (sql) => installs.listInstalls(sql, before, limit));
}
