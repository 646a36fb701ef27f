const SECRET_KEY = /(password|secret|token|hash|recovery.?codes?|otp|mfa.?code|private.?key|^key$|credential|authorization|cookie)/i;
// Token *counts* (maxTokens, prompt_tokens, …) are numbers worth keeping, not secrets.
const COUNT_KEY = /(max|min|input|output|prompt|completion|total|cached|reasoning)_?tokens?(_?count)?$/i;

/**
 * Audit rows keep what changed, never a secret: any field whose name looks
 * like one is replaced, at any depth. Values are also reduced to plain JSON
 * (no undefined, Dates as ISO strings, no NUL characters jsonb would reject).
 */
export function redactSecrets(v: unknown): unknown {
  if (v === undefined) return null;
  if (v === null || typeof v !== 'object') {
    return typeof v === 'string' ? v.replaceAll('\u0000', '') : v;
  }
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(redactSecrets);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    out[k] = SECRET_KEY.test(k) && !COUNT_KEY.test(k) ? '[redacted]' : redactSecrets(x);
  }
  return out;
}
