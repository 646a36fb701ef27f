import { appendAudit } from '../audit/index.js';
import { AppError } from '../errors.js';
import type { LoginResult } from './auth-service.js';
import type { IdentityDeps } from './deps.js';
import { userOrganizations } from './orgs-repo.js';
import type { Principal, RequestMeta } from './principal.js';
import { sessionState } from './sessions-repo.js';
import { startSession, tokenPair } from './session-tokens.js';

/**
 * A signed-in user moves to another organization they belong to without
 * typing their password again (the console's organization switcher): a new
 * session in that organization, with the two-factor state of the session it
 * came from. The session it came from stays valid (a client that no longer
 * needs it logs it out). An API key belongs to one organization and cannot.
 */
export async function switchOrganization(deps: IdentityDeps, p: Principal, organizationId: string, meta: RequestMeta): Promise<LoginResult> {
  if (p.kind !== 'user' || !p.sessionId) {
    throw new AppError(403, 'forbidden', 'only a signed-in user can switch organization; an API key belongs to one organization');
  }
  const sessionId = p.sessionId;
  const current = await deps.db.tenant(p.orgId, (sql) => sessionState(sql, sessionId));
  if (!current?.live) throw new AppError(401, 'invalid_token', 'this session has ended; log in again');
  const organizations = await deps.db.transaction((sql) => userOrganizations(sql, p.userId));
  const org = organizations.find((o) => o.orgId === organizationId.toLowerCase());
  if (!org) throw new AppError(403, 'forbidden', `you are not a member of organization ${organizationId}`);
  const session = await deps.db.tenant(org.orgId, async (sql) => {
    const s = await startSession(sql, deps, { orgId: org.orgId, userId: p.userId, meta, mfaVerified: current.mfaVerified });
    await appendAudit(
      sql,
      { orgId: org.orgId, actorType: 'user', userId: p.userId, sessionId: s.sessionId, ...meta },
      { action: 'auth.switch_organization', resourceType: 'session', resourceId: s.sessionId, newValues: { fromOrganizationId: p.orgId, mfa: current.mfaVerified } },
    );
    return s;
  });
  return { tokens: await tokenPair(deps, { orgId: org.orgId, userId: p.userId, ...session }), organizationId: org.orgId, organizations };
}
