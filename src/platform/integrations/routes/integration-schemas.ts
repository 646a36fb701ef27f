import { AllowedHost } from '../../../secrets/index.js';
import { z } from 'zod';
import { MetadataObject, Text, Uuid } from '../../../http/json-schemas.js';
import { INTEGRATION_STATUSES } from '../integrations-repo.js';

/** Field schemas of the integration routes. */

export { Uuid };
export const IdParams = z.strictObject({ id: Uuid });

// The table's CHECK, so a bad name is a 400 naming the field.
export const Provider = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z][a-z0-9_.-]*$/, 'lower-case letters, digits, "_", "-" and "." starting with a letter (github, slack, google, custom …)');
const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);
// RFC 6749 §3.3 scope-token: printable ASCII except space, " and \.
const Scope = z.string().min(1).max(200).regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope is printable ASCII without spaces, quotes or backslashes');
export const Scopes = z.array(Scope).max(100);
const Token = z.string().min(1, 'must not be empty').max(16_384).refine((s) => !/[\r\n\0]/.test(s), 'must not contain CR, LF or NUL');
const Seconds = z.number().int().min(0).max(10 * 365 * 86_400);
const ClientAuth = z.enum(['basic', 'post']).describe('how the client authenticates at the token endpoint: HTTP Basic (client_secret_basic) or in the form (client_secret_post)');
const ParamName = z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'must be a query parameter name');

const OAuthSettings = z.strictObject({
  authorizeUrl: HttpUrl.nullable().optional().describe("the provider's authorization endpoint"),
  tokenUrl: HttpUrl.nullable().optional().describe("the provider's token endpoint (code exchange and refresh)"),
  revocationUrl: HttpUrl.nullable().optional().describe("the provider's RFC 7009 revocation endpoint, if it has one"),
  redirectUri: HttpUrl.nullable().optional().describe('the redirect URI registered with the provider; it must lead to GET /v1/integrations/oauth/callback'),
  clientId: Text(500).min(1).nullable().optional(),
  clientSecret: Token.nullable().optional().describe('write-only: stored encrypted, never returned (oauth.clientSecretSet says whether one is set)'),
  clientAuth: ClientAuth.optional(),
  authorizeParams: z.record(ParamName, Text(2000)).optional().describe('extra query parameters of the authorization request (access_type=offline …)'),
});

const Common = {
  displayName: Text(255).trim().min(1, 'must not be blank').optional(),
  providerAccountId: Text(255).min(1).nullable().optional(),
  providerAccountName: Text(255).min(1).nullable().optional(),
  config: MetadataObject.optional().describe('descriptive settings (never credentials: secret-looking keys are refused)'),
  scopes: Scopes.optional().describe('the scopes the authorization asks for'),
  allowedHosts: z.array(AllowedHost).max(50).optional()
    .describe('the hosts tools may send this integration\'s token to (api.example.com, or *.example.com for its sub-domains); github, google and slack default to their API hosts, others to none (no tool may send it)'),
  oauth: OAuthSettings.optional(),
};

export const NewIntegrationBody = z.strictObject({
  provider: Provider.describe('github, slack and google get their OAuth endpoints filled in; custom or any other name: give them in oauth'),
  ...Common,
});

export const IntegrationChangeBody = z.strictObject({
  ...Common,
  enabled: z.boolean().optional().describe('false: disabled, its token is not handed out; true: back on'),
  version: z.number().int().min(1).max(2_147_483_647).describe('the version you read; a change since answers 409 version_conflict'),
});

export const IntegrationListQuery = {
  provider: Provider.optional(),
  status: z.enum(INTEGRATION_STATUSES).optional(),
};

export const TokenBody = z.strictObject({
  accessToken: Token.describe('write-only: stored encrypted, never returned'),
  refreshToken: Token.nullable().optional().describe('write-only; with it the token is refreshed before it expires'),
  tokenType: z.string().min(1).max(50).regex(/^[A-Za-z0-9_.-]+$/, 'must be an authorization scheme such as Bearer').optional(),
  expiresIn: Seconds.nullable().optional().describe('seconds until the access token expires (the token endpoint\'s expires_in)'),
  refreshTokenExpiresIn: Seconds.nullable().optional(),
  scopes: Scopes.optional(),
});

export const CallbackQuery = z.object({
  state: z.string().min(1).max(500),
  code: z.string().min(1).max(4096).optional(),
  error: z.string().min(1).max(200).optional(),
  error_description: z.string().max(1000).optional(),
});
