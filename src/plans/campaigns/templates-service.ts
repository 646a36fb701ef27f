import { appendAudit, type Actor } from '../../audit/index.js';
import { CACHE_TAGS, invalidate, readThrough } from '../../cache/index.js';
import { uuidv7 } from '../../db/index.js';
import { notFound, versionConflict } from '../../errors.js';
import type { PlanDetailView } from '../plans-service.js';
import { createCampaign } from './campaigns-service.js';
import { clock, type PlansDeps } from './deps.js';
import * as repo from './templates-repo.js';
import type { TemplateFields, TemplateFilter, TemplateRow } from './templates-repo.js';

/**
 * Campaign templates (seed 001): a theme, ideas and a channel mix that new
 * campaigns are made from. Seed 001 asks to cache them for an hour: reads go
 * through the query cache (tag campaign_templates), and every change drops
 * the organization's entries in its own transaction.
 */

const TEMPLATES = { tags: [CACHE_TAGS.campaignTemplates], ttlMs: 3_600_000 };

export type { TemplateFields, TemplateFilter, TemplateRow };
type Who = Actor & { userId: string };

const missing = (id: string) => notFound('campaign template', id);

export function createTemplate(deps: PlansDeps, actor: Who, f: TemplateFields): Promise<TemplateRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.insertTemplate(sql, actor.orgId, uuidv7(), actor.userId, f, clock(deps));
    await invalidate(sql, actor.orgId, [CACHE_TAGS.campaignTemplates]);
    await appendAudit(sql, actor, {
      action: 'campaign_template.created', resourceType: 'campaign_template', resourceId: row.id,
      newValues: { name: f.name, theme: f.theme, ideas: f.ideas.length, channels: f.channelMix.length, tags: f.tags, version: 1 },
    });
    return row;
  });
}

export async function getTemplate(deps: PlansDeps, orgId: string, id: string): Promise<TemplateRow> {
  const row = await deps.db.tenant(orgId, (sql) => readThrough(deps.cache, sql, orgId, { name: 'plans.template', params: { id }, ...TEMPLATES },
    async () => (await repo.getTemplate(sql, orgId, id)) ?? null));
  if (!row) throw missing(id);
  return row;
}

export function listTemplates(deps: PlansDeps, orgId: string, f: TemplateFilter): Promise<TemplateRow[]> {
  return deps.db.tenant(orgId, (sql) => readThrough(deps.cache, sql, orgId, { name: 'plans.templates', params: f, ...TEMPLATES },
    () => repo.listTemplates(sql, orgId, f)));
}

/** Changes the fields given (ideas and channelMix replace whole); a stale version is 409 version_conflict. */
export function updateTemplate(deps: PlansDeps, actor: Who, id: string, version: number, change: Partial<TemplateFields>): Promise<TemplateRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.getTemplate(sql, actor.orgId, id, true);
    if (!row) throw missing(id);
    if (row.version !== version) throw versionConflict(`campaign template ${id}`, version);
    const before: TemplateFields = { name: row.name, description: row.description, theme: row.theme, ideas: row.ideas, channelMix: row.channelMix, tags: row.tags };
    const after: TemplateFields = { ...before, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) };
    const changed = (Object.keys(after) as (keyof TemplateFields)[]).filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]));
    if (!changed.length) return row;
    const updated = await repo.updateTemplate(sql, actor.orgId, id, after, row.version + 1, clock(deps));
    await invalidate(sql, actor.orgId, [CACHE_TAGS.campaignTemplates]);
    await appendAudit(sql, actor, {
      action: 'campaign_template.updated', resourceType: 'campaign_template', resourceId: id,
      oldValues: { version: row.version, ...Object.fromEntries(changed.map((k) => [k, before[k]])) },
      newValues: { version: updated.version, ...Object.fromEntries(changed.map((k) => [k, after[k]])) },
    });
    return updated;
  });
}

/** Soft delete: campaigns made from it keep their templateId. */
export async function deleteTemplate(deps: PlansDeps, actor: Who, id: string, version?: number): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.getTemplate(sql, actor.orgId, id, true);
    if (!row) throw missing(id);
    if (version !== undefined && row.version !== version) throw versionConflict(`campaign template ${id}`, version);
    await repo.softDeleteTemplate(sql, actor.orgId, id, clock(deps));
    await invalidate(sql, actor.orgId, [CACHE_TAGS.campaignTemplates]);
    await appendAudit(sql, actor, { action: 'campaign_template.deleted', resourceType: 'campaign_template', resourceId: id, oldValues: { version: row.version, name: row.name } });
  });
}

export interface Instantiation {
  name: string;
  description?: string | null | undefined;
  startDate: string;
  endDate: string;
  totalBudget: number;
  expectedRoi: number;
  serviceId?: string | null | undefined;
}

/**
 * A new draft campaign with the template's theme, ideas and channel mix (fresh
 * ids), naming the template. The template is read in its own transaction
 * first; a template changed in between is named by the version read.
 */
export async function instantiateTemplate(deps: PlansDeps, actor: Who, id: string, over: Instantiation): Promise<PlanDetailView> {
  const t = await getTemplate(deps, actor.orgId, id);
  return createCampaign(deps, actor, {
    ...over,
    theme: t.theme,
    ideas: t.ideas,
    channelPlans: t.channelMix,
  }, { templateId: t.id, summary: `created from template "${t.name}" (${t.id}, version ${t.version})` });
}
