/** Thrown by a handler for a failure no retry can fix: the job is dead-lettered at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

/**
 * Exponential back-off with equal jitter: attempt n waits between half and all
 * of base·2^(n-1), capped; the jitter spreads a burst of failures apart.
 */
export function exponentialBackoff(attempt: number, opts: { baseMs?: number; maxMs?: number; random?: () => number } = {}): number {
  const { baseMs = 1000, maxMs = 3_600_000, random = Math.random } = opts;
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** What a failed attempt records: PostgreSQL text cannot hold NUL, and the column holds 4000 characters. */
export function errorText(err: unknown): string {
  const s = err instanceof Error ? `${err.name}: ${err.message}` : `thrown: ${typeof err === 'string' ? err : JSON.stringify(err) ?? String(err)}`;
  return s.replaceAll('\u0000', '').slice(0, 4000);
}
