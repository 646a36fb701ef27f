/**
 * Integrations and OAuth tokens (seed 002 integrations, seed 003 REQ-T129
 * oauth_tokens).
 *
 * Terminology:
 * - integration:  an organization's connection to an outside provider (github,
 *                 slack, google, custom …): descriptive config (never
 *                 credentials), the OAuth client settings, and a status
 *                 (pending, connected, expired, error, revoked, disabled).
 * - token set:    the access token, and the refresh token when the provider
 *                 issued one, sealed with the secrets store's encryption
 *                 (AES-256-GCM, key from AGENTBASE_SECRET). One per
 *                 integration; no route returns it, only its metadata.
 * - authorization request: a run of the authorization-code flow (PKCE, S256):
 *                 a single-use, expiring state bound to the organization,
 *                 integration and user (oauth_states).
 * - refresh:      RFC 6749 §6 at the token endpoint, with the token row
 *                 locked; a rotated refresh token replaces the old one. On
 *                 use within a minute of expiry, on request, and periodically.
 * - revocation:   RFC 7009 at the revocation endpoint when one is set; the
 *                 tokens are deleted here either way.
 * - egress:       provider endpoints are reached under the runtime's egress
 *                 policy (src/net): http(s) only, a deadline, a size cap, no
 *                 private addresses unless AGENTBASE_EGRESS_ALLOW_PRIVATE.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { IntegrationsDeps } from './deps.js';
import { integrationsRoutes as routes } from './routes/integrations-routes.js';

export { integrationsDeps, type IntegrationsDeps } from './deps.js';
export type { Integration, IntegrationStatus, TokenMeta } from './integrations-repo.js';
export { createIntegration, getIntegration, listIntegrations, updateIntegration, deleteIntegration, integrationExists } from './integrations-service.js';
export { integrationAccessToken, refreshNow, refreshExpiringTokens, revokeIntegration, storeToken, type AccessToken } from './tokens-service.js';
export { startAuthorization, completeAuthorization } from './oauth-flow-service.js';

export function integrationsRoutes(deps: IntegrationsDeps): FastifyPluginAsync {
  return routes(deps);
}
