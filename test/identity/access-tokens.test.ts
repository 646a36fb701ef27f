import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokens, deriveKeys } from '../../src/identity/index.js';
import { createTestApp, errorOf, signupUser, TEST_SECRET, type TestApp } from '../helpers/app.js';

/**
 * Access tokens (HS256 JWTs) are checked by signature, issuer, expiry and the
 * shape of their claims: a token signed with the right key but carrying
 * malformed claims is 401 invalid_token, never a 500.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const get = (url: string, headers: Record<string, string>) => t.app.inject({ method: 'GET', url, headers });

describe('access tokens', () => {
  const key = deriveKeys(TEST_SECRET).accessToken;
  let u: Awaited<ReturnType<typeof signupUser>>;
  let sid: string;
  beforeAll(async () => {
    u = await signupUser(t.app);
    sid = (await get('/v1/me', u.auth)).json().sessionId;
  });
  const claims = () => new SignJWT({ org: u.orgId, sid }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(u.userId);

  it('accepts a token signed with the derived key (so the refusals below are about what they vary)', async () => {
    const token = await accessTokens(key, 60).sign({ userId: u.userId, orgId: u.orgId, sessionId: sid });
    expect((await get('/v1/me', bearer(token))).statusCode).toBe(200);
  });

  it('refuses an expired token with 401 token_expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await claims().setIssuer('agentbase').setIssuedAt(now - 120).setExpirationTime(now - 60).sign(key);
    const res = await get('/v1/me', bearer(token));
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('token_expired');
  });

  it.each([
    ['signed with another key', async () => claims().setIssuer('agentbase').setExpirationTime('5m').sign(deriveKeys('x'.repeat(40)).accessToken)],
    ['with a tampered payload', async () => {
      const [h, , s] = u.accessToken.split('.');
      const body = Buffer.from(JSON.stringify({ org: u.orgId, sid, sub: u.userId, iss: 'agentbase', exp: 4e9 })).toString('base64url');
      return `${h}.${body}.${s}`;
    }],
    ['from another issuer', async () => claims().setIssuer('someone-else').setExpirationTime('5m').sign(key)],
    ['without the session claim', async () =>
      new SignJWT({ org: u.orgId }).setProtectedHeader({ alg: 'HS256' }).setSubject(u.userId).setIssuer('agentbase').setExpirationTime('5m').sign(key)],
    ['that is not a JWT', async () => 'not.a.jwt'],
    // Signed with the right key, so only the claims' shapes can refuse them.
    ['whose org claim is not a UUID', async () =>
      new SignJWT({ org: 'x', sid }).setProtectedHeader({ alg: 'HS256' }).setSubject(u.userId).setIssuer('agentbase').setExpirationTime('5m').sign(key)],
    ['whose subject is not a UUID', async () =>
      new SignJWT({ org: u.orgId, sid }).setProtectedHeader({ alg: 'HS256' }).setSubject('root').setIssuer('agentbase').setExpirationTime('5m').sign(key)],
    ['whose session claim is a number', async () =>
      new SignJWT({ org: u.orgId, sid: 42 }).setProtectedHeader({ alg: 'HS256' }).setSubject(u.userId).setIssuer('agentbase').setExpirationTime('5m').sign(key)],
    ['whose org claim is an object', async () =>
      new SignJWT({ org: { id: u.orgId }, sid }).setProtectedHeader({ alg: 'HS256' }).setSubject(u.userId).setIssuer('agentbase').setExpirationTime('5m').sign(key)],
    ['without an expiry', async () => claims().setIssuer('agentbase').sign(key)],
  ])('refuses a token %s with 401 invalid_token', async (_what, make) => {
    const res = await get('/v1/me', bearer(await make()));
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('invalid_token');
  });

  it('refuses a non-Bearer Authorization header with 401 invalid_token', async () => {
    const res = await get('/v1/me', { authorization: 'Basic x' });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('invalid_token');
  });
});
