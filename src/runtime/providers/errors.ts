/**
 * ProviderError is what every provider throws for a failed call, so the agent
 * loop can decide (retry, give up, tell the user) from `kind` alone. A caller's
 * own abort is not a ProviderError: the abort reason is rethrown unchanged.
 */
export type ProviderErrorKind =
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'network'
  | 'bad_request'
  | 'auth'
  | 'invalid_response';

export interface ProviderErrorInit {
  kind: ProviderErrorKind;
  message: string;
  retryable: boolean;
  status?: number;
  /** How long the server asked us to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly kind: ProviderErrorKind;
  readonly status?: number;
  readonly retryAfterMs?: number;
  retryable: boolean;
  /** Attempts made before giving up; set by the retry loop. */
  attempts = 1;

  constructor(init: ProviderErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.status = init.status;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** Which kind, and whether a retry may help, for an HTTP error status. */
export function kindForStatus(status: number, errorCode?: string): { kind: ProviderErrorKind; retryable: boolean } {
  if (status === 401 || status === 403) return { kind: 'auth', retryable: false };
  if (status === 408) return { kind: 'timeout', retryable: true };
  // OpenAI answers 429 for an exhausted quota too; waiting does not refill it.
  if (status === 429) return { kind: 'rate_limited', retryable: errorCode !== 'insufficient_quota' };
  if (status >= 500) return { kind: 'server_error', retryable: true };
  return { kind: 'bad_request', retryable: false };
}

/**
 * Removes the secret from text that came from the server or the network stack;
 * some APIs echo the key they rejected.
 */
export function redact(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join('[redacted]');
}
