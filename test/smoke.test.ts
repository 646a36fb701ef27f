import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type TestApp } from './helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

describe('smoke', () => {
  it('signs up and reads /v1/me', async () => {
    const u = await signupUser(t.app);
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: u.auth });
    expect(me.statusCode).toBe(200);
    expect(me.json().permissions).toContain('orgs:write');
    const bad = await t.app.inject({ method: 'GET', url: '/v1/me' });
    expect(bad.statusCode).toBe(401);
    expect(errorOf(bad).code).toBe('unauthenticated');
  });
});
