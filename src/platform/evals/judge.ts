/**
 * The llm_judge protocol: what the judge agent is asked, and how its answer is
 * read. The judge is an ordinary agent of the organization (its prompt, model
 * and price are its own); it gets one user message holding the rubric, the
 * case's input, the expected output and the actual output, and must answer a
 * JSON object {"score": 0..1, "reasoning": "…"} (a fenced block or JSON in
 * surrounding text is found too).
 */
const MAX_PART = 20_000;

const part = (v: unknown) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v, null, 2);
  return (s ?? 'null').slice(0, MAX_PART);
};

export function judgePrompt(x: { rubric: unknown; input: unknown; expected: unknown; output: string }): string {
  return [
    'You are grading the answer of an AI agent against a rubric.',
    '',
    '## Rubric',
    part(x.rubric),
    '',
    '## Input the agent was given',
    part(x.input),
    '',
    '## Expected output (reference)',
    x.expected === null || x.expected === undefined ? '(none)' : part(x.expected),
    '',
    '## Actual output',
    part(x.output),
    '',
    'Reply with only a JSON object: {"score": <a number from 0 to 1>, "reasoning": "<one or two sentences>"}',
  ].join('\n');
}

export type Verdict = { ok: true; score: number; reasoning: string } | { ok: false; error: string };

export function parseVerdict(text: string): Verdict {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return { ok: false, error: 'no JSON object in the answer' };
  let v: unknown;
  try {
    v = JSON.parse(text.slice(start, end + 1));
  } catch (err) {
    return { ok: false, error: `the JSON does not parse: ${(err as Error).message}` };
  }
  const o = v as { score?: unknown; reasoning?: unknown };
  const score = typeof o.score === 'string' ? Number(o.score) : o.score;
  if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 1) {
    return { ok: false, error: 'score must be a number from 0 to 1' };
  }
  return { ok: true, score, reasoning: typeof o.reasoning === 'string' ? o.reasoning.slice(0, 4000) : '' };
}
