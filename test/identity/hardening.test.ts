import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, PASSWORD, signupUser, type TestApp } from '../helpers/app.js';
import { driver } from '../helpers/db.js';
import { accept, bearer, createKey, invite, join } from '../helpers/identity.js';

/**
 * Regression tests for the review of the foundation: each case is an attack or
 * a race that once worked.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ LOGIN_MAX_ATTEMPTS: '3', LOGIN_LOCKOUT_SECONDS: '60' });
});
afterAll(async () => t?.close());

const login = (email: string, password: string) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
const failedCount = async (userId: string) =>
  (await t.db.admin.query<{ n: number }>(`SELECT failed_login_count AS n FROM user_credentials WHERE user_id = $1`, [userId]))
    .rows[0]!.n;

describe('password guessing', () => {
  it('parallel wrong logins cannot outrun the lockout: only the allowed attempts are checked', async () => {
    const victim = await signupUser(t.app);
    const results = await Promise.all(Array.from({ length: 10 }, () => login(victim.email, 'wrong password guess')));
    expect(results.every((r) => r.statusCode === 401 || r.statusCode === 429)).toBe(true);
    expect(await failedCount(victim.userId)).toBe(3);
    const right = await login(victim.email, PASSWORD);
    expect(right.statusCode).toBe(429);
    expect(errorOf(right).code).toBe('account_locked');
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('joining by invitation with an existing account counts failures and honours the lockout', async () => {
    const attacker = await signupUser(t.app);
    const victim = await signupUser(t.app);
    const inv = await invite(t.app, attacker.auth, 'viewer', victim.email);
    for (let i = 0; i < 3; i++) {
      const r = await accept(t.app, { token: inv.token, password: `guess number ${i}` });
      expect([401, 429]).toContain(r.statusCode);
    }
    const right = await accept(t.app, { token: inv.token, password: PASSWORD });
    expect(right.statusCode).toBe(429);
    expect(errorOf(right).code).toBe('account_locked');
    const joined = await t.db.admin.query(`SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2`, [attacker.orgId, victim.userId]);
    expect(joined.rows).toEqual([]);
  });

  it('joining by invitation with an existing account needs the second factor when it is on', async () => {
    const owner = await signupUser(t.app);
    const victim = await signupUser(t.app);
    const { totpCode } = await import('../../src/identity/index.js');
    const enroll = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers: victim.auth, payload: {} });
    const { deviceId, secret } = enroll.json();
    const confirm = await t.app.inject({
      method: 'POST',
      url: '/v1/me/mfa/totp/confirm',
      headers: victim.auth,
      payload: { deviceId, code: totpCode(secret) },
    });
    expect(confirm.statusCode).toBe(200);
    const inv = await invite(t.app, owner.auth, 'viewer', victim.email);
    const noCode = await accept(t.app, { token: inv.token, password: PASSWORD });
    expect(noCode.statusCode).toBe(401);
    expect(errorOf(noCode).code).toBe('mfa_required');
    const withRecovery = await accept(t.app, { token: inv.token, password: PASSWORD, recoveryCode: confirm.json().recoveryCodes[0] });
    expect(withRecovery.statusCode).toBe(201);
  });
});

describe('API keys', () => {
  it('cannot be exchanged for a session by accepting an invitation', async () => {
    const owner = await signupUser(t.app);
    const victim = await signupUser(t.app);
    const key = await createKey(t.app, victim.auth, { name: 'narrow', scopes: ['agents:read'] });
    const inv = await invite(t.app, owner.auth, 'viewer', victim.email);
    const res = await accept(t.app, { token: inv.token }, bearer(key.key));
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
  });

  it('members see and revoke only their own keys; api_keys:manage sees all', async () => {
    const owner = await signupUser(t.app);
    const member = await join(t.app, owner, 'member');
    const ownerKey = await createKey(t.app, owner.auth, { name: 'owner key', scopes: ['*'] });
    const memberKey = await createKey(t.app, member.auth, { name: 'member key', scopes: ['agents:read'] });
    const get = await t.app.inject({ method: 'GET', url: `/v1/api-keys/${ownerKey.id}`, headers: member.auth });
    expect(get.statusCode).toBe(404);
    const revoke = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${ownerKey.id}`, headers: member.auth });
    expect(revoke.statusCode).toBe(404);
    const mine = (await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: member.auth })).json().data;
    expect(mine.map((k: { id: string }) => k.id)).toEqual([memberKey.id]);
    const all = (await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: owner.auth })).json().data;
    expect(all.map((k: { id: string }) => k.id).sort()).toEqual([ownerKey.id, memberKey.id].sort());
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(ownerKey.key) })).statusCode).toBe(200);
  });

  it('a key cannot create a key with a higher rate limit or a longer life than its own', async () => {
    const owner = await signupUser(t.app);
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const parent = await createKey(t.app, owner.auth, { name: 'parent', scopes: ['*'], rateLimit: 10, expiresAt });
    const post = (payload: Record<string, unknown>) =>
      t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(parent.key), payload });
    expect((await post({ name: 'faster', scopes: ['agents:read'], rateLimit: 100_000, expiresAt })).statusCode).toBe(403);
    expect((await post({ name: 'forever', scopes: ['agents:read'], rateLimit: 5 })).statusCode).toBe(403);
    const ok = await post({ name: 'within', scopes: ['agents:read'], rateLimit: 5, expiresAt });
    expect(ok.statusCode).toBe(201);
  });
});

describe('concurrent membership changes', () => {
  it.runIf(driver === 'postgres')('two owners demoting each other at once leave one owner', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await signupUser(t.app);
      const b = await join(t.app, a, 'owner');
      const [x, y] = await Promise.all([
        t.app.inject({ method: 'PUT', url: `/v1/members/${b.userId}/roles`, headers: a.auth, payload: { roles: ['admin'] } }),
        t.app.inject({ method: 'PUT', url: `/v1/members/${a.userId}/roles`, headers: b.auth, payload: { roles: ['admin'] } }),
      ]);
      expect([x.statusCode, y.statusCode].sort()).toEqual([200, 409]);
      const owners = await t.db.admin.query(
        `SELECT count(*)::int AS n FROM user_roles ur JOIN roles r ON r.id = ur.role_id AND r.name = 'owner' WHERE ur.org_id = $1`,
        [a.orgId],
      );
      expect((owners.rows[0] as { n: number }).n).toBeGreaterThanOrEqual(1);
    }
  });

  it('parallel accepts cannot exceed maxTeamMembers', async () => {
    const owner = await signupUser(t.app);
    const org = (await t.app.inject({ method: 'GET', url: '/v1/org', headers: owner.auth })).json();
    await t.app.inject({ method: 'PATCH', url: '/v1/org', headers: owner.auth, payload: { version: org.version, maxTeamMembers: 2 } });
    const invs = await Promise.all(Array.from({ length: 4 }, () => invite(t.app, owner.auth, 'viewer')));
    const res = await Promise.all(invs.map((i) => accept(t.app, { token: i.token, password: PASSWORD })));
    expect(res.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(res.filter((r) => r.statusCode === 402)).toHaveLength(3);
    const n = await t.db.admin.query(`SELECT count(*)::int AS n FROM memberships WHERE org_id = $1 AND deleted_at IS NULL`, [owner.orgId]);
    expect((n.rows[0] as { n: number }).n).toBe(2);
  });
});

describe('text PostgreSQL cannot store', () => {
  it('a NUL character gets 400, not 500', async () => {
    const owner = await signupUser(t.app);
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: owner.auth, payload: { name: 'a\u0000b', scopes: ['*'] } });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
  });
});
