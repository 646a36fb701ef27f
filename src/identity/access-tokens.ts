import { errors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../errors.js';

/** Short-lived signed access tokens (HS256 JWT). Refresh tokens are opaque and live in the database. */
export interface AccessClaims {
  userId: string;
  orgId: string;
  sessionId: string;
}

const ISSUER = 'agentbase';

export function accessTokens(key: Uint8Array, ttlSeconds: number) {
  return {
    ttlSeconds,
    sign(c: AccessClaims): Promise<string> {
      return new SignJWT({ org: c.orgId, sid: c.sessionId })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(c.userId)
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
    },
    async verify(token: string): Promise<AccessClaims> {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] });
        if (typeof payload.sub !== 'string' || typeof payload.org !== 'string' || typeof payload.sid !== 'string') {
          throw new AppError(401, 'invalid_token', 'the access token is missing required claims; log in again');
        }
        return { userId: payload.sub, orgId: payload.org, sessionId: payload.sid };
      } catch (err) {
        if (err instanceof AppError) throw err;
        if (err instanceof errors.JWTExpired) {
          throw new AppError(401, 'token_expired', 'the access token has expired; get a new one with POST /v1/auth/refresh');
        }
        throw new AppError(401, 'invalid_token', 'the access token is not valid (bad signature or format); log in again');
      }
    },
  };
}

export type AccessTokens = ReturnType<typeof accessTokens>;
