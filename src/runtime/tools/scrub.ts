/**
 * Takes secret values out of what a tool call returns. An API may echo a
 * request header back (debug endpoints, error pages), and whatever the outcome
 * carries reaches the model, the spans and the logs.
 */

export type Scrub = <T>(value: T) => T;

const REDACTED = '[redacted]';
// Shorter values would match ordinary text everywhere; no real credential is this short.
const MIN_SCRUBBED_LENGTH = 4;

/** A function that copies a JSON-like value with every occurrence of the secrets replaced, in strings and keys alike. */
export function scrubber(secrets: readonly string[]): Scrub {
  // Longest first, so a secret containing another is replaced whole.
  const values = [...new Set(secrets)].filter((s) => s.length >= MIN_SCRUBBED_LENGTH).sort((a, b) => b.length - a.length);
  if (values.length === 0) return (v) => v;
  const text = (s: string) => values.reduce((acc, v) => acc.replaceAll(v, REDACTED), s);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), walk(x)]));
    }
    return v;
  };
  return <T>(v: T) => walk(v) as T;
}
