/**
 * What a test case is scored with, checked when the case is written: a bad
 * regex or JSON Schema, a scorer without what it compares against (numeric
 * without a number to expect, llm_judge without a rubric) is a 400 then, not
 * an error in the middle of a run.
 */
import { z } from 'zod';
import { compileValidator } from '../../agents/index.js';
import { Text } from '../../http/json-schemas.js';
import { regexProblem, MAX_PATTERN_LENGTH } from './regex-guard.js';

const AgentRefText = z.string().min(1).max(100).regex(/^[A-Za-z0-9-]+$/, 'must be an agent id or slug');

const Exact = z.strictObject({
  type: z.literal('exact'),
  caseSensitive: z.boolean().default(true),
  /** trims and collapses runs of whitespace before comparing */
  normalizeWhitespace: z.boolean().default(false),
});
const Contains = z.strictObject({
  type: z.literal('contains'),
  /** the texts to look for; default: the case's expected output (a string) */
  values: z.array(Text(1000).min(1)).min(1).max(50).optional(),
  /** all: score is the share of values found; any: 1 when one is found */
  match: z.enum(['all', 'any']).default('all'),
  caseSensitive: z.boolean().default(true),
});
const Regex = z.strictObject({
  type: z.literal('regex'),
  pattern: z.string().min(1).max(MAX_PATTERN_LENGTH, `at most ${MAX_PATTERN_LENGTH} characters`),
  flags: z.string().regex(/^(?!.*(.).*\1)[imsu]*$/, 'only i, m, s and u, each at most once').default(''),
});
const JsonSchemaScorer = z.strictObject({
  type: z.literal('json_schema'),
  schema: z.record(z.string(), z.unknown()),
});
const Numeric = z.strictObject({
  type: z.literal('numeric'),
  /** absolute: |actual - expected| ≤ tolerance passes */
  tolerance: z.number().min(0).default(0),
  /** relative: |actual - expected| ≤ relativeTolerance·|expected| passes (either tolerance suffices) */
  relativeTolerance: z.number().min(0).max(1).default(0),
});
const Embedding = z.strictObject({ type: z.literal('embedding_similarity') });
const Judge = z.strictObject({
  type: z.literal('llm_judge'),
  /** the agent (id or slug) that grades: it is given the rubric, input, expected and actual output and answers {"score", "reasoning"} */
  judgeAgent: AgentRefText,
});

export const SCORER_TYPES = ['exact', 'contains', 'regex', 'json_schema', 'numeric', 'embedding_similarity', 'llm_judge'] as const;

export const ScorerConfig = z
  .discriminatedUnion('type', [Exact, Contains, Regex, JsonSchemaScorer, Numeric, Embedding, Judge], {
    error: `scorer.type must be one of ${SCORER_TYPES.join(', ')}`,
  })
  .superRefine((s, ctx) => {
    if (s.type === 'regex') {
      const p = regexProblem(s.pattern, s.flags);
      if (p) ctx.addIssue({ code: 'custom', path: ['pattern'], message: p });
    }
    if (s.type === 'json_schema') {
      try {
        compileValidator(s.schema);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['schema'], message: `is not a valid JSON Schema: ${(err as Error).message}` });
      }
    }
  });
export type ScorerConfig = z.output<typeof ScorerConfig>;
export type ScorerType = ScorerConfig['type'];

/** A binary scorer passes only on 1; the graded ones have thresholds that suit them. */
export const DEFAULT_THRESHOLDS: Record<ScorerType, number> = {
  exact: 1, contains: 1, regex: 1, json_schema: 1, numeric: 1, embedding_similarity: 0.8, llm_judge: 0.7,
};

/** The expected number of a numeric case: a JSON number or a string that is one. */
export function expectedNumber(expected: unknown): number | null {
  if (typeof expected === 'number' && Number.isFinite(expected)) return expected;
  if (typeof expected === 'string' && expected.trim() !== '' && Number.isFinite(Number(expected))) return Number(expected);
  return null;
}

/** What a case lacks for its scorer (path under the body, message), or null. */
export function caseProblem(c: { scorer: ScorerConfig; expectedOutput: unknown; scoringRubric: unknown }): { path: string; message: string } | null {
  const s = c.scorer;
  const expected = c.expectedOutput;
  switch (s.type) {
    case 'exact':
      if (expected === null || expected === undefined) return { path: 'expectedOutput', message: 'an exact scorer needs the expected output' };
      return null;
    case 'contains':
      if (!s.values && (typeof expected !== 'string' || expected === '')) {
        return { path: 'expectedOutput', message: 'a contains scorer needs scorer.values or a non-empty expected output text' };
      }
      return null;
    case 'numeric':
      if (expectedNumber(expected) === null) return { path: 'expectedOutput', message: 'a numeric scorer needs a number as the expected output' };
      return null;
    case 'embedding_similarity':
      if (typeof expected !== 'string' || expected.trim() === '') {
        return { path: 'expectedOutput', message: 'an embedding_similarity scorer needs the expected output as non-empty text' };
      }
      return null;
    case 'llm_judge': {
      const r = c.scoringRubric;
      const empty = r === null || r === undefined || (typeof r === 'string' && r.trim() === '') || (typeof r === 'object' && Object.keys(r).length === 0);
      if (empty) return { path: 'scoringRubric', message: 'an llm_judge scorer needs a scoring rubric (text or criteria) to grade against' };
      return null;
    }
    default:
      return null;
  }
}
