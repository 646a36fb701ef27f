import { z } from 'zod';
import { jsonValueProblem, KiB, MAX_JSON_DEPTH, MiB, type JsonLimits } from './json-limits.js';

/**
 * Field schemas every module's routes share. PostgreSQL text and jsonb cannot
 * hold NUL, and very deep or very large JSON is a cost with no use: refusing
 * them here keeps them a 4xx naming the field (or, in a batch, a per-item
 * rejection) instead of a driver error or a stack overflow.
 *
 * Free-form JSON fields carry one of two size classes:
 * - payloads (inputs, outputs, attributes, arguments, state, message data,
 *   definitions): 1 MiB each;
 * - descriptive fields (settings, metadata): 64 KiB each.
 * Both are nested at most 32 levels. A field over its limit is 400
 * json_too_deep or 413 payload_too_large (src/http/error-handler.ts), naming it.
 */
const NUL = '\u0000';

export const PAYLOAD_LIMITS: JsonLimits = { maxDepth: MAX_JSON_DEPTH, maxBytes: MiB };
export const METADATA_LIMITS: JsonLimits = { maxDepth: MAX_JSON_DEPTH, maxBytes: 64 * KiB };

export const Uuid = z.uuid('must be a UUID');
export const Text = (max: number) => z.string().max(max).refine((s) => !s.includes(NUL), 'must not contain NUL characters');

/** The stable error code a refinement asks the error boundary to answer with (see error-handler.ts). */
export type JsonErrorCode = 'json_too_deep' | 'payload_too_large';

function checked(limits: JsonLimits) {
  return (v: unknown, ctx: z.RefinementCtx) => {
    const p = jsonValueProblem(v, limits);
    if (!p) return;
    ctx.addIssue({ code: 'custom', message: p.message, ...(p.code === 'invalid' ? {} : { params: { errorCode: p.code } }) });
  };
}

/** Any JSON value PostgreSQL's jsonb stores as sent, within the limits. */
export const jsonValue = (limits: JsonLimits = PAYLOAD_LIMITS) => z.unknown().superRefine(checked(limits));

/** A JSON object PostgreSQL's jsonb stores as sent, within the limits (z.record looks only at the top level). */
export const jsonObject = (limits: JsonLimits = PAYLOAD_LIMITS) => z.record(z.string(), z.unknown()).superRefine(checked(limits));

export const Json = jsonValue();
export const JsonObject = jsonObject();
/** Settings and metadata: descriptive, so smaller. */
export const MetadataObject = jsonObject(METADATA_LIMITS);

export const MAX_TAGS = 20;
/**
 * Tags: short labels to slice lists and costs by ("checkout", "beta"). No
 * control characters, no commas (a comma-separated list would be ambiguous),
 * compared exactly; repeats are dropped.
 */
export const Tag = z.string().min(1).max(64).regex(/^[^\u0000-\u001f\u007f,]+$/, 'must be 1-64 characters without control characters or commas');
export const Tags = z.array(Tag).max(MAX_TAGS, `at most ${MAX_TAGS} tags`).transform((t) => [...new Set(t)]);

/**
 * A metadata filter `key:value` (the first colon splits): matches rows whose
 * metadata holds the key with that value, as a string or, when the value reads
 * as one, as a JSON number, boolean or null (so `attempt:2` finds {"attempt": 2}).
 */
export const MetadataFilter = z.string().max(300).regex(/^[^:\u0000]+:[^\u0000]*$/, 'must be key:value, such as customer:acme')
  .transform((s) => {
    const i = s.indexOf(':');
    const k = s.slice(0, i);
    const v = s.slice(i + 1);
    const alternatives: Record<string, unknown>[] = [{ [k]: v }];
    if (/^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)$/.test(v)) alternatives.push({ [k]: JSON.parse(v) as unknown });
    return alternatives;
  });
