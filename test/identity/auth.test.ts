import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, PASSWORD, signupUser, uniqueEmail, type TestApp } from '../helpers/app.js';

// Three failed logins lock an account for 60 s in this file (see "lockout").
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ LOGIN_MAX_ATTEMPTS: '3', LOGIN_LOCKOUT_SECONDS: '60' });
});
afterAll(async () => t?.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const post = (url: string, payload?: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, headers, ...(payload === undefined ? {} : { payload }) });
const get = (url: string, headers: Record<string, string>) => t.app.inject({ method: 'GET', url, headers });
const signup = (body: Record<string, unknown>) =>
  post('/v1/auth/signup', { email: uniqueEmail(), password: PASSWORD, organizationName: 'Acme Travel', ...body });
const login = (body: Record<string, unknown>) => post('/v1/auth/login', body);
const refresh = (refreshToken: string) => post('/v1/auth/refresh', { refreshToken });
const count = async (table: string, where = 'true', params: unknown[] = []) =>
  (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params)).rows[0]!.n;

describe('POST /v1/auth/signup', () => {
  it('creates the user, their organization and an owner membership, and logs them in', async () => {
    const email = uniqueEmail('Owner').toUpperCase();
    const res = await signup({ email, fullName: 'Ada Owner', organizationName: 'Globex Tours', organizationSlug: 'globex-tours' });
    expect(res.statusCode).toBe(201);
    const b = res.json();
    expect(b.user).toMatchObject({ email: email.toLowerCase(), fullName: 'Ada Owner', isActive: true });
    expect(b.organization).toMatchObject({ name: 'Globex Tours', slug: 'globex-tours' });
    expect(b.tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(b.tokens.refreshToken).toMatch(/^abr_/);
    expect(res.body).not.toContain(PASSWORD);
    expect(res.body).not.toContain('$argon2');

    const me = await get('/v1/me', bearer(b.tokens.accessToken));
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ organizationId: b.organization.id, via: 'user', sessionId: b.tokens.sessionId });
    expect(me.json().user.id).toBe(b.user.id);
    expect(me.json().permissions).toEqual(expect.arrayContaining(['orgs:write', 'members:write', 'audit:read', 'api_keys:write']));
    expect(me.json().organizations).toEqual([expect.objectContaining({ orgId: b.organization.id, slug: 'globex-tours' })]);

    const org = await get('/v1/org', bearer(b.tokens.accessToken));
    expect(org.statusCode).toBe(200);
    expect(org.json()).toMatchObject({ id: b.organization.id, name: 'Globex Tours', slug: 'globex-tours' });
  });

  it('derives an organization slug from the name when none is given', async () => {
    const res = await signup({ organizationName: '  Smith & Sons, Ltd. ' });
    expect(res.statusCode).toBe(201);
    expect(res.json().organization.slug).toMatch(/^smith-sons-ltd-[0-9a-f]{6}$/);
  });

  // slugify() decomposes with NFKD but then turns the combining marks into "-": "u-ni-code-…".
  it('drops accents when deriving the slug', async () => {
    const res = await signup({ organizationName: 'Ünïcode Café' });
    expect(res.statusCode).toBe(201);
    expect(res.json().organization.slug).toMatch(/^unicode-cafe-[0-9a-f]{6}$/);
  });

  it('refuses a second account with the same email (any case) and writes nothing', async () => {
    const first = await signupUser(t.app);
    const [orgs, users, members] = [await count('organizations'), await count('users'), await count('memberships')];
    const res = await signup({ email: first.email.toUpperCase(), organizationName: 'Second Org', organizationSlug: 'second-org-dup' });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'conflict', details: { field: 'email' } });
    expect(await count('organizations')).toBe(orgs);
    expect(await count('organizations', 'slug = $1', ['second-org-dup'])).toBe(0);
    expect(await count('users')).toBe(users);
    expect(await count('memberships')).toBe(members);
    // the first account is untouched: still one organization, password unchanged
    const ok = await login({ email: first.email, password: PASSWORD });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().organizations).toHaveLength(1);
  });

  it('refuses a taken organization slug or username with 409 naming the field, and creates no user', async () => {
    await signupUser(t.app, { organizationSlug: 'taken-slug', username: 'taken.name' });
    const users = await count('users');
    const slug = await signup({ organizationSlug: 'taken-slug' });
    expect(slug.statusCode).toBe(409);
    expect(errorOf(slug)).toMatchObject({ code: 'conflict', details: { field: 'organizationSlug' } });
    const name = await signup({ username: 'TAKEN.name' });
    expect(name.statusCode).toBe(409);
    expect(errorOf(name)).toMatchObject({ code: 'conflict', details: { field: 'username' } });
    expect(await count('users')).toBe(users);
  });

  it.each([
    ['a malformed email', { email: 'not-an-email' }, 'body.email'],
    ['a password under 10 characters', { password: 'short' }, 'body.password'],
    ['a password that is not a string', { password: 1234567890123 }, 'body.password'],
    ['an email that is not a string', { email: 42 }, 'body.email'],
    ['a missing organizationName', { organizationName: undefined }, 'body.organizationName'],
    ['a blank organizationName', { organizationName: '   ' }, 'body.organizationName'],
    ['a slug with upper case', { organizationSlug: 'Acme' }, 'body.organizationSlug'],
    ['a slug ending in "-"', { organizationSlug: 'acme-' }, 'body.organizationSlug'],
    ['a username starting with "."', { username: '.dot' }, 'body.username'],
    ['an unknown field', { isAdmin: true }, 'isAdmin'],
  ])('rejects %s with 400 validation_failed naming the field', async (_what, over, field) => {
    const users = await count('users');
    const res = await signup(over);
    expect(res.statusCode).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe('validation_failed');
    expect(e.message).toContain(field);
    expect(await count('users')).toBe(users);
  });

  it('rejects a body that is not JSON with 400 invalid_json', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      headers: { 'content-type': 'application/json' },
      body: '{"email": "a@example.com",',
    });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('invalid_json');
  });
});

describe('POST /v1/auth/login', () => {
  it('returns tokens and the organizations of the user, with a case-insensitive email', async () => {
    const u = await signupUser(t.app);
    const res = await login({ email: u.email.toUpperCase(), password: PASSWORD });
    expect(res.statusCode).toBe(200);
    const b = res.json();
    expect(b.organizationId).toBe(u.orgId);
    expect(b.organizations).toEqual([expect.objectContaining({ orgId: u.orgId })]);
    expect(b.tokens.sessionId).not.toBe(undefined);
    const me = await get('/v1/me', bearer(b.tokens.accessToken));
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ organizationId: u.orgId, sessionId: b.tokens.sessionId });
    expect(me.json().user.lastLoginAt).not.toBeNull();
  });

  it('answers a wrong password and an unknown email the same way: 401 invalid_credentials', async () => {
    const u = await signupUser(t.app);
    const wrong = await login({ email: u.email, password: 'not the password' });
    const unknown = await login({ email: uniqueEmail('nobody'), password: PASSWORD });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(errorOf(wrong).code).toBe('invalid_credentials');
    expect(errorOf(unknown).code).toBe('invalid_credentials');
    expect(errorOf(unknown).message).toBe(errorOf(wrong).message);
  });

  it('refuses an organizationId the user is not a member of with 403, and accepts their own', async () => {
    const u = await signupUser(t.app);
    const other = await signupUser(t.app);
    const res = await login({ email: u.email, password: PASSWORD, organizationId: other.orgId });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    const own = await login({ email: u.email, password: PASSWORD, organizationId: u.orgId });
    expect(own.statusCode).toBe(200);
    expect(own.json().organizationId).toBe(u.orgId);
  });

  it.each([
    ['a malformed email', { email: 'nope' }, 'body.email'],
    ['an empty password', { password: '' }, 'body.password'],
    ['a non-UUID organizationId', { organizationId: 'org-1' }, 'body.organizationId'],
    ['a 5-digit mfaCode', { mfaCode: '12345' }, 'body.mfaCode'],
    ['an unknown field', { remember: true }, 'remember'],
  ])('rejects %s with 400 validation_failed', async (_what, over, field) => {
    const res = await login({ email: 'someone@example.com', password: PASSWORD, ...over });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(errorOf(res).message).toContain(field);
  });
});

describe('login lockout', () => {
  it('locks the account after 3 failures with 429 and Retry-After, refusing even the right password', async () => {
    const u = await signupUser(t.app);
    for (let i = 0; i < 2; i++) {
      const r = await login({ email: u.email, password: 'wrong password' });
      expect(r.statusCode).toBe(401);
      expect(errorOf(r).code).toBe('invalid_credentials');
    }
    const third = await login({ email: u.email, password: 'wrong password' });
    expect(third.statusCode).toBe(429);
    expect(errorOf(third).code).toBe('account_locked');

    const right = await login({ email: u.email, password: PASSWORD });
    expect(right.statusCode).toBe(429);
    const e = errorOf(right);
    expect(e.code).toBe('account_locked');
    const retry = Number(right.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(e.details).toEqual({ retryAfterSeconds: retry });
    expect(right.body).not.toContain('accessToken');

    // another account is not affected
    const other = await signupUser(t.app);
    expect((await login({ email: other.email, password: PASSWORD })).statusCode).toBe(200);
  });

  it('forgets earlier failures after a successful login', async () => {
    const u = await signupUser(t.app);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) expect((await login({ email: u.email, password: 'wrong password' })).statusCode).toBe(401);
      expect((await login({ email: u.email, password: PASSWORD })).statusCode).toBe(200);
    }
  });
});

describe('POST /v1/auth/refresh', () => {
  it('rotates: the new refresh token works, the old one is refused, and the session stays the same', async () => {
    const u = await signupUser(t.app);
    const r1 = await refresh(u.refreshToken);
    expect(r1.statusCode).toBe(200);
    const p1 = r1.json();
    expect(p1.refreshToken).not.toBe(u.refreshToken);
    const me = await get('/v1/me', bearer(p1.accessToken));
    expect(me.statusCode).toBe(200);
    expect(me.json().sessionId).toBe(p1.sessionId);
    expect((await get('/v1/me', u.auth)).json().sessionId).toBe(p1.sessionId);

    const r2 = await refresh(p1.refreshToken);
    expect(r2.statusCode).toBe(200);
    expect(r2.json().sessionId).toBe(p1.sessionId);
  });

  it('treats reuse of a used refresh token as theft: 401 refresh_token_reused and the whole session is revoked', async () => {
    const u = await signupUser(t.app);
    const other = (await login({ email: u.email, password: PASSWORD })).json().tokens; // a second, unrelated session
    const p1 = (await refresh(u.refreshToken)).json();
    const p2 = (await refresh(p1.refreshToken)).json();

    const reused = await refresh(u.refreshToken);
    expect(reused.statusCode).toBe(401);
    expect(errorOf(reused).code).toBe('refresh_token_reused');

    const newest = await refresh(p2.refreshToken);
    expect(newest.statusCode).toBe(401);
    expect(errorOf(newest).code).toBe('invalid_token');
    for (const token of [u.accessToken, p1.accessToken, p2.accessToken]) {
      const me = await get('/v1/me', bearer(token));
      expect(me.statusCode).toBe(401);
      expect(errorOf(me).code).toBe('invalid_token');
    }

    // the other session is untouched and sees the reuse in the audit log
    expect((await get('/v1/me', bearer(other.accessToken))).statusCode).toBe(200);
    expect((await refresh(other.refreshToken)).statusCode).toBe(200);
    const audit = await get('/v1/audit?action=auth.refresh_token_reused', bearer(other.accessToken));
    expect(audit.json().data).toEqual([expect.objectContaining({ resourceId: p1.sessionId, userId: u.userId })]);
  });

  it.each([
    ['garbage', 'garbage'],
    ['an unknown token with the right prefix', 'abr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
  ])('refuses %s with 401 invalid_token', async (_what, token) => {
    const res = await refresh(token);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('invalid_token');
  });

  it('rejects a missing or unknown field with 400', async () => {
    for (const body of [{}, { refreshToken: 'abr_x', extra: 1 }, { refreshToken: 7 }]) {
      const res = await post('/v1/auth/refresh', body);
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
  });
});

describe('POST /v1/auth/logout', () => {
  it('ends the session of the access token: 204, then the access and refresh tokens are refused', async () => {
    const u = await signupUser(t.app);
    const res = await post('/v1/auth/logout', {}, u.auth);
    expect(res.statusCode).toBe(204);
    const me = await get('/v1/me', u.auth);
    expect(me.statusCode).toBe(401);
    expect(errorOf(me).code).toBe('invalid_token');
    const r = await refresh(u.refreshToken);
    expect(r.statusCode).toBe(401);
    expect(errorOf(r).code).toBe('invalid_token');
  });

  // Fastify hands the validator null for a missing body, and `.optional()` accepts only undefined.
  it('accepts a logout with no body at all (only the Authorization header)', async () => {
    const u = await signupUser(t.app);
    const res = await post('/v1/auth/logout', undefined, u.auth);
    expect(res.statusCode).toBe(204);
    expect((await get('/v1/me', u.auth)).statusCode).toBe(401);
    const anon = await post('/v1/auth/logout');
    expect(anon.statusCode).toBe(401);
  });

  it('ends the session of a refresh token sent without an access token', async () => {
    const u = await signupUser(t.app);
    const res = await post('/v1/auth/logout', { refreshToken: u.refreshToken });
    expect(res.statusCode).toBe(204);
    expect((await get('/v1/me', u.auth)).statusCode).toBe(401);
    expect((await refresh(u.refreshToken)).statusCode).toBe(401);
  });

  it('leaves other sessions of the same user alive', async () => {
    const u = await signupUser(t.app);
    const other = (await login({ email: u.email, password: PASSWORD })).json().tokens;
    expect((await post('/v1/auth/logout', {}, u.auth)).statusCode).toBe(204);
    expect((await get('/v1/me', bearer(other.accessToken))).statusCode).toBe(200);
    expect((await refresh(other.refreshToken)).statusCode).toBe(200);
  });

  it('answers 401 without credentials and for an unknown refresh token', async () => {
    const none = await post('/v1/auth/logout', {});
    expect(none.statusCode).toBe(401);
    expect(errorOf(none).code).toBe('unauthenticated');
    const bad = await post('/v1/auth/logout', { refreshToken: 'abr_not-a-real-token' });
    expect(bad.statusCode).toBe(401);
    expect(errorOf(bad).code).toBe('invalid_token');
  });

  it('refuses an API key with 403 (keys are revoked, not logged out)', async () => {
    const u = await signupUser(t.app);
    const key = (await post('/v1/api-keys', { name: 'ci', scopes: ['*'] }, u.auth)).json().key as string;
    const res = await post('/v1/auth/logout', {}, bearer(key));
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    expect((await get('/v1/me', u.auth)).statusCode).toBe(200);
  });
});

describe('audit of authentication', () => {
  it('records signup, login, refresh and logout without any password or token', async () => {
    const u = await signupUser(t.app);
    const refreshed = await post('/v1/auth/refresh', { refreshToken: u.refreshToken });
    expect(refreshed.statusCode).toBe(200);
    const second = (await login({ email: u.email, password: PASSWORD })).json().tokens;
    expect((await post('/v1/auth/logout', {}, bearer(second.accessToken))).statusCode).toBe(204);
    const third = (await login({ email: u.email, password: PASSWORD })).json().tokens;

    const res = await get('/v1/audit?limit=100', bearer(third.accessToken));
    expect(res.statusCode).toBe(200);
    const rows = res.json().data as { action: string; userId: string; resourceId: string }[];
    const actions = rows.map((r) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining(['organization.created', 'user.signed_up', 'auth.token_refreshed', 'auth.login', 'auth.logout']),
    );
    expect(rows.find((r) => r.action === 'organization.created')?.resourceId).toBe(u.orgId);
    expect(rows.find((r) => r.action === 'user.signed_up')?.resourceId).toBe(u.userId);
    expect(rows.find((r) => r.action === 'auth.logout')?.resourceId).toBe(second.sessionId);
    expect(rows.every((r) => r.userId === u.userId)).toBe(true);

    const text = res.body;
    for (const secret of [PASSWORD, u.accessToken, u.refreshToken, refreshed.json().refreshToken, second.accessToken, second.refreshToken, third.refreshToken, '$argon2']) {
      expect(text).not.toContain(secret);
    }
  });
});
