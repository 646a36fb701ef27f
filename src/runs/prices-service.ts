import { appendAudit, type Actor } from '../audit/index.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { RunsDeps } from './deps.js';
import * as repo from './prices-repo.js';
import type { NewPrice, PriceScope } from './prices-repo.js';

export function listPrices(deps: RunsDeps, orgId: string, scope: PriceScope, provider?: string) {
  return deps.db.tenant(orgId, (sql) => repo.listPrices(sql, scope, provider));
}

/**
 * Adds an organization price. It takes effect for spans that start at or
 * after effectiveFrom; spans already priced keep the price they were priced
 * with (the ledger holds it), so history never changes under a new price.
 */
export function createPrice(deps: RunsDeps, actor: Actor, p: NewPrice) {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const bad = await repo.patternError(sql, p.modelPattern);
    if (bad) throw badRequest(`modelPattern is not a valid regular expression: ${bad}`, { field: 'modelPattern' });
    const row = await repo.insertPrice(sql, actor.orgId, p);
    await appendAudit(sql, actor, { action: 'model_price.create', resourceType: 'model_price', resourceId: row.id, newValues: row });
    return row;
  });
}

export function deletePrice(deps: RunsDeps, actor: Actor, id: string) {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.getPrice(sql, id);
    if (!row) throw notFound('model price', id);
    if (row.scope === 'default') {
      throw conflict('a shipped default price cannot be deleted: add an organization price for the model to override it');
    }
    await repo.deletePrice(sql, id);
    await appendAudit(sql, actor, { action: 'model_price.delete', resourceType: 'model_price', resourceId: id, oldValues: row });
  });
}

export function resolvePrice(deps: RunsDeps, orgId: string, model: string, provider: string | undefined, at: string) {
  return deps.db.tenant(orgId, async (sql) => {
    const row = await repo.resolvePrice(sql, model, provider, at);
    if (!row) throw notFound(`a price for ${provider ? `${provider}/` : ''}${model} at ${at}`);
    return row;
  });
}

/** The price in force for a model at an instant, or undefined when none matches (the ledger then records no cost). */
export function findModelPrice(deps: RunsDeps, orgId: string, model: string, at: string) {
  return deps.db.tenant(orgId, (sql) => repo.resolvePrice(sql, model, undefined, at));
}
