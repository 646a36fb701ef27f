/**
 * Outbound HTTP helpers shared by every module that calls another service
 * (model providers in runtime, embedders in memory): retries with full jitter
 * that honour Retry-After, and bounded body reads. A module of its own so
 * runtime and memory both use one copy without importing each other.
 *
 * Terminology:
 * - attempt:   one request; a call is up to `maxAttempts` attempts.
 * - retryable: an error whose cause may pass (429, 5xx, a timeout, a reset).
 */
export { backoffDelay, withRetry, type RetryPolicy, type Retryable, type RetryOptions } from './retry.js';
export { parseRetryAfter } from './retry-after.js';
export { sleep } from './sleep.js';
export { readBody } from './read-body.js';
export { urlPassword, withoutCredentials } from './url-credentials.js';
