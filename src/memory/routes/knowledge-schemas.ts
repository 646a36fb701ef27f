import { z } from 'zod';
import { AgentRef } from '../../agents/index.js';
import { JsonObject, Tag, Tags, Text, Uuid } from '../../http/json-schemas.js';
import { MAX_METRIC_DAYS } from '../knowledge-metrics-service.js';
import { SEARCH_MODES } from '../knowledge-search-service.js';
import { TRANSFER_METHODS } from '../knowledge-transfers-service.js';

/** Request schemas of the knowledge routes: the table's CHECKs, refused here as a 400 naming the field. */

const nonBlank = (s: string) => s.trim().length > 0;

/**
 * A transfer writes title + "\n\n" + description into agent_memories.content,
 * which holds at most 32,768 characters: these two limits keep every item transferable.
 */
export const MAX_TITLE = 1000;
export const MAX_DESCRIPTION = 30_000;

export const Domain = z.string().max(100).regex(/^[^\u0000-\u001f\u007f]+$/, 'must be 1-100 characters without control characters')
  .refine(nonBlank, 'must not be blank')
  .describe('the area the knowledge is about, such as travel.visas');

/**
 * Any JSON object within the payload limits (1 MiB, 32 levels), with a
 * string title and, optionally, a string description: the two fields search
 * and embeddings read.
 */
export const Content = z.looseObject({
  title: Text(MAX_TITLE).refine(nonBlank, 'must not be blank').describe(`1 to ${MAX_TITLE} characters`),
  description: Text(MAX_DESCRIPTION).nullable().optional().describe(`at most ${MAX_DESCRIPTION} characters`),
}).superRefine((v, ctx) => {
  // The shared payload check, its issues passed on as they are: their params ask the error
  // boundary for json_too_deep or payload_too_large.
  const r = JsonObject.safeParse(v);
  if (r.success) return;
  for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path, ...('params' in i ? { params: i.params } : {}) });
}).describe('a JSON object: title (required), description, and any other fields');

export const Confidence = z.number().min(0).max(1).describe('0..1, stored to two decimal places');
export const Version = z.number().int().min(1).max(2_147_483_647).describe('the version you read; a stale one gets 409 version_conflict');
const MinConfidence = z.coerce.number().min(0).max(1).describe('only items at least this confident (items without a confidence are left out)');

export const IdParams = z.strictObject({ id: Uuid });

export const CreateBody = z.strictObject({
  domain: Domain,
  content: Content,
  sourceAgentId: AgentRef.describe('the agent the knowledge comes from: its id or slug'),
  confidence: Confidence.nullable().optional(),
  tags: Tags.optional(),
});

export const PatchBody = z.strictObject({
  version: Version,
  domain: Domain.optional(),
  content: Content.optional().describe('replaces the whole content; a changed title or description is embedded again'),
  confidence: Confidence.nullable().optional().describe('null clears it'),
  tags: Tags.optional().describe('replaces the tags'),
});

export const ListQuery = {
  domain: Domain.optional(),
  tag: Tag.optional().describe('only items carrying this tag'),
  sourceAgentId: AgentRef.optional(),
  minConfidence: MinConfidence.optional(),
};

export const SearchBody = z.strictObject({
  query: Text(1000).refine(nonBlank, 'must not be blank')
    .describe('web-search syntax (websearch_to_tsquery, english): words, "quoted phrases", or, -excluded'),
  mode: z.enum(SEARCH_MODES).default('hybrid')
    .describe('hybrid: full text and vectors fused by reciprocal rank (text alone when nothing is embedded); text; vector'),
  domain: Domain.optional(),
  tags: Tags.optional().describe('only items carrying all of these'),
  minConfidence: Confidence.optional(),
  limit: z.number().int().min(1).max(100).default(10),
  explain: z.boolean().default(false).describe('add each list\'s rank, text score and vector distance to every item'),
});

export const TransferBody = z.strictObject({
  targetAgentId: AgentRef.describe('the agent to receive the knowledge: its id or slug'),
  method: z.enum(TRANSFER_METHODS).default('direct').describe('recorded with the transfer'),
});

export const TransferListQuery = {
  sourceAgentId: AgentRef.optional(),
  targetAgentId: AgentRef.optional(),
  success: z.enum(['true', 'false']).transform((s) => s === 'true').optional(),
};

const Day = z.iso.date('must be a date, YYYY-MM-DD').refine((s) => s >= '1970-01-01', 'must be 1970-01-01 or later');

export const MetricsQuery = z.strictObject({
  from: Day.optional().describe('first UTC day (default: 29 days before to)'),
  to: Day.optional().describe(`last UTC day, inclusive (default: today); at most ${MAX_METRIC_DAYS} days in all`),
});

/** Cursors name the last row of the page; its own timestamp is read back, so none is lost to rounding. */
export const IdCursor = z.object({ id: Uuid });
