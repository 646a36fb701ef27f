import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { effectivePermissions } from '../access.js';
import { whoAmI } from '../auth-service.js';
import type { IdentityDeps } from '../deps.js';
import { confirmTotp, disableMfa, enrollTotp, mfaStatus, regenerateRecoveryCodes } from '../mfa-service.js';
import { AppError } from '../../errors.js';
import { RecoveryCode, TotpCode, Uuid } from './schemas.js';

const StepUp = z.strictObject({ password: z.string().min(1).max(256), mfaCode: TotpCode.optional(), recoveryCode: RecoveryCode.optional() });

export function meRoutes(deps: IdentityDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    // Two-factor settings belong to a person, not a key: API keys are refused.
    const sessionOnly = (kind: string) => {
      if (kind !== 'user') throw new AppError(403, 'forbidden', 'two-factor settings need a signed-in user, not an API key');
    };

    r.get('/v1/me', {
      schema: { tags: ['me'], summary: 'Who the token belongs to, its organization and permissions' },
    }, async (req) => {
      const p = principal(req);
      return whoAmI(deps, p, req.permissions ?? (await effectivePermissions(deps, p)));
    });

    r.get('/v1/me/mfa', { schema: { tags: ['me'], summary: 'Whether two-factor authentication is on' } }, async (req) => {
      const p = principal(req);
      return mfaStatus(deps, p.orgId, p.userId);
    });

    r.post('/v1/me/mfa/totp', {
      schema: {
        tags: ['me'],
        summary: 'Start TOTP enrollment: returns the secret and otpauth:// URL for an authenticator app',
        body: z.strictObject({ name: z.string().min(1).max(100).optional() }).nullish(),
      },
    }, async (req, reply) => {
      sessionOnly(principal(req).kind);
      return reply.status(201).send(await enrollTotp(deps, actor(req), req.body?.name ?? 'Authenticator'));
    });

    r.post('/v1/me/mfa/totp/confirm', {
      schema: {
        tags: ['me'],
        summary: 'Confirm enrollment with a current code; turns MFA on and returns recovery codes once',
        body: z.strictObject({ deviceId: Uuid, code: TotpCode }),
      },
    }, async (req) => {
      sessionOnly(principal(req).kind);
      return confirmTotp(deps, actor(req), req.body.deviceId, req.body.code);
    });

    r.post('/v1/me/mfa/disable', {
      schema: { tags: ['me'], summary: 'Turn MFA off (needs the password and a code)', body: StepUp },
    }, async (req, reply) => {
      sessionOnly(principal(req).kind);
      await disableMfa(deps, actor(req), req.body);
      return reply.status(204).send();
    });

    r.post('/v1/me/mfa/recovery-codes', {
      schema: { tags: ['me'], summary: 'Replace the recovery codes (needs the password and a code)', body: StepUp },
    }, async (req) => {
      sessionOnly(principal(req).kind);
      return regenerateRecoveryCodes(deps, actor(req), req.body);
    });

  };
}
