import type { FastifyRequest } from 'fastify';
import type { Actor } from '../audit/index.js';
import { unauthenticated } from '../errors.js';
import type { Principal, RequestMeta } from '../identity/index.js';

/**
 * Every /v1 route says how it is reached: `auth: 'public'` (no token),
 * `'optional'`, or the default — a principal is required, and `permission`
 * names the one permission it needs. Checking happens once, in the hook in
 * app.ts, never inside handlers.
 */
declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: 'public' | 'optional' | 'required';
    permission?: string;
  }
  interface FastifyRequest {
    principal: Principal | null;
    permissions: Set<string> | null;
  }
}

export function meta(req: FastifyRequest): RequestMeta {
  const ua = req.headers['user-agent'];
  return { ip: req.ip ?? null, userAgent: typeof ua === 'string' ? ua.slice(0, 1000) : null, requestId: req.id };
}

export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw unauthenticated();
  return req.principal;
}

export function actor(req: FastifyRequest): Actor & { userId: string } {
  const p = principal(req);
  const m = meta(req);
  return {
    orgId: p.orgId,
    actorType: p.kind,
    userId: p.userId,
    apiKeyId: p.apiKeyId,
    sessionId: p.sessionId,
    ip: m.ip,
    userAgent: m.userAgent,
    requestId: m.requestId,
  };
}

export function held(req: FastifyRequest): Set<string> {
  return req.permissions ?? new Set();
}
