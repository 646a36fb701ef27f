import { z } from 'zod';
import { Uuid } from '../../http/json-schemas.js';
import { CampaignDetails, CampaignFields, changeOf, PLAN_KINDS, PLAN_STATUSES, PlanCore, TravelDetails, TravelFields } from '../plan-document.js';

/** Field schemas the plan routes share. */

export { Uuid };
export const IdParams = z.strictObject({ id: Uuid });
export const VersionNumber = z.coerce.number().int().min(1).max(2_147_483_647);
export const ExpectedVersion = z.number().int().min(1).max(2_147_483_647)
  .describe('the version you read; a plan changed since answers 409 version_conflict');
export const Day = z.iso.date('must be a date, YYYY-MM-DD');

export const NewPlanBody = PlanCore.extend({
  kind: z.enum(PLAN_KINDS).describe('travel, campaign or generic'),
  travel: TravelDetails.optional().describe('kind travel: destinations, dates, travelers, budget, preferences, itinerary'),
  campaign: CampaignDetails.optional().describe('kind campaign (required there): theme, dates, budget, ROI, ideas, channel plans'),
});

export const PlanChangeBody = changeOf(PlanCore).extend({
  version: ExpectedVersion,
  travel: changeOf(TravelFields).optional().describe('travel fields to change; the others keep their values'),
  campaign: changeOf(CampaignFields).optional().describe('campaign fields to change; ideas and channelPlans, when given, replace the lists'),
});

export const PlanListQuery = {
  kind: z.enum(PLAN_KINDS).optional(),
  status: z.enum(PLAN_STATUSES).optional(),
  userId: Uuid.optional().describe('plans this user owns'),
  template: z.enum(['true', 'false']).transform((v) => v === 'true').optional().describe('only templates, or only non-templates'),
  destination: z.string().min(1).max(200).optional().describe('travel plans with a destination of exactly this name'),
  from: Day.optional().describe('travel plans whose trip ends on or after this date'),
  to: Day.optional().describe('travel plans whose trip starts on or before this date'),
};
