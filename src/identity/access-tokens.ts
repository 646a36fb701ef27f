// jose is ESM-only, so it cannot be required lazily; imported by the first token signed or checked.
let joseModule: Promise<typeof import('jose')> | undefined;
const jose = () => (joseModule ??= import('jose'));
import { z } from 'zod';
import { AppError } from '../errors.js';

/** Short-lived signed access tokens (HS256 JWT). Refresh tokens are opaque and live in the database. */
export interface AccessClaims {
  userId: string;
  orgId: string;
  sessionId: string;
}

const ISSUER = 'agentbase';

/**
 * The claims this service signs, checked by shape as well as signature: a
 * token signed with the right key but carrying, say, `org: "x"` (a leaked or
 * misused key, or a token minted by hand) is refused here rather than reaching
 * the tenant transaction as a malformed id.
 */
const Claims = z.object({ sub: z.uuid(), org: z.uuid(), sid: z.uuid() });

export function accessTokens(key: Uint8Array, ttlSeconds: number) {
  return {
    ttlSeconds,
    async sign(c: AccessClaims): Promise<string> {
      const { SignJWT } = await jose();
      return new SignJWT({ org: c.orgId, sid: c.sessionId })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(c.userId)
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
    },
    async verify(token: string): Promise<AccessClaims> {
      const { errors, jwtVerify } = await jose();
      let payload: unknown;
      try {
        // requiredClaims: a token without an expiry would never expire.
        ({ payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'], requiredClaims: ['exp'] }));
      } catch (err) {
        if (err instanceof errors.JWTExpired) {
          throw new AppError(401, 'token_expired', 'the access token has expired; get a new one with POST /v1/auth/refresh');
        }
        throw new AppError(401, 'invalid_token', 'the access token is not valid (bad signature or format); log in again');
      }
      const c = Claims.safeParse(payload);
      if (!c.success) {
        throw new AppError(401, 'invalid_token', 'the access token is missing required claims or they are malformed; log in again');
      }
      return { userId: c.data.sub.toLowerCase(), orgId: c.data.org.toLowerCase(), sessionId: c.data.sid.toLowerCase() };
    },
  };
}

export type AccessTokens = ReturnType<typeof accessTokens>;
