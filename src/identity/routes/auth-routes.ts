import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { meta, principal } from '../../http/context.js';
import { login, logout, refresh, signup } from '../auth-service.js';
import type { IdentityDeps } from '../deps.js';
import { acceptInvitation } from '../members-service.js';
import { switchOrganization } from '../switch-org-service.js';
import { Email, OrgSlug, Password, RecoveryCode, TotpCode, Username, Uuid } from './schemas.js';

export function authRoutes(deps: IdentityDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/auth/signup', {
      config: { auth: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Create a user and their organization (the user becomes its owner) and log in',
        body: z.strictObject({
          email: Email,
          password: Password,
          fullName: z.string().min(1).max(255).optional(),
          username: Username.optional(),
          organizationName: z.string().trim().min(1).max(255),
          organizationSlug: OrgSlug.optional(),
        }),
      },
    }, async (req, reply) => {
      const out = await signup(deps, req.body, meta(req));
      return reply.status(201).send(out);
    });

    r.post('/v1/auth/login', {
      config: { auth: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Exchange email and password (and a two-factor code when enabled) for tokens',
        body: z.strictObject({
          email: Email,
          password: z.string().min(1).max(256),
          organizationId: Uuid.optional(),
          mfaCode: TotpCode.optional(),
          recoveryCode: RecoveryCode.optional(),
        }),
      },
    }, async (req) => login(deps, req.body, meta(req)));

    r.post('/v1/auth/refresh', {
      config: { auth: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token: returns a new access and refresh token; the old one stops working',
        body: z.strictObject({ refreshToken: z.string().min(1).max(200) }),
      },
    }, async (req) => refresh(deps, req.body.refreshToken, meta(req)));

    r.post('/v1/auth/switch-organization', {
      schema: {
        tags: ['auth'],
        summary: 'Move to another organization you belong to: new tokens for a new session there (the current session stays valid until logged out)',
        body: z.strictObject({ organizationId: Uuid }),
      },
    }, async (req) => switchOrganization(deps, principal(req), req.body.organizationId, meta(req)));

    r.post('/v1/auth/logout', {
      config: { auth: 'optional' },
      schema: {
        tags: ['auth'],
        summary: 'End the session of the access token, or of the given refresh token',
        body: z.strictObject({ refreshToken: z.string().min(1).max(200).optional() }).nullish(),
      },
    }, async (req, reply) => {
      await logout(deps, req.principal, req.body?.refreshToken, meta(req));
      return reply.status(204).send();
    });

    r.post('/v1/auth/invitations/accept', {
      config: { auth: 'optional' },
      schema: {
        tags: ['auth'],
        summary: 'Accept an invitation: signed in, or creating an account with a password',
        body: z.strictObject({
          token: z.string().min(1).max(200),
          password: z.string().min(1).max(256).optional(),
          mfaCode: TotpCode.optional(),
          recoveryCode: RecoveryCode.optional(),
          fullName: z.string().min(1).max(255).optional(),
          username: Username.optional(),
        }),
      },
    }, async (req, reply) => {
      const out = await acceptInvitation(deps, req.principal, req.body, meta(req));
      return reply.status(201).send(out);
    });
  };
}
