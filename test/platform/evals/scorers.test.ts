/** The scorers, the regex guard, the scorer config checks and the judge's protocol, without a database. */
import { describe, expect, it } from 'vitest';
import { judgePrompt, parseVerdict, regexProblem, ScorerConfig, scoreOutput } from '../../../src/platform/index.js';
import type { EvalCaseRunner } from '../../../src/platform/index.js';

const ctx = (over: Record<string, unknown> = {}) => ({ orgId: 'o', agentId: 'a', requestId: 'r', signal: new AbortController().signal, ...over });
const score = (cfg: unknown, output: string, expected?: unknown, more: Record<string, unknown> = {}, c = ctx()) =>
  scoreOutput(ScorerConfig.parse(cfg), { output, expected, rubric: more.rubric ?? null, input: more.input ?? 'q' }, c);

describe('exact', () => {
  it('compares text exactly by default, and optionally without case or extra whitespace', async () => {
    expect((await score({ type: 'exact' }, 'Paris', 'Paris')).score).toBe(1);
    expect((await score({ type: 'exact' }, 'paris', 'Paris')).score).toBe(0);
    expect((await score({ type: 'exact', caseSensitive: false }, 'paris', 'Paris')).score).toBe(1);
    expect((await score({ type: 'exact' }, '  Paris  is\nnice ', 'Paris is nice')).score).toBe(0);
    expect((await score({ type: 'exact', normalizeWhitespace: true }, '  Paris  is\nnice ', 'Paris is nice')).score).toBe(1);
  });
  it('compares parsed JSON when the expected output is JSON (key order does not matter)', async () => {
    expect((await score({ type: 'exact' }, '{"b":2,"a":[1,{"c":3}]}', { a: [1, { c: 3 }], b: 2 })).score).toBe(1);
    expect((await score({ type: 'exact' }, '```json\n{"a":1}\n```', { a: 1 })).score).toBe(1);
    expect((await score({ type: 'exact' }, '{"a":2}', { a: 1 })).score).toBe(0);
    expect((await score({ type: 'exact' }, 'not json', { a: 1 })).feedback).toMatch(/not JSON/);
  });
});

describe('contains', () => {
  it('scores the share of values found (all) or any one (any), case-insensitively when asked', async () => {
    expect((await score({ type: 'contains' }, 'The capital is Paris.', 'Paris')).score).toBe(1);
    const half = await score({ type: 'contains', values: ['Paris', 'Berlin'] }, 'Paris only');
    expect(half.score).toBe(0.5);
    expect(half.feedback).toMatch(/missing "Berlin"/);
    expect((await score({ type: 'contains', values: ['Paris', 'Berlin'], match: 'any' }, 'Paris only')).score).toBe(1);
    expect((await score({ type: 'contains', values: ['PARIS'] }, 'paris')).score).toBe(0);
    expect((await score({ type: 'contains', values: ['PARIS'], caseSensitive: false }, 'paris')).score).toBe(1);
  });
});

describe('regex', () => {
  it('matches the output', async () => {
    const s = await score({ type: 'regex', pattern: 'Order #\\d{5}' }, 'Your Order #12345 is confirmed');
    expect(s).toMatchObject({ score: 1, details: { match: 'Order #12345' } });
    expect((await score({ type: 'regex', pattern: '^yes$', flags: 'i' }, 'YES')).score).toBe(1);
    expect((await score({ type: 'regex', pattern: '^yes$' }, 'no')).score).toBe(0);
  });
  it('stops a pattern the guard lets through when it backtracks too long on the output, scoring 0 with the reason', async () => {
    expect(regexProblem('(a|a)*$', '')).toBeNull();
    const s = await score({ type: 'regex', pattern: '(a|a)*$' }, `${'a'.repeat(40)}b`);
    expect(s.score).toBe(0);
    expect(s.feedback).toMatch(/ran longer than 100 ms/);
  });
  it('refuses patterns that do not compile, are too long, nest quantifiers or use backreferences', () => {
    expect(regexProblem('(unclosed', '')).toMatch(/does not compile/);
    expect(regexProblem('a'.repeat(501), '')).toMatch(/at most 500/);
    for (const p of ['(a+)+$', '(\\w*x)*', '(a|b+){2,}', '((ab)*c)+', '(?:x+y?)*']) expect(regexProblem(p, ''), p).toMatch(/exponential/);
    expect(regexProblem('(a)\\1', '')).toMatch(/backreferences/);
    for (const p of ['(ab)+', '\\d+-\\d+', '[(+]+', '(a{1})+', '^(yes|no)$', 'a\\(b+\\)+']) expect(regexProblem(p, ''), p).toBeNull();
    const bad = ScorerConfig.safeParse({ type: 'regex', pattern: '(a+)+' });
    expect(bad.success).toBe(false);
    expect(ScorerConfig.safeParse({ type: 'regex', pattern: 'a', flags: 'gg' }).success).toBe(false);
  });
});

describe('json_schema', () => {
  const schema = { type: 'object', properties: { city: { type: 'string' }, temp: { type: 'number' } }, required: ['city', 'temp'] };
  it('passes JSON valid against the schema and says what does not fit', async () => {
    expect((await score({ type: 'json_schema', schema }, '{"city":"Oslo","temp":21}')).score).toBe(1);
    const miss = await score({ type: 'json_schema', schema }, '{"city":"Oslo"}');
    expect(miss.score).toBe(0);
    expect(miss.feedback).toMatch(/temp/);
    expect((await score({ type: 'json_schema', schema }, 'sunny')).feedback).toMatch(/not JSON/);
  });
  it('refuses a schema that does not compile', () => {
    const r = ScorerConfig.safeParse({ type: 'json_schema', schema: { type: 'object', requird: ['x'] } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/not a valid JSON Schema/);
  });
});

describe('numeric', () => {
  it('reads the number in the output and compares within absolute or relative tolerance', async () => {
    expect((await score({ type: 'numeric' }, '4', 4)).score).toBe(1);
    expect((await score({ type: 'numeric' }, 'The answer is 4.', '4')).score).toBe(1);
    expect((await score({ type: 'numeric' }, '1,000', 1000)).score).toBe(1);
    expect((await score({ type: 'numeric' }, '4.2', 4)).score).toBe(0);
    expect((await score({ type: 'numeric', tolerance: 0.25 }, '4.2', 4)).score).toBe(1);
    expect((await score({ type: 'numeric', relativeTolerance: 0.1 }, '105', 100)).score).toBe(1);
    expect((await score({ type: 'numeric', relativeTolerance: 0.01 }, '105', 100)).score).toBe(0);
    expect((await score({ type: 'numeric' }, 'no idea', 4)).feedback).toMatch(/no number/);
  });
});

describe('embedding_similarity', () => {
  it('is the cosine of the two embeddings, clipped to 0..1', async () => {
    const embed = async (_o: string, _a: string | null, texts: string[]) => texts.map((t) => (t.startsWith('same') ? [1, 0] : t.startsWith('half') ? [0.6, 0.8] : [-1, 0]));
    expect((await score({ type: 'embedding_similarity' }, 'same', 'same thing', {}, ctx({ embed }))).score).toBeCloseTo(1);
    expect((await score({ type: 'embedding_similarity' }, 'half', 'same', {}, ctx({ embed }))).score).toBeCloseTo(0.6);
    expect((await score({ type: 'embedding_similarity' }, 'opposite', 'same', {}, ctx({ embed }))).score).toBe(0);
  });
  it('throws without an embedder (the case becomes an error)', async () => {
    await expect(score({ type: 'embedding_similarity' }, 'a', 'b')).rejects.toThrow(/embedder/);
  });
});

describe('llm_judge', () => {
  it('asks the judge agent with the rubric, input, expected and actual output, and reads its verdict', async () => {
    const asked: string[] = [];
    const runAgent: EvalCaseRunner = async (_org, req) => {
      asked.push(`${req.agentId}|${req.input as string}`);
      return { executionId: 'e1', status: 'completed', output: 'Sure: {"score": 0.75, "reasoning": "mostly right"}' };
    };
    const s = await score({ type: 'llm_judge', judgeAgent: 'judge' }, 'Roses are red', null, { rubric: 'Does it rhyme?', input: 'Write a poem' }, ctx({ runAgent }));
    expect(s).toMatchObject({ score: 0.75, feedback: 'mostly right', details: { judgeExecutionId: 'e1' } });
    expect(asked[0]).toMatch(/^judge\|/);
    for (const part of ['Does it rhyme?', 'Write a poem', 'Roses are red']) expect(asked[0]).toContain(part);
  });
  it('fails scoring when the judge answers no verdict or its run fails', async () => {
    const says = (output: string | null, status = 'completed'): EvalCaseRunner => async () => ({ executionId: 'e', status, output, error: 'boom' });
    await expect(score({ type: 'llm_judge', judgeAgent: 'j' }, 'x', null, { rubric: 'r' }, ctx({ runAgent: says('no json here') }))).rejects.toThrow(/no verdict/);
    await expect(score({ type: 'llm_judge', judgeAgent: 'j' }, 'x', null, { rubric: 'r' }, ctx({ runAgent: says('{"score": 7}') }))).rejects.toThrow(/0 to 1/);
    await expect(score({ type: 'llm_judge', judgeAgent: 'j' }, 'x', null, { rubric: 'r' }, ctx({ runAgent: says(null, 'failed') }))).rejects.toThrow(/did not answer: boom/);
  });
  it('parses verdicts and builds prompts', () => {
    expect(parseVerdict('```json\n{"score": "0.5", "reasoning": "ok"}\n```')).toEqual({ ok: true, score: 0.5, reasoning: 'ok' });
    expect(parseVerdict('{"score": -1}').ok).toBe(false);
    expect(judgePrompt({ rubric: { accuracy: 'facts right' }, input: [{ role: 'user', content: 'hi' }], expected: null, output: 'hello' })).toContain('"accuracy"');
  });
});

describe('scorer config', () => {
  it('refuses unknown types and unknown keys', () => {
    expect(ScorerConfig.safeParse({ type: 'bleu' }).success).toBe(false);
    expect(ScorerConfig.safeParse({ type: 'exact', caseSensitiv: false }).success).toBe(false);
    expect(ScorerConfig.safeParse({ type: 'numeric', tolerance: -1 }).success).toBe(false);
    expect(ScorerConfig.safeParse({ type: 'llm_judge' }).success).toBe(false);
  });
});
