import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, meta, principal } from '../../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { IntegrationsDeps } from '../deps.js';
import * as integrations from '../integrations-service.js';
import { completeAuthorization, startAuthorization } from '../oauth-flow-service.js';
import { refreshNow, revokeIntegration, storeToken } from '../tokens-service.js';
import { CallbackQuery, IdParams, IntegrationChangeBody, IntegrationListQuery, NewIntegrationBody, TokenBody, Uuid } from './integration-schemas.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });
const tags = ['integrations'];

/**
 * /v1/integrations. No answer carries a token or the client secret: the
 * integration view has token metadata (expiresAt, scopes, tokenType,
 * refreshedAt …) and oauth.clientSecretSet only.
 */
export function integrationsRoutes(deps: IntegrationsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/integrations', {
      config: { permission: 'integrations:write' },
      schema: { tags, summary: 'Create an integration (pending until a token is obtained or stored)', body: NewIntegrationBody },
    }, async (req, reply) => reply.status(201).send(await integrations.createIntegration(deps, actor(req), req.body)));

    r.get('/v1/integrations', {
      config: { permission: 'integrations:read' },
      schema: { tags, summary: 'Integrations of the organization, newest first, with token metadata (never tokens)', querystring: z.strictObject({ ...pageQuery, ...IntegrationListQuery }) },
    }, async (req) => {
      const q = req.query;
      const rows = await integrations.listIntegrations(deps, principal(req).orgId, {
        provider: q.provider, status: q.status, before: decodeCursor(q.cursor, Cursor), limit: q.limit + 1,
      });
      return page(rows, q.limit, (i) => ({ createdAt: new Date(i.createdAt).toISOString(), id: i.id }));
    });

    r.get('/v1/integrations/:id', {
      config: { permission: 'integrations:read' },
      schema: { tags, summary: 'One integration with its token metadata (never the token)', params: IdParams },
    }, async (req) => integrations.getIntegration(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/integrations/:id', {
      config: { permission: 'integrations:write' },
      schema: { tags, summary: 'Change an integration, its OAuth client settings, or switch it off/on (enabled)', params: IdParams, body: IntegrationChangeBody },
    }, async (req) => integrations.updateIntegration(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/integrations/:id', {
      config: { permission: 'integrations:write' },
      schema: {
        tags,
        summary: 'Delete an integration and its stored tokens (the provider is not told: POST …/revoke first to end the grant there)',
        params: IdParams,
        querystring: z.strictObject({ version: z.coerce.number().int().min(1).max(2_147_483_647).optional().describe('the version you read; stale answers 409') }),
      },
    }, async (req, reply) => {
      await integrations.deleteIntegration(deps, actor(req), req.params.id, req.query.version);
      return reply.status(204).send();
    });

    r.put('/v1/integrations/:id/token', {
      config: { permission: 'integrations:write' },
      schema: { tags, summary: 'Store a token obtained elsewhere (encrypted; never returned); the integration becomes connected', params: IdParams, body: TokenBody },
    }, async (req) => storeToken(deps, actor(req), req.params.id, req.body));

    r.post('/v1/integrations/:id/token/refresh', {
      config: { permission: 'integrations:write' },
      schema: { tags, summary: "Refresh the token now at the provider's token endpoint (RFC 6749 §6); answers the token metadata", params: IdParams },
    }, async (req) => {
      const orgId = principal(req).orgId;
      await refreshNow(deps, orgId, req.params.id);
      return integrations.getIntegration(deps, orgId, req.params.id);
    });

    r.post('/v1/integrations/:id/revoke', {
      config: { permission: 'integrations:write' },
      schema: { tags, summary: 'Revoke the tokens at the provider (RFC 7009, when a revocationUrl is set) and delete them here', params: IdParams },
    }, async (req) => revokeIntegration(deps, actor(req), req.params.id));

    r.post('/v1/integrations/:id/oauth/authorize', {
      config: { permission: 'integrations:write' },
      schema: {
        tags,
        summary: "Start the authorization-code flow (PKCE): answers the provider's URL to send the user to; valid 10 minutes",
        params: IdParams,
      },
    }, async (req, reply) => reply.status(201).send(await startAuthorization(deps, actor(req), req.params.id)));

    r.get('/v1/integrations/oauth/callback', {
      // Reached by the user's browser, sent back by the provider: no login. The state is what is trusted.
      config: { auth: 'public' },
      schema: {
        tags,
        summary: "Where the provider sends the user back (the redirect URI): redeems the state once, exchanges the code, stores the tokens",
        security: [],
        querystring: CallbackQuery,
      },
    }, async (req) => {
      const m = meta(req);
      const q = req.query;
      const integration = await completeAuthorization(deps, {
        state: q.state, code: q.code, error: q.error, errorDescription: q.error_description, ip: m.ip, userAgent: m.userAgent, requestId: m.requestId,
      });
      return { integrationId: integration.id, status: integration.status, token: integration.token };
    });
  };
}
