import { ProviderError } from './errors.js';

export interface RetryPolicy {
  /** Total attempts, the first included (1 = never retry). */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for; the error surfaces instead. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/**
 * Exponential back-off with full jitter: a uniform draw in [0, min(max, base·2^(n-1))].
 * Full jitter spreads clients that failed together, so they do not retry together.
 */
export function backoffDelay(failedAttempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failedAttempts - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Milliseconds to wait from `retry-after-ms` (sent by OpenAI) or `Retry-After`
 * (delay-seconds or an HTTP date); undefined when absent or unreadable.
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions {
  signal?: AbortSignal;
  random?: () => number;
  onRetry?: (info: { attempt: number; delayMs: number; error: ProviderError }) => void;
}

/**
 * Runs `attempt` until it succeeds, throws something that is not a retryable
 * ProviderError, or the attempts run out. The final error carries `attempts`.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  opts: RetryOptions = {},
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      err.attempts = n;
      if (!err.retryable || n >= policy.maxAttempts) throw err;
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
