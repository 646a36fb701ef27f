import { sleep } from './sleep.js';

export interface RetryPolicy {
  /** Total attempts, the first included (1 = never retry). */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for; the error surfaces instead. */
  maxRetryAfterMs: number;
}

/** What an error must say for withRetry to decide (ProviderError, EmbedderError). */
export interface Retryable extends Error {
  retryable: boolean;
  /** what the server asked for (Retry-After), a floor for the wait */
  retryAfterMs?: number | undefined;
  /** set by withRetry: the attempts made when it surfaced */
  attempts?: number | undefined;
}

export interface RetryOptions<E extends Retryable> {
  /** which thrown values are this caller's errors; anything else is rethrown at once */
  is: (err: unknown) => err is E;
  signal?: AbortSignal | undefined;
  random?: (() => number) | undefined;
  onRetry?: ((info: { attempt: number; delayMs: number; error: E }) => void) | undefined;
  /** called when a retryable error is thrown because the attempts ran out (to say so in its message) */
  onGiveUp?: ((error: E, attempts: number) => void) | undefined;
}

/**
 * Exponential back-off with full jitter: a uniform draw in [0, min(max, base·2^(n-1))].
 * Full jitter spreads clients that failed together, so they do not retry together.
 */
export function backoffDelay(failedAttempts: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failedAttempts - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `attempt` until it succeeds, throws something that is not a retryable
 * error of the caller's kind, or the attempts run out. The final error carries `attempts`.
 */
export async function withRetry<T, E extends Retryable>(attempt: (n: number) => Promise<T>, policy: RetryPolicy, opts: RetryOptions<E>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!opts.is(err)) throw err;
      err.attempts = n;
      if (!err.retryable) throw err;
      if (n >= policy.maxAttempts) {
        opts.onGiveUp?.(err, n);
        throw err;
      }
      if (err.retryAfterMs !== undefined && err.retryAfterMs > policy.maxRetryAfterMs) {
        err.message += ` (the server asked to wait ${Math.ceil(err.retryAfterMs / 1000)}s, longer than the ${Math.ceil(policy.maxRetryAfterMs / 1000)}s allowed)`;
        throw err;
      }
      // Retry-After is a floor: the server knows when it will have capacity.
      const delayMs = Math.max(err.retryAfterMs ?? 0, backoffDelay(n, policy, opts.random));
      opts.onRetry?.({ attempt: n, delayMs, error: err });
      await sleep(delayMs, opts.signal);
    }
  }
}
