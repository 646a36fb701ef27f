import { randomUUID } from 'node:crypto';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../src/identity/index.js';
import { createTestApp, errorOf, PASSWORD, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const post = (url: string, payload: object | undefined, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, headers, ...(payload === undefined ? {} : { payload }) });
const status = async (u: SignedUp) => {
  const res = await t.app.inject({ method: 'GET', url: '/v1/me/mfa', headers: u.auth });
  expect(res.statusCode).toBe(200);
  return res.json() as { enabled: boolean; deviceName: string | null; recoveryCodesRemaining: number };
};
const login = (u: SignedUp, extra: Record<string, unknown> = {}) => post('/v1/auth/login', { email: u.email, password: PASSWORD, ...extra });

// A code works once per 30-second step; the code of the next step is also accepted (one step of drift).
const codeAt = (secret: string, offsetMs: number) => authenticator.clone({ epoch: Date.now() + offsetMs }).generate(secret);
const nextCode = (secret: string) => codeAt(secret, 30_000);
function wrongCode(secret: string): string {
  const near = new Set([-60_000, -30_000, 0, 30_000, 60_000].map((o) => codeAt(secret, o)));
  for (let n = 0; ; n += 7919) {
    const c = String(n % 1_000_000).padStart(6, '0');
    if (!near.has(c)) return c;
  }
}

async function enroll(u: SignedUp, name = 'Phone'): Promise<{ deviceId: string; secret: string; otpauthUrl: string }> {
  const res = await post('/v1/me/mfa/totp', { name }, u.auth);
  expect(res.statusCode).toBe(201);
  return res.json();
}

/** A new user with TOTP confirmed (its current step is now used up). */
async function mfaUser(): Promise<SignedUp & { secret: string; recoveryCodes: string[] }> {
  const u = await signupUser(t.app);
  const { deviceId, secret } = await enroll(u);
  const res = await post('/v1/me/mfa/totp/confirm', { deviceId, code: totpCode(secret) }, u.auth);
  expect(res.statusCode).toBe(200);
  return { ...u, secret, recoveryCodes: res.json().recoveryCodes };
}

describe('TOTP enrollment', () => {
  it('returns a secret and an otpauth URL, and leaves MFA off until confirmed', async () => {
    const u = await signupUser(t.app);
    expect(await status(u)).toEqual({ enabled: false, deviceName: null, recoveryCodesRemaining: 0 });
    const e = await enroll(u, 'Work phone');
    expect(e.secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(e.otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
    const url = new URL(e.otpauthUrl);
    expect(url.searchParams.get('secret')).toBe(e.secret);
    expect(url.searchParams.get('issuer')).toBe('agentbase');
    expect(decodeURIComponent(url.pathname)).toContain(u.email);
    expect((await status(u)).enabled).toBe(false);
    expect((await login(u)).statusCode).toBe(200);
  });

  // Fastify passes null for a missing body, and `.default()` replaces only undefined.
  it('accepts an enrollment with no body (the name defaults to "Authenticator")', async () => {
    const u = await signupUser(t.app);
    const res = await post('/v1/me/mfa/totp', undefined, u.auth);
    expect(res.statusCode).toBe(201);
  });

  it('refuses a wrong code with 401 invalid_mfa_code and MFA stays off', async () => {
    const u = await signupUser(t.app);
    const { deviceId, secret } = await enroll(u);
    const res = await post('/v1/me/mfa/totp/confirm', { deviceId, code: wrongCode(secret) }, u.auth);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('invalid_mfa_code');
    expect(await status(u)).toEqual({ enabled: false, deviceName: null, recoveryCodesRemaining: 0 });
    expect((await login(u)).statusCode).toBe(200);
  });

  it('turns MFA on with the right code and returns 10 distinct recovery codes once', async () => {
    const u = await signupUser(t.app);
    const { deviceId, secret } = await enroll(u);
    const res = await post('/v1/me/mfa/totp/confirm', { deviceId, code: totpCode(secret) }, u.auth);
    expect(res.statusCode).toBe(200);
    const codes = res.json().recoveryCodes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    expect(await status(u)).toEqual({ enabled: true, deviceName: 'Phone', recoveryCodesRemaining: 10 });

    const again = await post('/v1/me/mfa/totp/confirm', { deviceId, code: nextCode(secret) }, u.auth);
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).code).toBe('conflict');
    const another = await post('/v1/me/mfa/totp', { name: 'Second' }, u.auth);
    expect(another.statusCode).toBe(409);
    expect(await status(u)).toEqual({ enabled: true, deviceName: 'Phone', recoveryCodesRemaining: 10 });
  });

  it("answers 404 for an unknown device or another user's device, which stays unconfirmed", async () => {
    const u = await signupUser(t.app);
    const other = await signupUser(t.app);
    const theirs = await enroll(other);
    const unknown = await post('/v1/me/mfa/totp/confirm', { deviceId: randomUUID(), code: '123456' }, u.auth);
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown).code).toBe('not_found');
    const res = await post('/v1/me/mfa/totp/confirm', { deviceId: theirs.deviceId, code: totpCode(theirs.secret) }, u.auth);
    expect(res.statusCode).toBe(404);
    expect((await status(u)).enabled).toBe(false);
    expect((await status(other)).enabled).toBe(false);
    // the owner can still confirm it with that same, unused code
    const own = await post('/v1/me/mfa/totp/confirm', { deviceId: theirs.deviceId, code: totpCode(theirs.secret) }, other.auth);
    expect(own.statusCode).toBe(200);
  });
});

describe('login with MFA on', () => {
  it('checks the password first: a wrong password is 401 invalid_credentials, not mfa_required', async () => {
    const u = await mfaUser();
    const res = await login(u, { password: 'wrong password' });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('invalid_credentials');
  });

  it('needs a code: none is 401 mfa_required, a wrong one 401 invalid_mfa_code, a right one 200 exactly once', async () => {
    const u = await mfaUser();
    const none = await login(u);
    expect(none.statusCode).toBe(401);
    expect(errorOf(none).code).toBe('mfa_required');
    expect(none.body).not.toContain('accessToken');

    const wrong = await login(u, { mfaCode: wrongCode(u.secret) });
    expect(wrong.statusCode).toBe(401);
    expect(errorOf(wrong).code).toBe('invalid_mfa_code');

    const code = nextCode(u.secret);
    const ok = await login(u, { mfaCode: code });
    expect(ok.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(ok.json().tokens.accessToken) })).statusCode).toBe(200);

    const replay = await login(u, { mfaCode: code });
    expect(replay.statusCode).toBe(401);
    expect(errorOf(replay).code).toBe('invalid_mfa_code');
  });

  it('refuses the code that confirmed the device (its step is used up)', async () => {
    const u = await mfaUser();
    const res = await login(u, { mfaCode: totpCode(u.secret) });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('invalid_mfa_code');
  });

  it('accepts a recovery code once (in any case), not twice', async () => {
    const u = await mfaUser();
    const [first, second] = u.recoveryCodes as [string, string];
    const ok = await login(u, { recoveryCode: first });
    expect(ok.statusCode).toBe(200);
    const again = await login(u, { recoveryCode: first });
    expect(again.statusCode).toBe(401);
    expect(errorOf(again).code).toBe('invalid_mfa_code');
    expect((await login(u, { recoveryCode: second.toUpperCase() })).statusCode).toBe(200);
    expect((await status(u)).recoveryCodesRemaining).toBe(8);
  });

  it("refuses another user's recovery code", async () => {
    const u = await mfaUser();
    const other = await mfaUser();
    const res = await login(u, { recoveryCode: other.recoveryCodes[0] });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('invalid_mfa_code');
    expect((await status(other)).recoveryCodesRemaining).toBe(10);
  });
});

describe('POST /v1/me/mfa/disable', () => {
  it('needs the right password and a valid code, and changes nothing otherwise', async () => {
    const u = await mfaUser();
    const wrongPassword = await post('/v1/me/mfa/disable', { password: 'wrong password', recoveryCode: u.recoveryCodes[0] }, u.auth);
    expect(wrongPassword.statusCode).toBe(401);
    expect(errorOf(wrongPassword).code).toBe('invalid_credentials');
    const noCode = await post('/v1/me/mfa/disable', { password: PASSWORD }, u.auth);
    expect(noCode.statusCode).toBe(400);
    expect(errorOf(noCode).code).toBe('bad_request');
    const badCode = await post('/v1/me/mfa/disable', { password: PASSWORD, mfaCode: wrongCode(u.secret) }, u.auth);
    expect(badCode.statusCode).toBe(401);
    expect(errorOf(badCode).code).toBe('invalid_mfa_code');
    // the recovery code sent with the wrong password was not spent
    expect(await status(u)).toEqual({ enabled: true, deviceName: 'Phone', recoveryCodesRemaining: 10 });
    expect(errorOf(await login(u)).code).toBe('mfa_required');
  });

  it('turns MFA off with password and code: login needs no code, old recovery codes are void, re-enrollment works', async () => {
    const u = await mfaUser();
    const res = await post('/v1/me/mfa/disable', { password: PASSWORD, mfaCode: nextCode(u.secret) }, u.auth);
    expect(res.statusCode).toBe(204);
    expect(await status(u)).toEqual({ enabled: false, deviceName: null, recoveryCodesRemaining: 0 });
    expect((await login(u)).statusCode).toBe(200);

    const again = await post('/v1/me/mfa/disable', { password: PASSWORD, recoveryCode: u.recoveryCodes[1] }, u.auth);
    expect(again.statusCode).toBe(409);

    const fresh = await enroll(u);
    expect(fresh.secret).not.toBe(u.secret);
    const conf = await post('/v1/me/mfa/totp/confirm', { deviceId: fresh.deviceId, code: totpCode(fresh.secret) }, u.auth);
    expect(conf.statusCode).toBe(200);
    const old = await login(u, { recoveryCode: u.recoveryCodes[2] });
    expect(old.statusCode).toBe(401);
    expect(errorOf(old).code).toBe('invalid_mfa_code');
    expect((await login(u, { recoveryCode: conf.json().recoveryCodes[0] })).statusCode).toBe(200);
  });
});

describe('POST /v1/me/mfa/recovery-codes', () => {
  it('replaces the codes after password and code: old codes stop working, new ones work', async () => {
    const u = await mfaUser();
    const wrong = await post('/v1/me/mfa/recovery-codes', { password: 'wrong password', mfaCode: nextCode(u.secret) }, u.auth);
    expect(wrong.statusCode).toBe(401);
    const res = await post('/v1/me/mfa/recovery-codes', { password: PASSWORD, mfaCode: nextCode(u.secret) }, u.auth);
    expect(res.statusCode).toBe(200);
    const codes = res.json().recoveryCodes as string[];
    expect(codes).toHaveLength(10);
    expect(codes.filter((c) => u.recoveryCodes.includes(c))).toEqual([]);
    expect((await status(u)).recoveryCodesRemaining).toBe(10);
    expect((await login(u, { recoveryCode: u.recoveryCodes[0] })).statusCode).toBe(401);
    expect((await login(u, { recoveryCode: codes[0] })).statusCode).toBe(200);
  });

  it('answers 409 when MFA is off', async () => {
    const u = await signupUser(t.app);
    const res = await post('/v1/me/mfa/recovery-codes', { password: PASSWORD, mfaCode: '123456' }, u.auth);
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('conflict');
  });
});

describe('who may change MFA settings', () => {
  it('refuses API keys with 403 on every MFA change, and nothing changes', async () => {
    const u = await signupUser(t.app);
    const created = await post('/v1/api-keys', { name: 'automation', scopes: ['*'] }, u.auth);
    expect(created.statusCode).toBe(201);
    const key = bearer(created.json().key);
    const pending = await enroll(u);
    const calls: [string, object][] = [
      ['/v1/me/mfa/totp', { name: 'Key device' }],
      ['/v1/me/mfa/totp/confirm', { deviceId: pending.deviceId, code: totpCode(pending.secret) }],
      ['/v1/me/mfa/disable', { password: PASSWORD, mfaCode: '123456' }],
      ['/v1/me/mfa/recovery-codes', { password: PASSWORD, mfaCode: '123456' }],
    ];
    for (const [url, body] of calls) {
      const res = await post(url, body, key);
      expect(res.statusCode, url).toBe(403);
      expect(errorOf(res).code).toBe('forbidden');
    }
    expect((await status(u)).enabled).toBe(false);
    // the pending device is still confirmable by the user with the code the key could not spend
    const conf = await post('/v1/me/mfa/totp/confirm', { deviceId: pending.deviceId, code: totpCode(pending.secret) }, u.auth);
    expect(conf.statusCode).toBe(200);
  });

  it('requires authentication', async () => {
    const res = await post('/v1/me/mfa/totp', { name: 'x' });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('unauthenticated');
  });

  // The MFA routes have no `permission`, so the hook never checks that the session is still live
  // (only effectivePermissions does); a logged-out or revoked access token keeps working here.
  it('refuses the access token of a logged-out session', async () => {
    const u = await signupUser(t.app);
    expect((await post('/v1/auth/logout', {}, u.auth)).statusCode).toBe(204);
    const res = await post('/v1/me/mfa/totp', { name: 'After logout' }, u.auth);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('invalid_token');
  });
});

describe('input validation', () => {
  let u: SignedUp & { secret: string; recoveryCodes: string[] };
  beforeAll(async () => {
    u = await mfaUser();
  });
  const uuid = '00000000-0000-4000-8000-000000000000';

  it.each([
    ['/v1/me/mfa/totp', { name: '' }, 'body.name'],
    ['/v1/me/mfa/totp', { name: 'x', secret: 'JBSWY3DPEHPK3PXP' }, 'secret'],
    ['/v1/me/mfa/totp/confirm', { deviceId: uuid, code: '12345' }, 'body.code'],
    ['/v1/me/mfa/totp/confirm', { deviceId: uuid, code: '1234567' }, 'body.code'],
    ['/v1/me/mfa/totp/confirm', { deviceId: uuid, code: 'abcdef' }, 'body.code'],
    ['/v1/me/mfa/totp/confirm', { deviceId: uuid, code: 123456 }, 'body.code'],
    ['/v1/me/mfa/totp/confirm', { deviceId: 'device-1', code: '123456' }, 'body.deviceId'],
    ['/v1/me/mfa/totp/confirm', { code: '123456' }, 'body.deviceId'],
    ['/v1/me/mfa/totp/confirm', { deviceId: uuid, code: '123456', trust: true }, 'trust'],
    ['/v1/me/mfa/disable', { password: PASSWORD, mfaCode: '12' }, 'body.mfaCode'],
    ['/v1/me/mfa/disable', { mfaCode: '123456' }, 'body.password'],
    ['/v1/me/mfa/disable', { password: PASSWORD, recoveryCode: 'short' }, 'body.recoveryCode'],
    ['/v1/me/mfa/disable', { password: PASSWORD, mfaCode: '123456', force: true }, 'force'],
    ['/v1/me/mfa/recovery-codes', { password: PASSWORD, mfaCode: '12345a' }, 'body.mfaCode'],
    ['/v1/me/mfa/recovery-codes', { password: '', mfaCode: '123456' }, 'body.password'],
    ['/v1/auth/login', { email: 'a@example.com', password: PASSWORD, mfaCode: 'abcdef' }, 'body.mfaCode'],
    ['/v1/auth/login', { email: 'a@example.com', password: PASSWORD, recoveryCode: 'x' }, 'body.recoveryCode'],
  ])('POST %s with %j is 400 validation_failed naming %s', async (url, body, field) => {
    const res = await post(url, body, u.auth);
    expect(res.statusCode).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe('validation_failed');
    expect(e.message).toContain(field);
  });

  it('left the MFA state untouched', async () => {
    expect(await status(u)).toEqual({ enabled: true, deviceName: 'Phone', recoveryCodesRemaining: 10 });
  });
});
