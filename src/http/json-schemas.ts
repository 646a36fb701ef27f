import { z } from 'zod';

/**
 * Field schemas every module's routes share. PostgreSQL text and jsonb cannot
 * hold NUL, and very deep JSON is a cost with no use: refusing both here keeps
 * them a 400 naming the field (or, in a batch, a per-item rejection) instead of
 * a driver error.
 */
const NUL = '\u0000';
const MAX_JSON_DEPTH = 32;

export const Uuid = z.uuid('must be a UUID');
export const Text = (max: number) => z.string().max(max).refine((s) => !s.includes(NUL), 'must not contain NUL characters');

function jsonProblem(v: unknown, depth: number): string | null {
  if (depth > MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels`;
  if (typeof v === 'string') return v.includes(NUL) ? 'must not contain NUL characters' : null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : 'must be a finite number';
  if (Array.isArray(v)) {
    for (const x of v) {
      const p = jsonProblem(x, depth + 1);
      if (p) return p;
    }
    return null;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const p = k.includes(NUL) ? 'must not contain NUL characters' : jsonProblem(x, depth + 1);
      if (p) return p;
    }
  }
  return null;
}

/** Any JSON value PostgreSQL's jsonb stores as sent. */
export const Json = z.unknown().superRefine((v, ctx) => {
  const p = jsonProblem(v, 1);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

/** A JSON object PostgreSQL's jsonb stores as sent. */
export const JsonObject = z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
  const p = jsonProblem(v, 1);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});
