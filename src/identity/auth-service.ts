import { randomUUID } from 'node:crypto';
import { appendAudit } from '../audit/index.js';
import { AppError, conflict, forbidden } from '../errors.js';
import { isPgError } from '../db/index.js';
import type { IdentityDeps } from './deps.js';
import { checkCredentials } from './credentials.js';
import { insertOrg, isActiveMember, upsertMembership, userOrganizations, type OrgRow, type UserOrg } from './orgs-repo.js';
import { burnPasswordCheck, hashPassword } from './passwords.js';
import type { Principal, RequestMeta } from './principal.js';
import { getRoleByName, setMemberRoles } from './rbac-repo.js';
import { randomToken, sha256hex } from './secrets.js';
import { startSession, tokenPair, REFRESH_PREFIX, type TokenPair } from './session-tokens.js';
import {
  findRefreshToken,
  lockRefreshToken,
  markRefreshTokenUsed,
  revokeSession,
  insertRefreshToken,
} from './sessions-repo.js';
import {
  findLoginByEmail,
  getUser,
  insertUser,
  touchLastLogin,
  usernameExists,
  type UserRow,
} from './users-repo.js';

const invalidCredentials = () => new AppError(401, 'invalid_credentials', 'the email or password is wrong');

export function slugify(s: string): string {
  return (
    s
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'org'
  );
}

/** A username from an email's local part, cleaned to what the column allows. */
export function baseUsername(email: string): string {
  return (email.split('@')[0] ?? 'user').replace(/[^a-zA-Z0-9._-]/g, '').replace(/^[._-]+/, '').slice(0, 80) || 'user';
}

async function pickUsername(deps: IdentityDeps, email: string, wanted?: string): Promise<string> {
  if (wanted) return wanted;
  const base = baseUsername(email);
  const taken = await deps.db.transaction((sql) => usernameExists(sql, base));
  return taken ? `${base}-${randomToken('', 3).toLowerCase().replace(/[^a-z0-9]/g, 'x')}` : base;
}

export interface SignupInput {
  email: string;
  password: string;
  fullName?: string;
  username?: string;
  organizationName: string;
  organizationSlug?: string;
}

export interface SignupResult {
  user: UserRow;
  organization: OrgRow;
  tokens: TokenPair;
}

/** Creates a user, their organization and an owner membership, and logs them in — one transaction. */
export async function signup(deps: IdentityDeps, input: SignupInput, meta: RequestMeta): Promise<SignupResult> {
  const email = input.email.toLowerCase();
  const [passwordHash, username] = await Promise.all([
    hashPassword(input.password),
    pickUsername(deps, email, input.username),
  ]);
  const orgId = randomUUID();
  const slug = input.organizationSlug ?? `${slugify(input.organizationName)}-${orgId.slice(0, 6)}`;
  try {
    const out = await deps.db.tenant(orgId, async (sql) => {
      const user = await insertUser(sql, { email, username, fullName: input.fullName ?? null, passwordHash });
      const organization = await insertOrg(sql, { id: orgId, name: input.organizationName, slug });
      await upsertMembership(sql, orgId, user.id, null);
      const owner = await getRoleByName(sql, 'owner');
      await setMemberRoles(sql, orgId, user.id, [owner!.id], null);
      const session = await startSession(sql, deps, { orgId, userId: user.id, meta, mfaVerified: false });
      const actor = { orgId, actorType: 'user' as const, userId: user.id, sessionId: session.sessionId, ...meta };
      await appendAudit(sql, actor, { action: 'organization.created', resourceType: 'organization', resourceId: orgId, newValues: organization });
      await appendAudit(sql, actor, {
        action: 'user.signed_up',
        resourceType: 'user',
        resourceId: user.id,
        newValues: { email, username, fullName: user.fullName, role: 'owner' },
      });
      return { user, organization, session };
    });
    return {
      user: out.user,
      organization: out.organization,
      tokens: await tokenPair(deps, { orgId, userId: out.user.id, ...out.session }),
    };
  } catch (err) {
    if (isPgError(err, '23505')) {
      const c = (err as { constraint?: string }).constraint ?? '';
      if (c.includes('email')) throw conflict('an account with this email already exists; log in instead', { field: 'email' });
      if (c.includes('username')) throw conflict(`the username ${username} is taken; choose another`, { field: 'username' });
      if (c.includes('slug')) throw conflict(`the organization slug ${slug} is taken; choose another`, { field: 'organizationSlug' });
    }
    throw err;
  }
}

export interface LoginInput {
  email: string;
  password: string;
  organizationId?: string;
  mfaCode?: string;
  recoveryCode?: string;
}

export interface LoginResult {
  tokens: TokenPair;
  organizationId: string;
  organizations: UserOrg[];
}

export async function login(deps: IdentityDeps, input: LoginInput, meta: RequestMeta): Promise<LoginResult> {
  const email = input.email.toLowerCase();
  const user = await deps.db.transaction((sql) => findLoginByEmail(sql, email));
  if (!user) {
    await burnPasswordCheck(input.password);
    throw invalidCredentials();
  }
  await checkCredentials(deps, user.id, input);
  if (!user.isActive) throw new AppError(403, 'forbidden', 'this account is suspended; contact an administrator');
  const organizations = await deps.db.transaction((sql) => userOrganizations(sql, user.id));
  const org = input.organizationId ? organizations.find((o) => o.orgId === input.organizationId) : organizations[0];
  if (!org) {
    throw input.organizationId
      ? new AppError(403, 'forbidden', `you are not a member of organization ${input.organizationId}`)
      : new AppError(403, 'forbidden', 'this account belongs to no organization; accept an invitation or sign up');
  }
  await deps.db.transaction((sql) => touchLastLogin(sql, user.id));
  const session = await deps.db.tenant(org.orgId, async (sql) => {
    const s = await startSession(sql, deps, { orgId: org.orgId, userId: user.id, meta, mfaVerified: user.mfaEnabled });
    await appendAudit(
      sql,
      { orgId: org.orgId, actorType: 'user', userId: user.id, sessionId: s.sessionId, ...meta },
      { action: 'auth.login', resourceType: 'session', resourceId: s.sessionId, newValues: { mfa: user.mfaEnabled } },
    );
    return s;
  });
  return {
    tokens: await tokenPair(deps, { orgId: org.orgId, userId: user.id, ...session }),
    organizationId: org.orgId,
    organizations,
  };
}

/**
 * Rotates a refresh token. A token that was already used means it was copied:
 * the whole session (every token of its family) is revoked and the caller must
 * log in again.
 */
export async function refresh(deps: IdentityDeps, refreshToken: string, meta: RequestMeta): Promise<TokenPair> {
  const invalid = () => new AppError(401, 'invalid_token', 'the refresh token is not valid; log in again');
  if (!refreshToken.startsWith(REFRESH_PREFIX)) throw invalid();
  const hash = sha256hex(refreshToken);
  const found = await deps.db.transaction((sql) => findRefreshToken(sql, hash));
  if (!found) throw invalid();
  const outcome = await deps.db.tenant(found.orgId, async (sql) => {
    const t = await lockRefreshToken(sql, found.id);
    if (!t || t.revokedAt || t.sessionRevokedAt) return { kind: 'invalid' as const };
    if (t.usedAt) {
      await revokeSession(sql, t.sessionId, 'refresh_token_reuse');
      await appendAudit(
        sql,
        { orgId: found.orgId, actorType: 'user', userId: t.userId, sessionId: t.sessionId, ...meta },
        { action: 'auth.refresh_token_reused', resourceType: 'session', resourceId: t.sessionId },
      );
      return { kind: 'reused' as const };
    }
    const now = Date.now();
    if (t.expiresAt.getTime() <= now || t.sessionExpiresAt.getTime() <= now) return { kind: 'expired' as const };
    if (!(await isActiveMember(sql, t.userId))) {
      await revokeSession(sql, t.sessionId, 'membership_ended');
      await appendAudit(
        sql,
        { orgId: found.orgId, actorType: 'system', userId: t.userId, sessionId: t.sessionId, ...meta },
        { action: 'auth.session_revoked', resourceType: 'session', resourceId: t.sessionId, newValues: { reason: 'membership_ended' } },
      );
      return { kind: 'invalid' as const };
    }
    const next = randomToken(REFRESH_PREFIX);
    const nextId = await insertRefreshToken(sql, {
      orgId: found.orgId,
      sessionId: t.sessionId,
      userId: t.userId,
      tokenHash: sha256hex(next),
      expiresAt: t.sessionExpiresAt,
    });
    await markRefreshTokenUsed(sql, t.id, nextId);
    await appendAudit(
      sql,
      { orgId: found.orgId, actorType: 'user', userId: t.userId, sessionId: t.sessionId, ...meta },
      { action: 'auth.token_refreshed', resourceType: 'session', resourceId: t.sessionId },
    );
    return { kind: 'ok' as const, sessionId: t.sessionId, userId: t.userId, refreshToken: next };
  });
  switch (outcome.kind) {
    case 'invalid':
      throw invalid();
    case 'expired':
      throw new AppError(401, 'token_expired', 'the session has expired; log in again');
    case 'reused':
      throw new AppError(
        401,
        'refresh_token_reused',
        'this refresh token was already used, so it may have been stolen; the session is revoked: log in again',
      );
  }
  return tokenPair(deps, { orgId: found.orgId, userId: outcome.userId, sessionId: outcome.sessionId, refreshToken: outcome.refreshToken });
}

/** Ends the caller's session, or the session a refresh token belongs to. */
export async function logout(
  deps: IdentityDeps,
  principal: Principal | null,
  refreshToken: string | undefined,
  meta: RequestMeta,
): Promise<void> {
  let target: { orgId: string; sessionId: string; userId: string } | undefined;
  if (refreshToken) {
    const found = refreshToken.startsWith(REFRESH_PREFIX)
      ? await deps.db.transaction((sql) => findRefreshToken(sql, sha256hex(refreshToken)))
      : undefined;
    if (!found) throw new AppError(401, 'invalid_token', 'the refresh token is not valid');
    target = found;
  } else if (principal?.sessionId) {
    target = { orgId: principal.orgId, sessionId: principal.sessionId, userId: principal.userId };
  } else if (principal) {
    throw forbidden('a session (API keys cannot log out; revoke the key instead)');
  } else {
    throw new AppError(401, 'unauthenticated', 'send the access token as Authorization: Bearer, or the refreshToken in the body');
  }
  const t = target;
  await deps.db.tenant(t.orgId, async (sql) => {
    if (await revokeSession(sql, t.sessionId, 'logout')) {
      await appendAudit(
        sql,
        { orgId: t.orgId, actorType: 'user', userId: t.userId, sessionId: t.sessionId, ...meta },
        { action: 'auth.logout', resourceType: 'session', resourceId: t.sessionId },
      );
    }
  });
}

export async function whoAmI(deps: IdentityDeps, p: Principal, permissions: Set<string>) {
  const [user, organizations] = await Promise.all([
    deps.db.tenant(p.orgId, (sql) => getUser(sql, p.userId)),
    deps.db.transaction((sql) => userOrganizations(sql, p.userId)),
  ]);
  if (!user) throw new AppError(401, 'invalid_token', 'this user no longer exists');
  return {
    user,
    organizationId: p.orgId,
    via: p.kind,
    apiKeyId: p.apiKeyId,
    sessionId: p.sessionId,
    permissions: [...permissions].sort(),
    organizations,
  };
}
