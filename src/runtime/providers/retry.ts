import { withRetry as retrying, type RetryPolicy } from '../../net/index.js';
import { ProviderError } from './errors.js';

export { backoffDelay, parseRetryAfter, type RetryPolicy } from '../../net/index.js';

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

export interface RetryOptions {
  signal?: AbortSignal;
  random?: () => number;
  onRetry?: (info: { attempt: number; delayMs: number; error: ProviderError }) => void;
}

/**
 * Runs `attempt` until it succeeds, throws something that is not a retryable
 * ProviderError, or the attempts run out. The final error carries `attempts`.
 */
export function withRetry<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy, opts: RetryOptions = {}): Promise<T> {
  return retrying(attempt, policy, { ...opts, is: (err): err is ProviderError => err instanceof ProviderError });
}
