import type { z } from 'zod';
import { appendAudit, type Actor } from '../audit/index.js';
import type { QueryCache } from '../cache/index.js';
import { emitEvent } from '../events/index.js';
import { uuidv7, type Database, type Sql } from '../db/index.js';
import { AppError, notFound, validationFailed, versionConflict } from '../errors.js';
import { planActivity, planRollups, type PlanActivity, type PlanRollup } from '../runs/index.js';
import { documentPatch, documentSummary } from './plan-diff.js';
import { readCampaign, readTravel, serviceExists, travelDuration, withChildIds, writeDetails } from './plan-details-repo.js';
import {
  assertCampaignTransition, CampaignDetails, kindProblem, PlanCore, TravelDetails, type PlanDocument, type PlanKind,
} from './plan-document.js';
import * as repo from './plans-repo.js';
import type { PlanFilter, PlanRow } from './plans-repo.js';
import * as versions from './plan-versions-repo.js';

export interface PlansDeps {
  db: Database;
  now?: () => Date;
  /** the query cache of campaign templates; without it they are read every time */
  cache?: QueryCache;
}
const clock = (deps: PlansDeps) => deps.now?.() ?? new Date();

export type PlanView = PlanRow & {
  travel?: TravelDetails & { durationDays: number | null };
  campaign?: CampaignDetails;
  costs: PlanRollup;
};
export type PlanDetailView = PlanView & { activity: PlanActivity };

const NO_COSTS: PlanRollup = { costUsd: 0, totalTokens: 0, promptTokens: 0, completionTokens: 0, spans: 0, executions: 0 };
const SUMMARY_LINES = 20;

/** Parses a value against a document schema; a failure is a 400 naming the fields under `where`. */
export function parseAt<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw validationFailed(`${where} is invalid`, r.error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    message: i.message,
  })));
}

const coreOf = (row: PlanRow): PlanCore => ({
  title: row.title, description: row.description, status: row.status, completionPercentage: row.completionPercentage,
  userRating: row.userRating, userFeedback: row.userFeedback, planData: row.planData, isTemplate: row.isTemplate,
  isPublic: row.isPublic, isActive: row.isActive,
});

/** The plan's current document, read from its tables (jsonb-normalised, so it compares equal to a stored version). */
export async function readDocument(sql: Sql, orgId: string, row: PlanRow): Promise<PlanDocument> {
  const doc: PlanDocument = { kind: row.kind, plan: coreOf(row) };
  if (row.kind === 'travel') doc.travel = await readTravel(sql, orgId, row.id);
  if (row.kind === 'campaign') doc.campaign = await readCampaign(sql, orgId, row.id);
  return doc;
}

/** The plan as the API shows it; `doc` when the caller has just read (or written) its document. */
async function view(sql: Sql, orgId: string, row: PlanRow, rollup?: PlanRollup, doc?: PlanDocument): Promise<PlanView> {
  doc ??= await readDocument(sql, orgId, row);
  const costs = rollup ?? (await planRollups(sql, orgId, [row.id])).get(row.id) ?? NO_COSTS;
  return {
    ...row,
    ...(doc.travel ? { travel: { ...doc.travel, durationDays: await travelDuration(sql, orgId, row.id) } } : {}),
    ...(doc.campaign ? { campaign: doc.campaign } : {}),
    costs,
  };
}

async function checkReferences(sql: Sql, orgId: string, doc: PlanDocument): Promise<void> {
  const problem = kindProblem(doc);
  if (problem) throw validationFailed(problem, [{ path: 'body', message: problem }]);
  // A foreign key is checked without row-level security: another organization's service must read as missing.
  const serviceId = doc.campaign?.serviceId;
  if (serviceId && !(await serviceExists(sql, orgId, serviceId))) {
    throw validationFailed(`service ${serviceId} does not exist`, [{ path: 'body.campaign.serviceId', message: 'names no service of this organization' }]);
  }
}

const versionActor = (a: Actor) => ({ userId: a.userId, apiKeyId: a.apiKeyId ?? null });

export interface NewPlanInput {
  kind: PlanKind;
  core: unknown;
  travel?: unknown;
  campaign?: unknown;
  templatePlanId?: string | null;
}

/** Validates a new plan's parts into a document (the details of its kind default where the kind allows). */
export function newDocument(input: NewPlanInput): PlanDocument {
  const doc: PlanDocument = { kind: input.kind, plan: parseAt(PlanCore, input.core, 'body') };
  if (input.travel !== undefined || input.kind === 'travel') doc.travel = parseAt(TravelDetails, input.travel ?? {}, 'body.travel');
  if (input.campaign !== undefined) doc.campaign = withChildIds(parseAt(CampaignDetails, input.campaign, 'body.campaign') as CampaignDetails);
  return doc;
}

/** Inserts a plan with its document as version 1, in the caller's transaction. */
export async function insertPlanDocument(
  sql: Sql, actor: Actor & { userId: string }, doc: PlanDocument, at: Date, opts: { templatePlanId?: string | null; summary?: string } = {},
): Promise<PlanRow> {
  await checkReferences(sql, actor.orgId, doc);
  const row = await repo.insertPlan(sql, actor.orgId, { id: uuidv7(), userId: actor.userId, kind: doc.kind, core: doc.plan, templatePlanId: opts.templatePlanId ?? null, at });
  await writeDetails(sql, actor.orgId, row.id, doc);
  const stored = await readDocument(sql, actor.orgId, row);
  const summary = opts.summary ?? 'created';
  await versions.insertVersion(sql, actor.orgId, { planId: row.id, version: 1, document: stored, summary, restoredFrom: null, ...versionActor(actor), at });
  await appendAudit(sql, actor, { action: 'plan.created', resourceType: 'plan', resourceId: row.id, newValues: { kind: row.kind, title: row.title, version: 1, summary } });
  return row;
}

export async function createPlan(deps: PlansDeps, actor: Actor & { userId: string }, input: NewPlanInput): Promise<PlanView> {
  const doc = newDocument(input);
  return deps.db.tenant(actor.orgId, async (sql) => view(sql, actor.orgId, await insertPlanDocument(sql, actor, doc, clock(deps), { templatePlanId: input.templatePlanId ?? null })));
}

export async function getPlan(deps: PlansDeps, orgId: string, id: string): Promise<PlanDetailView> {
  return deps.db.tenant(orgId, async (sql) => {
    const row = await repo.getPlan(sql, orgId, id);
    if (!row) throw notFound('plan', id);
    return { ...(await view(sql, orgId, row)), activity: await planActivity(sql, orgId, id) };
  });
}

export async function listPlans(deps: PlansDeps, orgId: string, f: PlanFilter): Promise<PlanView[]> {
  return deps.db.tenant(orgId, async (sql) => {
    const rows = await repo.listPlans(sql, orgId, f);
    const rollups = await planRollups(sql, orgId, rows.map((r) => r.id));
    const out: PlanView[] = [];
    for (const r of rows) out.push(await view(sql, orgId, r, rollups.get(r.id) ?? NO_COSTS));
    return out;
  });
}

export interface ChangeResult {
  document: PlanDocument;
  /** a summary to record instead of the computed one */
  summary?: string;
}

/**
 * The one way a plan changes: lock it, check the version the caller read,
 * apply `change` to its document, write the result back and record it as the
 * next version (with audit), all in one transaction. A change that leaves
 * the document as it was records nothing and answers the plan as it is.
 */
export async function changePlan(
  deps: PlansDeps,
  actor: Actor & { userId: string },
  planId: string,
  expectedVersion: number,
  change: (doc: PlanDocument, sql: Sql) => ChangeResult | Promise<ChangeResult>,
  opts: { action?: string; restoredFrom?: number; auditNewValues?: Record<string, unknown> } = {},
): Promise<PlanView> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.lockPlan(sql, actor.orgId, planId);
    if (!row) throw notFound('plan', planId);
    if (row.version !== expectedVersion) throw versionConflict(`plan ${planId}`, expectedVersion);
    const before = await readDocument(sql, actor.orgId, row);
    const next = await change(structuredClone(before), sql);
    const doc = next.document;
    await checkReferences(sql, actor.orgId, doc);
    const at = clock(deps);
    const updated = await repo.updatePlan(sql, actor.orgId, planId, doc.plan, row.version + 1, at);
    await writeDetails(sql, actor.orgId, planId, doc);
    const after = await readDocument(sql, actor.orgId, updated);
    const lines = documentSummary(before, after);
    if (!lines.length) throw new NoChange();
    const summary = next.summary ?? summarize(lines);
    await versions.insertVersion(sql, actor.orgId, { planId, version: updated.version, document: after, summary, restoredFrom: opts.restoredFrom ?? null, ...versionActor(actor), at });
    await appendAudit(sql, actor, {
      action: opts.action ?? 'plan.updated', resourceType: 'plan', resourceId: planId,
      oldValues: { version: row.version }, newValues: { version: updated.version, summary, ...(opts.restoredFrom ? { restoredFrom: opts.restoredFrom } : {}), ...opts.auditNewValues },
    });
    await emitEvent(sql, actor.orgId, 'plan.version.created', { planId, version: updated.version, summary, restoredFrom: opts.restoredFrom ?? null });
    return view(sql, actor.orgId, updated, undefined, after);
  }).catch(async (err) => {
    // Nothing changed: the transaction rolled back; answer the plan as it stands.
    if (err instanceof NoChange) return { ...(await getPlan(deps, actor.orgId, planId)) };
    throw err;
  });
}

class NoChange extends Error {}

function summarize(lines: string[]): string {
  const shown = lines.slice(0, SUMMARY_LINES).join('; ');
  return lines.length > SUMMARY_LINES ? `${shown}; and ${lines.length - SUMMARY_LINES} more` : shown;
}

export interface PlanPatch {
  version: number;
  core: Partial<PlanCore>;
  travel?: Record<string, unknown> | undefined;
  campaign?: Record<string, unknown> | undefined;
}

/** Merges a patch into the document: top-level fields replace, details merge field by field, arrays replace whole. */
export function updatePlan(
  deps: PlansDeps, actor: Actor & { userId: string }, planId: string, p: PlanPatch, opts: { auditNewValues?: Record<string, unknown> } = {},
): Promise<PlanView> {
  return changePlan(deps, actor, planId, p.version, (doc) => {
    const next: PlanDocument = { ...doc, plan: parseAt(PlanCore, { ...doc.plan, ...p.core }, 'body') };
    if (p.travel !== undefined) {
      if (doc.kind !== 'travel') throw validationFailed(`travel details belong to plans of kind travel, not ${doc.kind}`, [{ path: 'body.travel', message: 'not a travel plan' }]);
      next.travel = parseAt(TravelDetails, { ...doc.travel, ...p.travel }, 'body.travel');
    }
    if (p.campaign !== undefined) {
      if (doc.kind !== 'campaign') throw validationFailed(`campaign details belong to plans of kind campaign, not ${doc.kind}`, [{ path: 'body.campaign', message: 'not a campaign' }]);
      next.campaign = withChildIds(parseAt(CampaignDetails, { ...doc.campaign, ...p.campaign }, 'body.campaign') as CampaignDetails);
      assertCampaignTransition(doc.campaign!.status, next.campaign.status);
    }
    return { document: next };
  }, opts);
}

/** Soft delete: the plan and its versions stay in the database (and in the audit log), and stop being served. */
export async function deletePlan(deps: PlansDeps, actor: Actor & { userId: string }, planId: string, expectedVersion?: number): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.lockPlan(sql, actor.orgId, planId);
    if (!row) throw notFound('plan', planId);
    if (expectedVersion !== undefined && row.version !== expectedVersion) throw versionConflict(`plan ${planId}`, expectedVersion);
    await repo.softDeletePlan(sql, actor.orgId, planId, clock(deps));
    await appendAudit(sql, actor, { action: 'plan.deleted', resourceType: 'plan', resourceId: planId, oldValues: { version: row.version, title: row.title } });
  });
}

export async function listVersions(deps: PlansDeps, orgId: string, planId: string, f: { beforeVersion?: number | undefined; limit: number }) {
  return deps.db.tenant(orgId, async (sql) => {
    if (!(await repo.getPlan(sql, orgId, planId))) throw notFound('plan', planId);
    return versions.listVersions(sql, orgId, planId, f);
  });
}

export async function getVersion(deps: PlansDeps, orgId: string, planId: string, version: number) {
  return deps.db.tenant(orgId, async (sql) => {
    if (!(await repo.getPlan(sql, orgId, planId))) throw notFound('plan', planId);
    const v = await versions.getVersion(sql, orgId, planId, version);
    if (!v) throw new AppError(404, 'not_found', `plan ${planId} has no version ${version}`);
    return v;
  });
}

/** Writes version n's document back as the next version; the versions after n stay in the history. */
export function restoreVersion(deps: PlansDeps, actor: Actor & { userId: string }, planId: string, n: number, expectedVersion: number): Promise<PlanView> {
  return changePlan(deps, actor, planId, expectedVersion, async (_doc, sql) => {
    const v = await versions.getVersion(sql, actor.orgId, planId, n);
    if (!v) throw new AppError(404, 'not_found', `plan ${planId} has no version ${n}`);
    return { document: v.document, summary: `restored version ${n}` };
  }, { action: 'plan.restored', restoredFrom: n });
}

/** A new plan from a template plan: its document with fresh child ids, as a draft, not a template. */
export async function instantiatePlan(deps: PlansDeps, actor: Actor & { userId: string }, templateId: string, over: { title?: string | undefined }): Promise<PlanView> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const t = await repo.getPlan(sql, actor.orgId, templateId);
    if (!t) throw notFound('plan', templateId);
    if (!t.isTemplate) throw new AppError(409, 'conflict', `plan ${templateId} is not a template; set isTemplate on it first`);
    const src = await readDocument(sql, actor.orgId, t);
    const doc: PlanDocument = {
      ...src,
      plan: { ...src.plan, title: over.title ?? src.plan.title, isTemplate: false, isPublic: false, status: 'draft', completionPercentage: 0, userRating: null, userFeedback: null },
      ...(src.campaign ? { campaign: withChildIds({ ...src.campaign, ideas: src.campaign.ideas.map(({ id: _, ...i }) => i), channelPlans: src.campaign.channelPlans.map(({ id: _, ...c }) => c) } as CampaignDetails) } : {}),
    };
    const row = await insertPlanDocument(sql, actor, doc, clock(deps), { templatePlanId: t.id, summary: `created from template plan ${t.id} (version ${t.version})` });
    return view(sql, actor.orgId, row);
  });
}

/** The RFC 6902 patch from version `from` to version `to` (either order) and what changed, in words. */
export async function diffVersions(deps: PlansDeps, orgId: string, planId: string, from: number, to: number) {
  return deps.db.tenant(orgId, async (sql) => {
    if (!(await repo.getPlan(sql, orgId, planId))) throw notFound('plan', planId);
    const [a, b] = [await versions.getVersion(sql, orgId, planId, from), await versions.getVersion(sql, orgId, planId, to)];
    const missing = !a ? from : !b ? to : undefined;
    if (missing !== undefined) throw new AppError(404, 'not_found', `plan ${planId} has no version ${missing}`);
    return { planId, from, to, patch: documentPatch(a!.document, b!.document), summary: documentSummary(a!.document, b!.document) };
  });
}
