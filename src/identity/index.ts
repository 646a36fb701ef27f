import type { FastifyPluginAsync } from 'fastify';
import type { IdentityDeps } from './deps.js';
import { apiKeyRoutes } from './routes/api-keys-routes.js';
import { authRoutes } from './routes/auth-routes.js';
import { meRoutes } from './routes/me-routes.js';
import { orgRoutes } from './routes/org-routes.js';

export type { IdentityDeps } from './deps.js';
export type { Principal, RequestMeta } from './principal.js';
export { authenticate, effectivePermissions, rateHeaders, API_KEY_PREFIX, type RateLimitState } from './access.js';
export { accessTokens, type AccessTokens } from './access-tokens.js';
export { deriveKeys, seal, open, type Keys } from './secrets.js';
export { signup, login } from './auth-service.js';
export { createApiKey } from './api-keys-service.js';
export { totpCode } from './totp.js';
export { checkCredentials } from './credentials.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { findMemberRefs, lockOrganizationLimits, listMembers as listMembersIn, type OrgLimits, type MemberRow } from './orgs-repo.js';
export { activeMemberCount, getOrg as getOrganization, setOrganizationLimits, type PlanLimits } from './orgs-repo.js';
export { getRoleByName } from './rbac-repo.js';

export function identityRoutes(deps: IdentityDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(authRoutes(deps));
    await app.register(meRoutes(deps));
    await app.register(orgRoutes(deps));
    await app.register(apiKeyRoutes(deps));
  };
}
