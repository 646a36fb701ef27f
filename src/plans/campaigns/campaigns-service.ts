import type { Actor } from '../../audit/index.js';
import { uuidv7 } from '../../db/index.js';
import { AppError, notFound, validationFailed } from '../../errors.js';
import { planRollups } from '../../runs/index.js';
import { serviceExists, withChildIds } from '../plan-details-repo.js';
import { assertCampaignTransition, CampaignDetails, PlanCore, type CampaignIdea, type CampaignStatus, type ChannelPlan, type PlanDocument } from '../plan-document.js';
import { changePlan, getPlan, insertPlanDocument, parseAt, type PlanDetailView, type PlanView } from '../plans-service.js';
import { allocationGuard } from './allocation-guard.js';
import * as repo from './campaigns-repo.js';
import type { CampaignFilter } from './campaigns-repo.js';
import { clock, type PlansDeps } from './deps.js';

/**
 * Campaigns (seed 001): a plan of kind 'campaign'. Every change goes through
 * changePlan, so it is checked against the version the caller read, recorded
 * as the plan's next version and audited in the same transaction.
 */

type Who = Actor & { userId: string };

export interface NewCampaign {
  name: string;
  description?: string | null | undefined;
  theme: string;
  startDate: string;
  endDate: string;
  totalBudget: number;
  expectedRoi: number;
  serviceId?: string | null | undefined;
  metrics?: Record<string, unknown> | undefined;
  ideas?: unknown[] | undefined;
  channelPlans?: unknown[] | undefined;
  status?: CampaignStatus | undefined;
}

const notCampaign = (id: string) => notFound('campaign', id);

/** Inserts a campaign plan (version 1, audited) and answers it as GET /v1/campaigns/{id} does. */
export async function createCampaign(
  deps: PlansDeps, actor: Who, input: NewCampaign, opts: { templateId?: string; summary?: string; where?: string } = {},
): Promise<PlanDetailView> {
  const where = opts.where ?? 'body';
  const { name, description, ...fields } = input;
  const doc: PlanDocument = {
    kind: 'campaign',
    plan: parseAt(PlanCore, { title: name, description: description ?? null }, where),
    campaign: withChildIds(parseAt(CampaignDetails, { ...fields, templateId: opts.templateId ?? null }, where) as CampaignDetails),
  };
  const id = await allocationGuard(() => deps.db.tenant(actor.orgId, async (sql) => {
    const serviceId = doc.campaign!.serviceId;
    if (serviceId && !(await serviceExists(sql, actor.orgId, serviceId))) {
      throw validationFailed(`serviceId ${serviceId} names no service of this organization`, [{ path: `${where}.serviceId`, message: 'names no service of this organization' }]);
    }
    const row = await insertPlanDocument(sql, actor, doc, clock(deps), opts.summary ? { summary: opts.summary } : {});
    return row.id;
  }), `${where}.channelPlans`);
  return getPlan(deps, actor.orgId, id);
}

/** The plan view of a campaign (with its ideas, channel plans, costs and activity); another kind of plan is not found. */
export async function getCampaign(deps: PlansDeps, orgId: string, id: string): Promise<PlanDetailView> {
  const p = await getPlan(deps, orgId, id).catch((err) => {
    if (err instanceof AppError && err.status === 404) throw notCampaign(id);
    throw err;
  });
  if (p.kind !== 'campaign') throw notCampaign(id);
  return p;
}

export function listCampaigns(deps: PlansDeps, orgId: string, f: CampaignFilter) {
  return deps.db.tenant(orgId, async (sql) => {
    const rows = await repo.listCampaigns(sql, orgId, f);
    const costs = await planRollups(sql, orgId, rows.map((r) => r.id));
    return rows.map((r) => ({ ...r, costs: costs.get(r.id) ?? { costUsd: 0, totalTokens: 0, promptTokens: 0, completionTokens: 0, spans: 0, executions: 0 } }));
  });
}

interface CampaignChange {
  campaign: CampaignDetails;
  summary?: string;
}

/** One change of a campaign as the next version of its plan. */
async function changeCampaign(
  deps: PlansDeps, actor: Who, id: string, version: number, action: string,
  change: (c: CampaignDetails) => CampaignChange,
): Promise<PlanView> {
  const kind = await deps.db.tenant(actor.orgId, (sql) => repo.planKind(sql, actor.orgId, id));
  if (kind !== 'campaign') throw notCampaign(id);
  return allocationGuard(() => changePlan(deps, actor, id, version, (doc) => {
    if (doc.kind !== 'campaign' || !doc.campaign) throw notCampaign(id);
    const next = change(doc.campaign);
    const campaign = withChildIds(parseAt(CampaignDetails, next.campaign, 'body') as CampaignDetails);
    return { document: { ...doc, campaign }, ...(next.summary ? { summary: next.summary } : {}) };
  }, { action }));
}

export function addIdea(deps: PlansDeps, actor: Who, id: string, version: number, idea: Omit<CampaignIdea, 'id'>): Promise<PlanView> {
  return changeCampaign(deps, actor, id, version, 'campaign.idea_added', (c) => ({
    campaign: { ...c, ideas: [...c.ideas, { ...idea, id: uuidv7() }] },
    summary: `added idea "${idea.theme}"`,
  }));
}

export function removeIdea(deps: PlansDeps, actor: Who, id: string, version: number, ideaId: string): Promise<PlanView> {
  return changeCampaign(deps, actor, id, version, 'campaign.idea_removed', (c) => {
    const idea = c.ideas.find((i) => i.id.toLowerCase() === ideaId.toLowerCase());
    if (!idea) throw notFound(`idea of campaign ${id}`, ideaId);
    return { campaign: { ...c, ideas: c.ideas.filter((i) => i !== idea) }, summary: `removed idea "${idea.theme}"` };
  });
}

type NewChannel = Omit<ChannelPlan, 'id'> & { id?: string | undefined };

export function replaceChannels(deps: PlansDeps, actor: Who, id: string, version: number, channels: NewChannel[]): Promise<PlanView> {
  return changeCampaign(deps, actor, id, version, 'campaign.channels_replaced', (c) => {
    const total = channels.reduce((s, p) => s + Math.round(p.budgetAllocation * 100), 0) / 100;
    const mix = channels.map((p) => `${p.channel} ${p.budgetAllocation} %`).join(', ');
    return {
      campaign: { ...c, channelPlans: channels as ChannelPlan[] },
      summary: channels.length ? `channel mix replaced: ${mix} (${total} % allocated)`.slice(0, 2000) : 'channel mix cleared',
    };
  });
}

export function addFeedback(
  deps: PlansDeps, actor: Who, id: string, version: number, f: { rating?: number | null | undefined; comment: string },
): Promise<PlanView> {
  return changeCampaign(deps, actor, id, version, 'campaign.feedback_added', (c) => ({
    campaign: { ...c, feedbackHistory: [...c.feedbackHistory, { at: clock(deps).toISOString(), userId: actor.userId, rating: f.rating ?? null, comment: f.comment }] },
    summary: f.rating ? `feedback added (rating ${f.rating})` : 'feedback added',
  }));
}

export function setStatus(deps: PlansDeps, actor: Who, id: string, version: number, status: CampaignStatus): Promise<PlanView> {
  return changeCampaign(deps, actor, id, version, 'campaign.status_changed', (c) => {
    assertCampaignTransition(c.status, status);
    return { campaign: { ...c, status }, summary: `status: ${c.status} → ${status}` };
  });
}
