import { z } from 'zod';
import { AppError } from '../errors.js';
import { jsonObject, jsonValue, METADATA_LIMITS, Text, Uuid } from '../http/json-schemas.js';

/**
 * The plan document: everything a plan says, as one JSON value. It is what a
 * version stores, what a diff compares, what a restore writes back and what a
 * share link shows. It holds content only: no costs, no timestamps, no
 * internal ids beyond the children's own (so a diff of two versions shows
 * what was changed, not when).
 *
 * The same schemas validate a create, a change and a restore, so a document
 * written back from any version passes the checks a new one does.
 */

export const PLAN_KINDS = ['travel', 'campaign', 'generic'] as const;
export type PlanKind = (typeof PLAN_KINDS)[number];
export const PLAN_STATUSES = ['draft', 'processing', 'agent_processing', 'completed', 'error', 'cancelled', 'archived'] as const;
export const CAMPAIGN_STATUSES = ['draft', 'active', 'paused', 'completed', 'cancelled'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/** Which status a campaign may move to from each (a restore of an older version may move it back). */
export const STATUS_TRANSITIONS: Record<CampaignStatus, readonly CampaignStatus[]> = {
  draft: ['active', 'cancelled'],
  active: ['paused', 'completed', 'cancelled'],
  paused: ['active', 'cancelled'],
  completed: [],
  cancelled: [],
};

/** Refuses (409, with the allowed moves) a campaign status change the transitions do not allow. */
export function assertCampaignTransition(from: CampaignStatus, to: CampaignStatus): void {
  if (from === to) return;
  const allowed = STATUS_TRANSITIONS[from];
  if (allowed.includes(to)) return;
  const then = allowed.length ? `from ${from} it can become ${allowed.join(' or ')}` : `${from} is final`;
  throw new AppError(409, 'conflict', `a ${from} campaign cannot become ${to}; ${then}`, { from, to, allowed });
}

const NonBlank = (max: number) => Text(max).refine((s) => s.trim().length > 0, 'must not be blank');
const Day = z.iso.date('must be a date, YYYY-MM-DD');
const Money = z.number().min(0).max(9_999_999_999.99).multipleOf(0.01, 'at most 2 decimals (cents)');
const Doc = jsonValue(METADATA_LIMITS);
const DocObject = jsonObject(METADATA_LIMITS);
const Payload = jsonObject();

export const PlanCore = z.strictObject({
  title: NonBlank(255),
  description: Text(20_000).nullable().default(null),
  status: z.enum(PLAN_STATUSES).default('draft'),
  completionPercentage: z.number().int().min(0).max(100).default(0),
  userRating: z.number().int().min(1).max(5).nullable().default(null),
  userFeedback: Text(20_000).nullable().default(null),
  planData: Payload.default({}).describe('the content of a generic plan, or anything else the application keeps with it'),
  isTemplate: z.boolean().default(false),
  isPublic: z.boolean().default(false),
  isActive: z.boolean().default(true),
});
export type PlanCore = z.infer<typeof PlanCore>;

export const Destination = z.strictObject({
  name: NonBlank(200),
  country: Text(100).optional(),
  arriveOn: Day.optional(),
  departOn: Day.optional(),
  notes: Text(2000).optional(),
});

export const TravelFields = z.strictObject({
  destinations: z.array(Destination).max(100).default([]),
  startDate: Day.nullable().default(null),
  endDate: Day.nullable().default(null),
  travelerCount: z.number().int().min(1).max(10_000).default(1),
  travelerDetails: DocObject.default({}).describe('ages, special needs and the like'),
  budgetTotal: Money.nullable().default(null),
  budgetCurrency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD').default('USD'),
  budgetBreakdown: DocObject.default({}),
  preferences: DocObject.default({}),
  constraints: DocObject.default({}),
  specialRequirements: DocObject.default({}),
  itinerary: Payload.default({}),
  agentResults: Payload.default({}).describe('what each agent produced for the plan'),
  agentExecutionSummary: DocObject.default({}),
});
export const TravelDetails = TravelFields.superRefine((t, ctx) => {
  if (t.startDate && t.endDate && t.endDate < t.startDate) ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'must not be before startDate' });
});
export type TravelDetails = z.infer<typeof TravelDetails>;

export const CampaignIdea = z.strictObject({
  id: Uuid.optional().describe('kept when given (an existing idea); a new idea gets one'),
  theme: NonBlank(255),
  coreMessage: NonBlank(20_000),
  targetSegments: z.array(Text(255)).max(100).describe('audience segments, such as "Enterprise CISOs"'),
  competitiveAngle: Text(20_000),
});
export type CampaignIdea = z.infer<typeof CampaignIdea> & { id: string };

export const ChannelPlan = z.strictObject({
  id: Uuid.optional().describe('kept when given (an existing channel plan); a new one gets one'),
  channel: NonBlank(100).describe('email, social, paid_ads, ...'),
  budgetAllocation: z.number().gt(0).max(100).describe('percent of the campaign budget; a campaign\'s allocations add up to at most 100'),
  strategy: Text(20_000),
  expectedReach: z.number().int().min(0).max(2_147_483_647).nullable().default(null),
  expectedEngagement: z.number().min(0).max(1e9).nullable().default(null),
  kpis: z.array(Text(500)).max(100).default([]),
});
export type ChannelPlan = z.infer<typeof ChannelPlan> & { id: string };

export const CampaignFields = z.strictObject({
  status: z.enum(CAMPAIGN_STATUSES).default('draft'),
  theme: NonBlank(255),
  startDate: Day,
  endDate: Day,
  totalBudget: Money,
  expectedRoi: z.number().min(-1_000_000).max(1_000_000).describe('expected ROI, percent'),
  metrics: DocObject.default({}).describe('impressions, clicks, conversions, ...'),
  serviceId: Uuid.nullable().default(null).describe('the service (catalog entry) the campaign promotes'),
  feedbackHistory: z.array(Doc).max(1000).default([]),
  templateId: Uuid.nullable().default(null),
  ideas: z.array(CampaignIdea).max(200).default([]),
  channelPlans: z.array(ChannelPlan).max(100).default([]),
});
export const CampaignDetails = CampaignFields.superRefine((c, ctx) => {
  if (c.endDate < c.startDate) ctx.addIssue({ code: 'custom', path: ['endDate'], message: 'must not be before startDate' });
  const total = c.channelPlans.reduce((s, p) => s + Math.round(p.budgetAllocation * 100), 0) / 100;
  if (total > 100) ctx.addIssue({ code: 'custom', path: ['channelPlans'], message: `budget allocations add up to ${total} %, more than 100 %` });
  for (const [k, xs] of [['ideas', c.ideas], ['channelPlans', c.channelPlans]] as const) {
    const ids = xs.map((x) => x.id).filter(Boolean);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: [k], message: 'an id appears twice' });
  }
});
export type CampaignDetails = Omit<z.infer<typeof CampaignDetails>, 'ideas' | 'channelPlans'> & { ideas: CampaignIdea[]; channelPlans: ChannelPlan[] };

export interface PlanDocument {
  kind: PlanKind;
  plan: PlanCore;
  travel?: TravelDetails;
  campaign?: CampaignDetails;
}

/** Checks that a document's details match its kind (a travel plan has travel details and nothing else, ...). */
export function kindProblem(doc: PlanDocument): string | undefined {
  if (doc.kind === 'campaign' && !doc.campaign) return 'a campaign plan needs campaign details (theme, startDate, endDate, totalBudget, expectedRoi)';
  if (doc.kind !== 'campaign' && doc.campaign) return `campaign details belong to plans of kind campaign, not ${doc.kind}`;
  if (doc.kind !== 'travel' && doc.travel) return `travel details belong to plans of kind travel, not ${doc.kind}`;
  return undefined;
}

/**
 * The schema of a change to an object of fields: every field optional and
 * without its default (zod's .partial() would fill the defaults in, and a
 * change would then reset every field it does not name).
 */
export function changeOf<S extends z.ZodRawShape>(o: z.ZodObject<S>) {
  const shape = Object.fromEntries(Object.entries(o.shape).map(([k, s]) => {
    const inner = s instanceof z.ZodDefault ? (s.unwrap() as z.ZodType) : (s as z.ZodType);
    return [k, inner.optional()];
  }));
  return z.strictObject(shape) as unknown as z.ZodObject<{ [K in keyof S]: z.ZodOptional<z.ZodType<z.output<S[K]>>> }>;
}
