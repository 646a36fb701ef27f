import { AppError } from '../errors.js';
import type { IdentityDeps } from './deps.js';
import { authenticateApiKey } from './api-keys-repo.js';
import type { Principal } from './principal.js';
import { principalPermissions } from './rbac-repo.js';
import { sha256hex } from './secrets.js';

export const API_KEY_PREFIX = 'ab_';
export const API_KEY_LENGTH = API_KEY_PREFIX.length + 40; // 30 random bytes, base64url

export interface RateLimitState {
  limit: number;
  remaining: number;
  resetAt: Date;
}

/**
 * Turns an Authorization header into a principal. Access tokens are checked
 * without the database (signature and expiry); API keys cost one round trip,
 * which also counts the request against the key's per-minute limit.
 */
export async function authenticate(
  deps: IdentityDeps,
  header: string | undefined,
): Promise<{ principal: Principal; rate?: RateLimitState } | null> {
  if (header === undefined || header === '') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new AppError(401, 'invalid_token', 'the Authorization header must be "Bearer <access token or API key>"');
  const token = m[1]!;
  if (token.startsWith(API_KEY_PREFIX)) {
    if (token.length !== API_KEY_LENGTH) throw new AppError(401, 'invalid_token', 'the API key is not valid');
    const key = await deps.db.transaction((sql) => authenticateApiKey(sql, token.slice(0, 12), sha256hex(token)));
    if (!key) throw new AppError(401, 'invalid_token', 'the API key is not valid');
    if (key.revokedAt) throw new AppError(401, 'invalid_token', 'the API key was revoked');
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) {
      throw new AppError(401, 'token_expired', 'the API key has expired; create a new one');
    }
    const rate = { limit: key.rateLimit, remaining: Math.max(0, key.rateLimit - key.windowCount), resetAt: key.windowResetAt };
    if (key.windowCount > key.rateLimit) {
      const retry = Math.max(1, Math.ceil((key.windowResetAt.getTime() - Date.now()) / 1000));
      throw new AppError(
        429,
        'rate_limited',
        `this API key allows ${key.rateLimit} requests per minute; retry in ${retry} seconds`,
        { limit: key.rateLimit, retryAfterSeconds: retry },
        { 'retry-after': String(retry), ...rateHeaders(rate) },
      );
    }
    return {
      principal: { kind: 'api_key', userId: key.userId, orgId: key.orgId, sessionId: null, apiKeyId: key.id, scopes: key.scopes },
      rate,
    };
  }
  const c = await deps.tokens.verify(token);
  return { principal: { kind: 'user', userId: c.userId, orgId: c.orgId, sessionId: c.sessionId, apiKeyId: null, scopes: null } };
}

export function rateHeaders(r: RateLimitState): Record<string, string> {
  return {
    'x-ratelimit-limit': String(r.limit),
    'x-ratelimit-remaining': String(r.remaining),
    'x-ratelimit-reset': String(Math.ceil(r.resetAt.getTime() / 1000)),
  };
}

/**
 * What the principal may do in its organization: the permissions its roles
 * grant (inherited ones included), narrowed by an API key's scopes. A session
 * that was logged out, or a membership that ended, yields an error or nothing.
 */
export async function effectivePermissions(deps: IdentityDeps, p: Principal): Promise<Set<string>> {
  const { sessionLive, memberActive, permissions: perms } = await deps.db.tenant(p.orgId, (sql) =>
    principalPermissions(sql, p.userId, p.sessionId),
  );
  if (!sessionLive) throw new AppError(401, 'invalid_token', 'this session has ended (logged out or revoked); log in again');
  if (!memberActive) {
    throw new AppError(401, 'invalid_token', 'this user is no longer an active member of the organization (or is suspended)');
  }
  const scoped = p.scopes && !p.scopes.includes('*') ? perms.filter((x) => p.scopes!.includes(x)) : perms;
  return new Set(scoped);
}
