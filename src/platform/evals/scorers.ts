/**
 * Scoring one output: every scorer gives a score in 0..1 and a line of
 * feedback that says why; the case passes when the score reaches its
 * threshold. A scorer that cannot score (no embedder, the judge failed)
 * throws ScoringError and the case is recorded as an error.
 */
import { runInNewContext } from 'node:vm';
import { compileValidator } from '../../agents/index.js';
import type { EvalCaseRunner, EvalEmbed } from './deps.js';
import { judgePrompt, parseVerdict } from './judge.js';
import { MAX_SUBJECT_LENGTH } from './regex-guard.js';
import { expectedNumber, type ScorerConfig } from './scorer-config.js';

export interface Scored {
  score: number;
  feedback: string;
  details?: Record<string, unknown>;
}

export interface ScoreInput {
  output: string;
  expected: unknown;
  rubric: unknown;
  input: unknown;
}

export interface ScoreContext {
  orgId: string;
  /** the agent under test: embeddings are made in its memory space */
  agentId: string;
  requestId: string;
  signal: AbortSignal;
  embed?: EvalEmbed | undefined;
  runAgent?: EvalCaseRunner | undefined;
}

export class ScoringError extends Error {
  override name = 'ScoringError';
  constructor(message: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const squash = (s: string) => s.trim().replace(/\s+/g, ' ');
const expectedText = (e: unknown) => (typeof e === 'string' ? e : JSON.stringify(e));

/** JSON with object keys in order, so two equal values print alike. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  let t = text.trim();
  // Models often wrap JSON in a ```json fence.
  const fence = /^```(?:json)?\s*([\s\S]*?)\s*```$/i.exec(t);
  if (fence) t = fence[1]!;
  try {
    return { ok: true, value: JSON.parse(t) as unknown };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function exact(s: Extract<ScorerConfig, { type: 'exact' }>, x: ScoreInput): Scored {
  if (typeof x.expected !== 'string') {
    // A JSON expected output: the answer must parse to an equal value.
    const p = parseJson(x.output);
    if (!p.ok) return { score: 0, feedback: `the output is not JSON (${p.error}); expected ${canonical(x.expected)}` };
    const same = canonical(p.value) === canonical(x.expected);
    return { score: same ? 1 : 0, feedback: same ? 'the output equals the expected JSON' : 'the output JSON differs from the expected JSON' };
  }
  let a = x.output;
  let e = x.expected;
  if (s.normalizeWhitespace) [a, e] = [squash(a), squash(e)];
  if (!s.caseSensitive) [a, e] = [a.toLowerCase(), e.toLowerCase()];
  const same = a === e;
  return { score: same ? 1 : 0, feedback: same ? 'the output equals the expected output' : 'the output differs from the expected output' };
}

function contains(s: Extract<ScorerConfig, { type: 'contains' }>, x: ScoreInput): Scored {
  const values = s.values ?? [expectedText(x.expected)];
  const hay = s.caseSensitive ? x.output : x.output.toLowerCase();
  const found = values.filter((v) => hay.includes(s.caseSensitive ? v : v.toLowerCase()));
  const missing = values.filter((v) => !found.includes(v));
  const score = s.match === 'any' ? (found.length ? 1 : 0) : found.length / values.length;
  const feedback = missing.length === 0 ? `found all of ${values.length} value(s)` : `found ${found.length} of ${values.length}; missing ${missing.map((m) => JSON.stringify(m)).join(', ')}`;
  return { score, feedback, details: { found, missing } };
}

/**
 * The create-time guard (regex-guard.ts) refuses the usual catastrophic
 * shapes but cannot refuse them all (`(a|a)*$`), and a pattern that
 * backtracks for minutes would stall every job of this worker. V8 interrupts
 * a regexp at a vm timeout, so the match runs under one.
 */
const REGEX_TIME_LIMIT_MS = 100;
function boundedExec(re: RegExp, subject: string): RegExpExecArray | null {
  return runInNewContext('re.exec(subject)', { re, subject }, { timeout: REGEX_TIME_LIMIT_MS }) as RegExpExecArray | null;
}

function regex(s: Extract<ScorerConfig, { type: 'regex' }>, x: ScoreInput): Scored {
  const subject = x.output.slice(0, MAX_SUBJECT_LENGTH);
  let m: RegExpExecArray | null;
  try {
    m = boundedExec(new RegExp(s.pattern, s.flags), subject);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
    return { score: 0, feedback: `/${s.pattern}/${s.flags} ran longer than ${REGEX_TIME_LIMIT_MS} ms on this output (catastrophic backtracking); simplify the pattern` };
  }
  return m
    ? { score: 1, feedback: `the output matches /${s.pattern}/${s.flags}`, details: { match: m[0].slice(0, 500) } }
    : { score: 0, feedback: `the output does not match /${s.pattern}/${s.flags}` };
}

function jsonSchema(s: Extract<ScorerConfig, { type: 'json_schema' }>, x: ScoreInput): Scored {
  const p = parseJson(x.output);
  if (!p.ok) return { score: 0, feedback: `the output is not JSON: ${p.error}` };
  const problems = compileValidator(s.schema)(p.value);
  if (!problems) return { score: 1, feedback: 'the output is JSON valid against the schema' };
  return { score: 0, feedback: `the output JSON does not fit the schema: ${problems.slice(0, 5).join('; ')}`, details: { errors: problems.slice(0, 20) } };
}

const NUMBER = /-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;

function numeric(s: Extract<ScorerConfig, { type: 'numeric' }>, x: ScoreInput): Scored {
  const expected = expectedNumber(x.expected);
  if (expected === null) throw new ScoringError('the case has no number as its expected output');
  const t = x.output.trim().replaceAll(',', '');
  const whole = Number(t);
  const actual = t !== '' && Number.isFinite(whole) ? whole : Number(NUMBER.exec(t)?.[0] ?? NaN);
  if (!Number.isFinite(actual)) return { score: 0, feedback: 'the output holds no number' };
  const diff = Math.abs(actual - expected);
  const allowed = Math.max(s.tolerance, s.relativeTolerance * Math.abs(expected));
  const ok = diff <= allowed + Number.EPSILON * Math.max(1, Math.abs(expected));
  return {
    score: ok ? 1 : 0,
    feedback: ok ? `${actual} is within ${allowed} of ${expected}` : `${actual} is ${diff} away from ${expected} (allowed ${allowed})`,
    details: { actual, expected, difference: diff, allowed },
  };
}

async function embeddingSimilarity(x: ScoreInput, ctx: ScoreContext): Promise<Scored> {
  if (!ctx.embed) throw new ScoringError('embedding_similarity needs an embedder, and this service has none wired');
  const vectors = await ctx.embed(ctx.orgId, ctx.agentId, [x.output, expectedText(x.expected)]);
  const [a, b] = vectors;
  if (!a || !b || a.length !== b.length || a.length === 0) throw new ScoringError('the embedder returned no usable vectors');
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const cosine = na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
  const score = clamp01(cosine);
  return { score, feedback: `cosine similarity ${cosine.toFixed(4)} to the expected output`, details: { cosine } };
}

async function llmJudge(s: Extract<ScorerConfig, { type: 'llm_judge' }>, x: ScoreInput, ctx: ScoreContext): Promise<Scored> {
  if (!ctx.runAgent) throw new ScoringError('llm_judge needs the agent runtime, and this service has none wired');
  const r = await ctx.runAgent(ctx.orgId, {
    agentId: s.judgeAgent,
    input: judgePrompt(x),
    requestId: `${ctx.requestId}:judge`.slice(0, 100),
    signal: ctx.signal,
  });
  if (r.status !== 'completed' || r.output === null) {
    throw new ScoringError(`the judge agent ${s.judgeAgent} did not answer: ${r.error ?? r.status}`, { judgeExecutionId: r.executionId });
  }
  const v = parseVerdict(r.output);
  if (!v.ok) throw new ScoringError(`the judge agent ${s.judgeAgent} answered no verdict: ${v.error}`, { judgeExecutionId: r.executionId, judgeOutput: r.output.slice(0, 2000) });
  return { score: v.score, feedback: v.reasoning || `judged ${v.score}`, details: { judgeExecutionId: r.executionId, reasoning: v.reasoning } };
}

export async function scoreOutput(s: ScorerConfig, x: ScoreInput, ctx: ScoreContext): Promise<Scored> {
  switch (s.type) {
    case 'exact':
      return exact(s, x);
    case 'contains':
      return contains(s, x);
    case 'regex':
      return regex(s, x);
    case 'json_schema':
      return jsonSchema(s, x);
    case 'numeric':
      return numeric(s, x);
    case 'embedding_similarity':
      return embeddingSimilarity(x, ctx);
    case 'llm_judge':
      return llmJudge(s, x, ctx);
  }
}
