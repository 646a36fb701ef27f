import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, held, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as keys from '../api-keys-service.js';
import type { IdentityDeps } from '../deps.js';
import { IdParams, PermissionName } from './schemas.js';

const KeyCursor = z.object({ id: z.uuid() });
const viewer = (req: FastifyRequest) => ({ userId: principal(req).userId, held: held(req) });

export function apiKeyRoutes(deps: IdentityDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/api-keys', {
      config: { permission: 'api_keys:write' },
      schema: {
        tags: ['api keys'],
        summary: 'Create an API key for yourself; the secret is in the response once and never again',
        body: z.strictObject({
          name: z.string().trim().min(1).max(255),
          scopes: z.array(z.union([PermissionName, z.literal('*')])).min(1).max(100),
          rateLimit: z.number().int().min(1).max(100_000).optional().describe('requests per minute (default 100)'),
          expiresAt: z.iso.datetime({ offset: true }).optional(),
        }),
      },
    }, async (req, reply) => {
      const { expiresAt, ...rest } = req.body;
      const out = await keys.createApiKey(deps, principal(req), actor(req), held(req), {
        ...rest,
        expiresAt: expiresAt ? new Date(expiresAt) : undefined,
      });
      return reply.status(201).send({ ...out.apiKey, key: out.key });
    });

    r.get('/v1/api-keys', {
      config: { permission: 'api_keys:read' },
      schema: {
        tags: ['api keys'],
        summary: 'Your API keys (everyone\'s with api_keys:manage), newest first, never their secrets',
        querystring: z.strictObject({ ...pageQuery, includeRevoked: z.stringbool().default(false) }),
      },
    }, async (req) => {
      const before = decodeCursor(req.query.cursor, KeyCursor);
      const rows = await keys.listApiKeys(deps, principal(req).orgId, viewer(req), {
        includeRevoked: req.query.includeRevoked,
        beforeId: before?.id,
        limit: req.query.limit + 1,
      });
      return page(rows, req.query.limit, (k) => ({ id: k.id }));
    });

    r.get('/v1/api-keys/:id', {
      config: { permission: 'api_keys:read' },
      schema: { tags: ['api keys'], summary: 'One API key (never its secret)', params: IdParams },
    }, async (req) => keys.getApiKey(deps, principal(req).orgId, viewer(req), req.params.id));

    r.delete('/v1/api-keys/:id', {
      config: { permission: 'api_keys:write' },
      schema: { tags: ['api keys'], summary: 'Revoke an API key; it stops working at once', params: IdParams },
    }, async (req) => keys.revokeApiKey(deps, actor(req), viewer(req), req.params.id));
  };
}
