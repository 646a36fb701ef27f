import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { accept, bearer, createKey, invite } from '../helpers/identity.js';

/**
 * POST /v1/auth/switch-organization: a signed-in user member of two
 * organizations moves between them without the password; new tokens, a new
 * session there, audited; refused for organizations they do not belong to,
 * for API keys and for ended sessions; bad input is 400.
 */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;

const post = (url: string, auth: { authorization: string } | undefined, payload: unknown) =>
  t.app.inject({ method: 'POST', url, headers: auth ?? {}, payload: payload as object });
const me = async (auth: { authorization: string }) => (await t.app.inject({ method: 'GET', url: '/v1/me', headers: auth })).json();

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app, { organizationName: 'Alpha' });
  b = await signupUser(t.app, { organizationName: 'Beta' });
  // a joins Beta as a member
  const inv = await invite(t.app, b.auth, 'member', a.email);
  const joined = await accept(t.app, { token: inv.token }, a.auth);
  expect(joined.statusCode, joined.body).toBeLessThan(300);
});
afterAll(async () => t?.close());

describe('POST /v1/auth/switch-organization', () => {
  it('gives tokens for the other organization; the old session keeps working; the switch is audited there', async () => {
    const res = await post('/v1/auth/switch-organization', a.auth, { organizationId: b.orgId });
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out.organizationId).toBe(b.orgId);
    expect(out.organizations.map((o: { orgId: string }) => o.orgId).sort()).toEqual([a.orgId, b.orgId].sort());
    const inBeta = bearer(out.tokens.accessToken);
    expect((await me(inBeta)).organizationId).toBe(b.orgId);
    expect((await me(a.auth)).organizationId).toBe(a.orgId);
    // the refresh token rotates like any other
    const refreshed = await post('/v1/auth/refresh', undefined, { refreshToken: out.tokens.refreshToken });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    const audit = (await t.app.inject({ method: 'GET', url: '/v1/audit?action=auth.switch_organization', headers: b.auth })).json();
    expect(audit.data).toHaveLength(1);
    expect(audit.data[0]).toMatchObject({ userId: a.userId, newValues: { fromOrganizationId: a.orgId } });
  });

  it('refuses an organization the user does not belong to (403) and writes nothing', async () => {
    const before = (await t.app.inject({ method: 'GET', url: '/v1/audit?action=auth.switch_organization', headers: b.auth })).json().data.length;
    const res = await post('/v1/auth/switch-organization', b.auth, { organizationId: a.orgId });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res)).toMatchObject({ code: 'forbidden', message: `you are not a member of organization ${a.orgId}` });
    expect((await t.app.inject({ method: 'GET', url: '/v1/audit?action=auth.switch_organization', headers: b.auth })).json().data.length).toBe(before);
  });

  it('refuses an API key (it belongs to one organization)', async () => {
    const key = await createKey(t.app, a.auth, { name: 'ci', scopes: ['agents:read'] });
    const res = await post('/v1/auth/switch-organization', bearer(key.key), { organizationId: b.orgId });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).message).toMatch(/API key belongs to one organization/);
  });

  it('refuses a session that was logged out (401)', async () => {
    const login = await post('/v1/auth/login', undefined, { email: a.email, password: 'correct horse battery staple' });
    expect(login.statusCode, login.body).toBe(200);
    const auth = bearer(login.json().tokens.accessToken);
    expect((await post('/v1/auth/logout', auth, {})).statusCode).toBe(204);
    const res = await post('/v1/auth/switch-organization', auth, { organizationId: b.orgId });
    expect(res.statusCode).toBe(401);
  });

  it.each([
    [{}, 'organizationId'],
    [{ organizationId: 'beta' }, 'organizationId'],
    [{ organizationId: '00000000-0000-4000-8000-000000000000', extra: 1 }, 'extra'],
  ])('refuses %j with 400 naming %s', async (body, field) => {
    const res = await post('/v1/auth/switch-organization', a.auth, body);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(JSON.stringify(errorOf(res))).toContain(field);
  });

  it('needs a token (401)', async () => {
    expect((await post('/v1/auth/switch-organization', undefined, { organizationId: b.orgId })).statusCode).toBe(401);
  });
});
