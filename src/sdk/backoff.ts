export interface BackoffOptions {
  /** the ceiling of the first retry's delay */
  initialMs: number;
  /** the ceiling never grows past this */
  maxMs: number;
  /** the longest Retry-After obeyed as given; a longer one is cut to this */
  maxRetryAfterMs: number;
}

/**
 * The delay before retry number `attempt` (1-based): exponential back-off with
 * full jitter (uniform between 0 and the ceiling, so many clients that failed
 * together do not come back together), unless the server said when to come
 * back (Retry-After), which is obeyed.
 */
export function retryDelay(attempt: number, o: BackoffOptions, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, o.maxRetryAfterMs);
  const ceiling = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}
