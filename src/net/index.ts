/**
 * Outbound HTTP helpers shared by every module that calls another service
 * (model providers in runtime, embedders in memory): retries with full jitter
 * that honour Retry-After, bounded body reads, and the egress policy (which
 * addresses a tenant-given URL may reach; egress.ts) with one pinned request
 * under it (egress-request.ts). A module of its own so runtime, memory and
 * platform (webhook deliveries) use one copy without importing each other.
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
export {
  addressCategory, EgressRefusedError, pinnedLookup, resolveEgress, type EgressPolicy, type EgressRefusal, type ResolvedAddress,
} from './egress.js';
export { egressRequest, EgressRequestError, type EgressFailure, type EgressRequest, type EgressResponse } from './egress-request.js';
