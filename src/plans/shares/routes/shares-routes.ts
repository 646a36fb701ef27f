import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../../http/context.js';
import { Text } from '../../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { PlansDeps } from '../../plans-service.js';
import { IdParams, Uuid } from '../../routes/plan-schemas.js';
import { SLUG_RE } from '../share-tokens.js';
import { SHARE_PERMISSIONS, SHARE_TYPES } from '../shares-repo.js';
import * as shares from '../shares-service.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });
const ShareParams = z.strictObject({ id: Uuid, shareId: Uuid });

export const NewShareBody = z.strictObject({
  shareType: z.enum(SHARE_TYPES).describe('public (a slug, anyone with the URL), private (one member, logged in) or link (anyone with the token)'),
  permissions: z.array(z.enum(SHARE_PERMISSIONS)).min(1).max(3).default(['read'])
    .describe('read is always granted; comment lets visitors leave comments, edit lets them change the plan'),
  password: Text(200).min(8, 'must be at least 8 characters').optional().describe('visitors send it in X-Share-Password; stored as an argon2id hash'),
  expiresAt: z.iso.datetime({ offset: true }).optional().describe('when the link stops working (in the future)'),
  maxAccessCount: z.number().int().min(1).max(1_000_000_000).optional().describe('how many times the plan can be viewed through the link'),
  publicSlug: z.string().regex(SLUG_RE, 'must be 3..100 characters of a-z, 0-9 and -, starting and ending with a letter or digit').optional()
    .describe('public shares: the link also answers at /v1/shared/<slug>'),
  sharedWithUserId: Uuid.optional().describe('private shares: the member of this organization it is for'),
  version: z.number().int().min(1).max(2_147_483_647).optional().describe('show this version of the plan instead of the current one'),
});

export function sharesRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/plans/:id/shares', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['plans'],
        summary: 'Share a plan through a link; the answer holds the token, shown this once (only its hash is kept)',
        params: IdParams,
        body: NewShareBody,
      },
    }, async (req, reply) => reply.status(201).send(await shares.createShare(deps, actor(req), req.params.id, req.body)));

    r.get('/v1/plans/:id/shares', {
      config: { permission: 'plans:read' },
      schema: {
        tags: ['plans'],
        summary: "A plan's share links, newest first: type, permissions, token prefix, counts, expiry, revocation (never tokens)",
        params: IdParams,
        querystring: z.strictObject(pageQuery),
      },
    }, async (req) => {
      const rows = await shares.listShares(deps, principal(req).orgId, req.params.id, {
        before: decodeCursor(req.query.cursor, Cursor), limit: req.query.limit + 1,
      });
      return page(rows, req.query.limit, (s) => ({ createdAt: new Date(s.createdAt).toISOString(), id: s.id }));
    });

    r.delete('/v1/plans/:id/shares/:shareId', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['plans'],
        summary: 'Revoke a share link; it then answers 404 like an unknown one (revoking it again is 404 too)',
        params: ShareParams,
      },
    }, async (req, reply) => {
      await shares.revokeShare(deps, actor(req), req.params.id, req.params.shareId);
      return reply.status(204).send();
    });

    r.get('/v1/plans/:id/comments', {
      config: { permission: 'plans:read' },
      schema: {
        tags: ['plans'],
        summary: "Comments on a plan, newest first (those left through share links name the share)",
        params: IdParams,
        querystring: z.strictObject(pageQuery),
      },
    }, async (req) => {
      const rows = await shares.listComments(deps, principal(req).orgId, req.params.id, {
        before: decodeCursor(req.query.cursor, Cursor), limit: req.query.limit + 1,
      });
      return page(rows, req.query.limit, (c) => ({ createdAt: new Date(c.createdAt).toISOString(), id: c.id }));
    });
  };
}
