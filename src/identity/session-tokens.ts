import type { Sql } from '../db/index.js';
import type { IdentityDeps } from './deps.js';
import type { RequestMeta } from './principal.js';
import { randomToken, sha256hex } from './secrets.js';
import { insertRefreshToken, insertSession } from './sessions-repo.js';

export const REFRESH_PREFIX = 'abr_';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  sessionId: string;
}

/** Starts a session with its first refresh token, inside the caller's tenant transaction. */
export async function startSession(
  sql: Sql,
  deps: IdentityDeps,
  s: { orgId: string; userId: string; meta: RequestMeta; mfaVerified: boolean },
): Promise<{ sessionId: string; refreshToken: string }> {
  const expiresAt = new Date(Date.now() + deps.auth.refreshTokenTtl * 1000);
  const sessionId = await insertSession(sql, {
    orgId: s.orgId,
    userId: s.userId,
    ip: s.meta.ip,
    userAgent: s.meta.userAgent,
    mfaVerified: s.mfaVerified,
    expiresAt,
  });
  const refreshToken = randomToken(REFRESH_PREFIX);
  await insertRefreshToken(sql, { orgId: s.orgId, sessionId, userId: s.userId, tokenHash: sha256hex(refreshToken), expiresAt });
  return { sessionId, refreshToken };
}

export async function tokenPair(
  deps: IdentityDeps,
  s: { orgId: string; userId: string; sessionId: string; refreshToken: string },
): Promise<TokenPair> {
  return {
    accessToken: await deps.tokens.sign({ userId: s.userId, orgId: s.orgId, sessionId: s.sessionId }),
    refreshToken: s.refreshToken,
    tokenType: 'Bearer',
    expiresIn: deps.tokens.ttlSeconds,
    sessionId: s.sessionId,
  };
}
