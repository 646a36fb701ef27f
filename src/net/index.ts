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
// Egress under a policy (no private addresses unless allowed, pinned DNS, a deadline, a size cap):
// http tools in runtime and OAuth endpoints in platform/integrations share it.
export { addressCategory, resolveEgress, pinnedLookup, EgressRefusedError, type EgressPolicy, type EgressRefusal, type ResolvedAddress } from './egress.js';
export { egressRequest, EgressRequestError, type EgressRequest, type EgressResponse, type EgressFailure } from './egress-request.js';
