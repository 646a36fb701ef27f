import { z } from 'zod';
import { SEMVER_RE } from '../semver.js';
import { SLUG_RE } from '../slug.js';

/** PostgreSQL text and jsonb cannot hold NUL; refusing it here keeps it a 400 instead of a driver error. */
const NUL = '\u0000';
const MAX_JSON_DEPTH = 32;

export const Uuid = z.uuid('must be a UUID');
export const Text = (max: number) => z.string().max(max).refine((s) => !s.includes(NUL), 'must not contain NUL characters');
export const Name = z.string().trim().min(1).max(255).refine((s) => !s.includes(NUL), 'must not contain NUL characters');

function jsonProblem(v: unknown, depth: number): string | null {
  if (depth > MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels`;
  if (typeof v === 'string') return v.includes(NUL) ? 'must not contain NUL characters' : null;
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

/** A JSON object that PostgreSQL's jsonb will store as sent. */
export const JsonObject = z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
  const p = jsonProblem(v, 1);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

export const Semver = z.string().max(50).regex(SEMVER_RE, 'must be a semantic version such as 1.2.0 or 2.0.0-rc.1');
export const Slug = z.string().min(1).max(100).regex(SLUG_RE, 'lower-case letters, digits and "-", not starting or ending with "-"');
export const Version = z.number().int().min(1).describe('the version you read; a stale one gets 409 version_conflict');

export const IdParams = z.strictObject({ id: Uuid });
