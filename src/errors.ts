/**
 * The error vocabulary. Modules throw AppError with a stable `code`; the HTTP
 * boundary (src/http/error-handler.ts) is the only place that turns errors
 * into responses. Anything that is not an AppError is a bug and answers 500.
 */
export const ERROR_CODES = [
  'bad_request',
  'invalid_json',
  'json_too_deep',
  'validation_failed',
  'unauthenticated',
  'invalid_credentials',
  'invalid_token',
  'token_expired',
  'mfa_required',
  'invalid_mfa_code',
  'refresh_token_reused',
  'forbidden',
  'platform_admin_required',
  'not_found',
  'no_default_pattern',
  'route_not_found',
  'method_not_allowed',
  'conflict',
  'session_completed',
  'version_conflict',
  'eval_gate_failed',
  'vector_unavailable',
  'pg_stat_statements_unavailable',
  'embedder_error',
  'payload_too_large',
  'headers_too_large',
  'request_timeout',
  'unsupported_media_type',
  'account_locked',
  'rate_limited',
  'share_password_required',
  'share_expired',
  'share_exhausted',
  'invalid_oauth_state',
  'quota_exceeded',
  'budget_exceeded',
  'session_expired',
  'not_configured',
  'provider_error',
  'payment_failed',
  'not_ready',
  'confirmation_required',
  'retention_out_of_bounds',
  'console_not_built',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface Issue {
  path: string;
  message: string;
}

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown) => new AppError(400, 'bad_request', message, details);
export const validationFailed = (message: string, issues: Issue[]) =>
  new AppError(400, 'validation_failed', message, { issues });
export const unauthenticated = (message = 'send Authorization: Bearer <access token or API key>') =>
  new AppError(401, 'unauthenticated', message);
export const forbidden = (permission: string) =>
  new AppError(403, 'forbidden', `this needs the ${permission} permission, which your role or API key does not grant`, {
    permission,
  });
export const notFound = (what: string, id?: string) =>
  new AppError(404, 'not_found', id ? `${what} ${id} does not exist` : `${what} does not exist`);
export const conflict = (message: string, details?: unknown) => new AppError(409, 'conflict', message, details);
export const versionConflict = (what: string, expected: number) =>
  new AppError(
    409,
    'version_conflict',
    `${what} was changed by someone else since version ${expected}; fetch it again and retry with the current version`,
    { expectedVersion: expected },
  );
