import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, PASSWORD, signupUser, uniqueEmail, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

type Auth = { authorization: string };
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const bearer = (token: string): Auth => ({ authorization: `Bearer ${token}` });

const invite = (auth: Auth, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/invitations', headers: auth, payload });
const accept = (payload: Record<string, unknown>, auth?: Auth) =>
  t.app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', headers: auth ?? {}, payload });

async function inviteOk(owner: Auth, role: string, email = uniqueEmail(role)): Promise<{ id: string; token: string; email: string }> {
  const res = await invite(owner, { email, role });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().invitation.id, token: res.json().token, email };
}

async function join(owner: SignedUp, role: string): Promise<{ userId: string; auth: Auth }> {
  const inv = await inviteOk(owner.auth, role);
  const res = await accept({ token: inv.token, password: PASSWORD });
  expect(res.statusCode, res.body).toBe(201);
  return { userId: res.json().userId, auth: bearer(res.json().tokens.accessToken) };
}

async function members(owner: Auth): Promise<Array<{ userId: string; email: string; roles: string[] }>> {
  const res = await t.app.inject({ method: 'GET', url: '/v1/members?limit=100', headers: owner });
  expect(res.statusCode).toBe(200);
  return res.json().data;
}

async function setMemberLimit(owner: Auth, n: number): Promise<void> {
  const org = (await t.app.inject({ method: 'GET', url: '/v1/org', headers: owner })).json();
  const res = await t.app.inject({ method: 'PATCH', url: '/v1/org', headers: owner, payload: { version: org.version, maxTeamMembers: n } });
  expect(res.statusCode).toBe(200);
}

async function userCount(email: string): Promise<number> {
  const r = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE email = $1`, [email]);
  return r.rows[0]!.n;
}

describe('inviting and accepting', () => {
  it('returns the token once and lets a newcomer join with a password', async () => {
    const owner = await signupUser(t.app);
    const email = uniqueEmail('newcomer');
    const res = await invite(owner.auth, { email: email.toUpperCase(), role: 'member' });
    expect(res.statusCode).toBe(201);
    const { invitation, token } = res.json();
    expect(token).toMatch(/^abi_/);
    expect(invitation).toMatchObject({ email, role: 'member', acceptedAt: null, revokedAt: null, invitedBy: owner.userId });

    const listed = await t.app.inject({ method: 'GET', url: '/v1/invitations', headers: owner.auth });
    expect(listed.json().data.map((i: { id: string }) => i.id)).toEqual([invitation.id]);
    expect(listed.body).not.toContain(token);
    const row = await t.db.admin.query<{ token_hash: string }>(`SELECT token_hash FROM invitations WHERE id = $1`, [invitation.id]);
    expect(row.rows[0]!.token_hash).toBe(sha256(token));

    const acc = await accept({ token, password: PASSWORD, fullName: 'New Comer' });
    expect(acc.statusCode).toBe(201);
    const b = acc.json();
    expect(b.organizationId).toBe(owner.orgId);
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(b.tokens.accessToken) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ organizationId: owner.orgId, via: 'user', user: { id: b.userId, email, fullName: 'New Comer' } });
    expect(me.json().permissions).toContain('agents:write');
    expect(me.json().permissions).not.toContain('members:write');

    const m = (await members(owner.auth)).find((x) => x.userId === b.userId);
    expect(m).toMatchObject({ email, roles: ['member'] });
    // the new account can log in with the password it chose
    const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } });
    expect(login.statusCode).toBe(200);
    expect(login.json().organizationId).toBe(owner.orgId);
    const pending = await t.app.inject({ method: 'GET', url: '/v1/invitations', headers: owner.auth });
    expect(pending.json().data).toEqual([]);
  });

  it('refuses to accept the same invitation twice (409)', async () => {
    const owner = await signupUser(t.app);
    const inv = await inviteOk(owner.auth, 'viewer');
    expect((await accept({ token: inv.token, password: PASSWORD })).statusCode).toBe(201);
    const again = await accept({ token: inv.token, password: PASSWORD });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).code).toBe('conflict');
    expect(await userCount(inv.email)).toBe(1);
    expect(await members(owner.auth)).toHaveLength(2);
  });

  it('treats a revoked invitation as gone (404)', async () => {
    const owner = await signupUser(t.app);
    const inv = await inviteOk(owner.auth, 'member');
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/invitations/${inv.id}`, headers: owner.auth });
    expect(del.statusCode).toBe(204);
    const res = await accept({ token: inv.token, password: PASSWORD });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
    expect(await userCount(inv.email)).toBe(0);
  });

  it('revokes the previous pending invitation when the same address is invited again', async () => {
    const owner = await signupUser(t.app);
    const email = uniqueEmail('twice');
    const first = await inviteOk(owner.auth, 'viewer', email);
    const second = await inviteOk(owner.auth, 'member', email);
    expect((await accept({ token: first.token, password: PASSWORD })).statusCode).toBe(404);
    expect((await accept({ token: second.token, password: PASSWORD })).statusCode).toBe(201);
  });

  it('lets an existing user who is signed in with the invited email join', async () => {
    const owner = await signupUser(t.app);
    const other = await signupUser(t.app, { organizationName: 'Their Own Org' });
    const inv = await inviteOk(owner.auth, 'admin', other.email);
    // without a token, an existing account must prove itself with its password
    const noPassword = await accept({ token: inv.token });
    expect(noPassword.statusCode).toBe(400);
    const wrong = await accept({ token: inv.token, password: 'not the password at all' });
    expect(wrong.statusCode).toBe(401);
    expect(errorOf(wrong).code).toBe('invalid_credentials');
    const res = await accept({ token: inv.token }, other.auth);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ organizationId: owner.orgId, userId: other.userId });
    const me = (await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(res.json().tokens.accessToken) })).json();
    expect(me.organizationId).toBe(owner.orgId);
    expect(me.permissions).toContain('members:write');
    expect(me.organizations.map((o: { orgId: string }) => o.orgId).sort()).toEqual([owner.orgId, other.orgId].sort());
    expect((await members(owner.auth)).find((m) => m.userId === other.userId)?.roles).toEqual(['admin']);
  });

  it('lets a removed member rejoin through a new invitation, with their password', async () => {
    const owner = await signupUser(t.app);
    const inv = await inviteOk(owner.auth, 'member', uniqueEmail('rejoin'));
    const email = inv.email;
    const joined = await accept({ token: inv.token, password: PASSWORD });
    expect(joined.statusCode).toBe(201);
    const userId = joined.json().userId as string;
    const removed = await t.app.inject({ method: 'DELETE', url: `/v1/members/${userId}`, headers: owner.auth });
    expect(removed.statusCode).toBe(204);
    const again = await inviteOk(owner.auth, 'viewer', email);
    const back = await accept({ token: again.token, password: PASSWORD });
    expect(back.statusCode).toBe(201);
    expect(back.json().userId).toBe(userId);
    expect((await members(owner.auth)).find((m) => m.userId === userId)?.roles).toEqual(['viewer']);
  });

  it('refuses a signed-in user whose email differs (403) and keeps the invitation pending', async () => {
    const owner = await signupUser(t.app);
    const stranger = await signupUser(t.app);
    const inv = await inviteOk(owner.auth, 'member');
    const res = await accept({ token: inv.token }, stranger.auth);
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    expect(await members(owner.auth)).toHaveLength(1);
    expect((await accept({ token: inv.token, password: PASSWORD })).statusCode).toBe(201);
  });

  it('refuses invitations from members without members:write (403)', async () => {
    const owner = await signupUser(t.app);
    const member = await join(owner, 'member');
    const res = await invite(member.auth, { email: uniqueEmail(), role: 'viewer' });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res)).toMatchObject({ code: 'forbidden', details: { permission: 'members:write' } });
  });

  it('refuses an admin inviting someone as owner (403), but lets them invite an admin', async () => {
    const owner = await signupUser(t.app);
    const admin = await join(owner, 'admin');
    const res = await invite(admin.auth, { email: uniqueEmail(), role: 'owner' });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res)).toMatchObject({ code: 'forbidden', details: { missing: ['billing:write', 'orgs:write'] } });
    const list = await t.app.inject({ method: 'GET', url: '/v1/invitations?status=all', headers: owner.auth });
    expect(list.json().data).toHaveLength(1); // only the admin's own, accepted invitation
    expect((await invite(admin.auth, { email: uniqueEmail(), role: 'admin' })).statusCode).toBe(201);
  });

  it('refuses to invite someone who is already a member (409)', async () => {
    const owner = await signupUser(t.app);
    const res = await invite(owner.auth, { email: owner.email, role: 'viewer' });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('conflict');
  });

  it('refuses a join beyond maxTeamMembers with 402 quota_exceeded and writes nothing', async () => {
    const owner = await signupUser(t.app);
    await join(owner, 'member');
    await setMemberLimit(owner.auth, 2);
    const inv = await inviteOk(owner.auth, 'viewer');
    const existing = await signupUser(t.app);
    const inv2 = await inviteOk(owner.auth, 'viewer', existing.email);
    const joinedBefore = await t.db.admin.query(`SELECT 1 FROM audit_logs WHERE org_id = $1 AND action = 'member.joined'`, [owner.orgId]);

    for (const res of [await accept({ token: inv.token, password: PASSWORD }), await accept({ token: inv2.token }, existing.auth)]) {
      expect(res.statusCode).toBe(402);
      expect(errorOf(res)).toMatchObject({ code: 'quota_exceeded', details: { limit: 2 } });
    }
    expect(await userCount(inv.email)).toBe(0);
    expect(await members(owner.auth)).toHaveLength(2);
    const pending = (await t.app.inject({ method: 'GET', url: '/v1/invitations', headers: owner.auth })).json().data;
    expect(pending.map((i: { id: string }) => i.id).sort()).toEqual([inv.id, inv2.id].sort());
    const joinedAfter = await t.db.admin.query(`SELECT 1 FROM audit_logs WHERE org_id = $1 AND action = 'member.joined'`, [owner.orgId]);
    expect(joinedAfter.rows.length).toBe(joinedBefore.rows.length);
    const sessions = await t.db.admin.query(`SELECT 1 FROM sessions WHERE org_id = $1 AND user_id = $2`, [owner.orgId, existing.userId]);
    expect(sessions.rows).toHaveLength(0);

    // the same invitation works once there is room
    await setMemberLimit(owner.auth, 3);
    expect((await accept({ token: inv.token, password: PASSWORD })).statusCode).toBe(201);
  });

  it('refuses an expired invitation (409) and creates no account', async () => {
    const owner = await signupUser(t.app);
    const inv = await inviteOk(owner.auth, 'viewer');
    await t.db.admin.query(`UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1`, [inv.id]);
    const res = await accept({ token: inv.token, password: PASSWORD });
    expect(res.statusCode).toBe(409);
    expect(await userCount(inv.email)).toBe(0);
  });
});

describe('invitations across organizations', () => {
  it('answers 404 when revoking another organization\'s invitation, and leaves it usable', async () => {
    const a = await signupUser(t.app);
    const b = await signupUser(t.app);
    const inv = await inviteOk(b.auth, 'viewer');
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/invitations/${inv.id}`, headers: a.auth });
    expect(res.statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/v1/invitations', headers: a.auth })).json().data).toEqual([]);
    const acc = await accept({ token: inv.token, password: PASSWORD });
    expect(acc.statusCode).toBe(201);
    expect(acc.json().organizationId).toBe(b.orgId);
  });

  it('does not revoke another organization\'s pending invitation for the same address', async () => {
    const a = await signupUser(t.app);
    const b = await signupUser(t.app);
    const email = uniqueEmail('both');
    const fromB = await inviteOk(b.auth, 'viewer', email);
    await inviteOk(a.auth, 'viewer', email);
    const acc = await accept({ token: fromB.token, password: PASSWORD });
    expect(acc.statusCode).toBe(201);
    expect(acc.json().organizationId).toBe(b.orgId);
  });
});

describe('bad input', () => {
  it.each([
    ['a missing email', { role: 'member' }, 'validation_failed'],
    ['an email that is not one', { email: 'nope', role: 'member' }, 'validation_failed'],
    ['a malformed role name', { email: 'a@example.com', role: 'Admin' }, 'validation_failed'],
    ['expiresInDays 0', { email: 'a@example.com', role: 'member', expiresInDays: 0 }, 'validation_failed'],
    ['expiresInDays 31', { email: 'a@example.com', role: 'member', expiresInDays: 31 }, 'validation_failed'],
    ['an unknown field', { email: 'a@example.com', role: 'member', message: 'hi' }, 'validation_failed'],
    ['a role that does not exist', { email: 'a@example.com', role: 'wizard' }, 'bad_request'],
  ])('POST /v1/invitations refuses %s with 400 and writes nothing', async (_what, payload, code) => {
    const owner = await signupUser(t.app);
    const res = await invite(owner.auth, payload);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe(code);
    const r = await t.db.admin.query(`SELECT 1 FROM invitations WHERE org_id = $1`, [owner.orgId]);
    expect(r.rows).toHaveLength(0);
  });

  it('GET /v1/invitations refuses an unknown status or parameter', async () => {
    const owner = await signupUser(t.app);
    for (const q of ['status=accepted', 'limit=5']) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/invitations?${q}`, headers: owner.auth });
      expect(res.statusCode, q).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
  });

  it('DELETE /v1/invitations/:id refuses a non-UUID (400) and an unknown id (404)', async () => {
    const owner = await signupUser(t.app);
    const bad = await t.app.inject({ method: 'DELETE', url: '/v1/invitations/abc', headers: owner.auth });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).code).toBe('validation_failed');
    const missing = await t.app.inject({ method: 'DELETE', url: '/v1/invitations/0190a5f3-0000-7000-8000-000000000000', headers: owner.auth });
    expect(missing.statusCode).toBe(404);
  });

  it('POST /v1/auth/invitations/accept refuses a new account with a short password, and creates nothing', async () => {
    const owner = await signupUser(t.app);
    const inv = await inviteOk(owner.auth, 'member');
    const res = await accept({ token: inv.token, password: 'short' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'validation_failed', details: { issues: [{ path: 'body.password' }] } });
    const users = await t.db.admin.query(`SELECT 1 FROM users WHERE email = $1`, [inv.email]);
    expect(users.rows).toEqual([]);
    expect((await accept({ token: inv.token, password: PASSWORD })).statusCode).toBe(201);
  });

  it.each([
    ['a missing token', { password: PASSWORD }, 400, 'validation_failed'],
    ['an unknown field', { token: 'abi_x', password: PASSWORD, role: 'owner' }, 400, 'validation_failed'],
    ['a token that is not an invitation', { token: 'not-a-token', password: PASSWORD }, 404, 'not_found'],
    ['an unknown invitation token', { token: 'abi_doesnotexist', password: PASSWORD }, 404, 'not_found'],
  ])('POST /v1/auth/invitations/accept refuses %s', async (_what, payload, status, code) => {
    const res = await accept(payload);
    expect(res.statusCode).toBe(status);
    expect(errorOf(res).code).toBe(code);
  });

  it('POST /v1/auth/invitations/accept needs a password when not signed in, and writes nothing', async () => {
    const owner = await signupUser(t.app);
    const inv = await inviteOk(owner.auth, 'member');
    const res = await accept({ token: inv.token });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('bad_request');
    expect(await userCount(inv.email)).toBe(0);
    expect((await accept({ token: inv.token, password: PASSWORD })).statusCode).toBe(201);
  });
});
