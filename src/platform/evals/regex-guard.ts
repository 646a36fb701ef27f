/**
 * Regex scorers run tenant-written patterns on model output, in the worker.
 * JavaScript's engine backtracks and has no time limit, so a pattern like
 * (a+)+$ can spin for minutes on a few dozen characters. The guard refuses
 * what makes that possible in practice, when the case is written:
 * - patterns over MAX_PATTERN_LENGTH characters;
 * - a quantified group that itself contains a quantifier ((a+)+, (\w*x)*,
 *   (a|b+){2,}), the shape of nearly every catastrophic pattern;
 * - backreferences (\1, \k<name>), which need backtracking by definition.
 * And the text a pattern is run on is capped (MAX_SUBJECT_LENGTH). Overlapping
 * alternatives under a quantifier ((a|a)*) are not detected; the cap bounds
 * them.
 */
export const MAX_PATTERN_LENGTH = 500;
export const MAX_SUBJECT_LENGTH = 20_000;

/** Why a pattern is refused, or null. */
export function regexProblem(pattern: string, flags: string): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `a pattern has at most ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, flags);
  } catch (err) {
    return `does not compile: ${(err as Error).message}`;
  }
  if (/\\[1-9]|\\k</.test(pattern)) return 'backreferences (\\1, \\k<name>) are not allowed: they can take exponential time';
  if (hasNestedQuantifier(pattern)) {
    return 'a quantified group contains a quantifier (like (a+)+), which can take exponential time on some outputs; rewrite it without the nesting';
  }
  return null;
}

/** Whether a quantifier that repeats (*, +, {n,} or {n,m} with m > 1) follows index i. */
function repeatsAt(p: string, i: number): boolean {
  const c = p[i];
  if (c === '*' || c === '+') return true;
  if (c !== '{') return false;
  const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
  if (!m) return false;
  if (m[2] === undefined) return Number(m[1]) > 1;
  return m[3] === '' || Number(m[3]) > 1;
}

function hasNestedQuantifier(p: string): boolean {
  // one frame per open group: whether something inside it repeats
  const stack: boolean[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      // a character class: skip to its closing bracket
      for (i++; i < p.length && p[i] !== ']'; i++) if (p[i] === '\\') i++;
      continue;
    }
    if (c === '(') {
      stack.push(false);
      continue;
    }
    if (c === ')') {
      const inner = stack.pop() ?? false;
      const outer = repeatsAt(p, i + 1);
      if (inner && outer) return true;
      if (stack.length && (inner || outer)) stack[stack.length - 1] = true;
      continue;
    }
    if (stack.length && repeatsAt(p, i) && i > 0) stack[stack.length - 1] = true;
  }
  return false;
}
