import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principal } from '../../http/context.js';
import { eraseOrganization, eraseUser, type EraseDeps } from './erase-service.js';

// Optional in the schema so a missing confirmation gets its own code (confirmation_required), not validation_failed.
const Confirm = {
  confirm: z.string().max(255).optional().describe('DELETE /v1/org: the organization slug or name; DELETE /v1/users/{id}: your account email'),
  password: z.string().max(256).optional().describe('your password (step-up)'),
  mfaCode: z.string().regex(/^\d{6}$/, 'a 6-digit code').optional().describe('a current TOTP code, when two-factor authentication is on'),
  recoveryCode: z.string().min(1).max(64).optional(),
};

export function eraseRoutes(deps: EraseDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.delete('/v1/org', {
      config: { permission: 'orgs:write' },
      schema: {
        tags: ['org'],
        summary: 'Erase the organization: every row of it in every table, its audit chain, and the accounts of members who belong to no other organization. Owner only, synchronous',
        body: z.strictObject(Confirm).nullish(),
      },
    }, async (req) => {
      const p = principal(req);
      return eraseOrganization(deps, { kind: p.kind, userId: p.userId, orgId: p.orgId }, req.body ?? {});
    });

    r.delete('/v1/users/:id', {
      schema: {
        tags: ['me'],
        summary: 'Erase your own account and personal data everywhere (organizations where you are the only member go with it). Synchronous',
        params: z.strictObject({ id: z.uuid() }),
        body: z.strictObject(Confirm).nullish(),
      },
    }, async (req) => {
      const p = principal(req);
      return eraseUser(deps, { kind: p.kind, userId: p.userId, orgId: p.orgId }, req.params.id, req.body ?? {});
    });
  };
}
