import type { ErrorCode } from '../errors.js';

/**
 * Failures the API did not describe: no answer at all (status 0: network_error,
 * timeout, aborted), or an answer that is not the API's JSON (invalid_response,
 * with its HTTP status; a proxy's HTML error page, say).
 */
export type TransportErrorCode = 'network_error' | 'timeout' | 'aborted' | 'invalid_response';

export type AgentbaseErrorCode = ErrorCode | TransportErrorCode;

export interface AgentbaseErrorInit {
  status: number;
  code: AgentbaseErrorCode | (string & {});
  message: string;
  requestId?: string | undefined;
  details?: unknown;
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

/**
 * Every failure of an AgentbaseClient call. An answer from the API keeps its
 * status and its { error: { code, message, requestId, details } }; anything
 * else gets a TransportErrorCode.
 */
export class AgentbaseError extends Error {
  override name = 'AgentbaseError';
  readonly status: number;
  readonly code: AgentbaseErrorCode | (string & {});
  readonly requestId: string | undefined;
  readonly details: unknown;
  /** from Retry-After, when the API sent one */
  readonly retryAfterMs: number | undefined;

  constructor(init: AgentbaseErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.details = init.details;
    this.retryAfterMs = init.retryAfterMs;
  }

  /**
   * Whether sending the same request again may succeed soon: no answer at
   * all, 408, 429 or a 5xx — except a monthly quota (429 quota_exceeded),
   * which only the next month or a higher limit clears. Safe for ingestion,
   * which is idempotent by clientId.
   */
  get retryable(): boolean {
    if (this.status === 0) return this.code !== 'aborted';
    if (this.status === 429) return this.code !== 'quota_exceeded';
    return this.status === 408 || this.status >= 500;
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
