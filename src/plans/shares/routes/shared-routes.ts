import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { meta } from '../../../http/context.js';
import { Text } from '../../../http/json-schemas.js';
import type { PlansDeps } from '../../plans-service.js';
import { PlanChangeBody } from '../../routes/plan-schemas.js';
import { commentViaShare, editViaShare, openShare, type ShareRequest } from '../share-open-service.js';

const RefParams = z.strictObject({
  tokenOrSlug: z.string().min(1).max(200).describe('the token from the share (abs_…) or a public share\'s slug'),
});
const PasswordHeader = z.object({
  'x-share-password': z.string().max(200).optional().describe('the share\'s password, when it has one'),
});
const NOTE = 'No login needed (a private share needs its member\'s). 404 unknown or revoked; 410 share_expired; '
  + '401 share_password_required / invalid_credentials; 429 rate_limited after too many wrong passwords.';

function shareRequest(req: FastifyRequest, password: string | undefined): ShareRequest {
  const m = meta(req);
  return {
    password, clientAddr: m.ip ?? '0.0.0.0', userId: req.principal?.userId, orgId: req.principal?.orgId,
    userAgent: m.userAgent, requestId: m.requestId,
  };
}

/** /v1/shared: what a share link opens, reached without logging in. */
export function sharedRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/shared/:tokenOrSlug', {
      config: { auth: 'optional' },
      schema: {
        tags: ['plans'],
        summary: 'Open a share link: the plan\'s content at the shared version, counting one access (410 share_exhausted when used up)',
        description: NOTE,
        params: RefParams,
        headers: PasswordHeader,
        security: [{}, { bearer: [] }],
      },
    }, async (req) => openShare(deps, req.params.tokenOrSlug, shareRequest(req, req.headers['x-share-password'])));

    r.post('/v1/shared/:tokenOrSlug/comments', {
      config: { auth: 'optional' },
      schema: {
        tags: ['plans'],
        summary: 'Comment on a shared plan (the share needs the comment permission, else 403); counts no access',
        description: NOTE,
        params: RefParams,
        headers: PasswordHeader,
        body: z.strictObject({
          authorName: Text(100).refine((s) => s.trim().length > 0, 'must not be blank').describe('the name to show with the comment'),
          body: Text(10_000).refine((s) => s.trim().length > 0, 'must not be blank'),
        }),
        security: [{}, { bearer: [] }],
      },
    }, async (req, reply) => reply.status(201).send(
      await commentViaShare(deps, req.params.tokenOrSlug, shareRequest(req, req.headers['x-share-password']), req.body),
    ));

    r.patch('/v1/shared/:tokenOrSlug', {
      config: { auth: 'optional' },
      schema: {
        tags: ['plans'],
        summary: 'Change a shared plan (the share needs the edit permission, else 403; a share pinned to a version answers 409)',
        description: `${NOTE} The change is the plan's next version, recorded as made by the share's creator through the share.`,
        params: RefParams,
        headers: PasswordHeader,
        body: PlanChangeBody,
        security: [{}, { bearer: [] }],
      },
    }, async (req) => {
      const { version, travel, campaign, ...core } = req.body;
      return editViaShare(deps, req.params.tokenOrSlug, shareRequest(req, req.headers['x-share-password']), { version, core, travel, campaign });
    });
  };
}
