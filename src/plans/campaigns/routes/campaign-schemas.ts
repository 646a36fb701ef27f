import { z } from 'zod';
import { jsonValue, METADATA_LIMITS, Text, Uuid } from '../../../http/json-schemas.js';
import { CampaignIdea, ChannelPlan } from '../../plan-document.js';

/** Field schemas the campaign, service, signal and template routes share. */

export { Uuid };
export const IdParams = z.strictObject({ id: Uuid });
export const ExpectedVersion = z.number().int().min(1).max(2_147_483_647)
  .describe('the version you read; one changed since answers 409 version_conflict');
export const QueryVersion = z.coerce.number().int().min(1).max(2_147_483_647);
export const Day = z.iso.date('must be a date, YYYY-MM-DD');
export const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z' });

/** A short label (a name, a category, a source): trimmed, not blank, at most `max` characters, no NUL. */
export const Label = (max: number) => Text(max).transform((s) => s.trim()).refine((s) => s.length > 0, 'must not be blank');
export const NonBlank = (max: number) => Text(max).refine((s) => s.trim().length > 0, 'must not be blank');

/** A list of descriptive JSON values (personas, benefits, competitors): strings or objects, 64 KiB each. */
export const DescriptiveList = z.array(jsonValue(METADATA_LIMITS)).max(100);

export const Money = z.number().min(0).max(9_999_999_999.99).multipleOf(0.01, 'at most 2 decimals (cents)');
export const Roi = z.number().min(-1_000_000).max(1_000_000).describe('expected ROI, percent');

/** A template's idea and channel plan: the campaign's shapes without ids (each campaign made from it gets its own). */
export const TemplateIdea = CampaignIdea.omit({ id: true });
export const TemplateChannel = ChannelPlan.omit({ id: true });

/** Allocations are summed in cents, as numeric(5,2) stores them. */
export function allocationTotal(xs: readonly { budgetAllocation: number }[]): number {
  return xs.reduce((s, p) => s + Math.round(p.budgetAllocation * 100), 0) / 100;
}

export function checkAllocations(path: string) {
  return (xs: readonly { budgetAllocation: number }[], ctx: z.RefinementCtx) => {
    const total = allocationTotal(xs);
    if (total > 100) ctx.addIssue({ code: 'custom', path: [], message: `budget allocations add up to ${total} %, more than 100 % (${path})` });
  };
}
