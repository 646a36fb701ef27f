import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, PASSWORD, signupUser, uniqueEmail, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

type Auth = { authorization: string };

async function getOrg(auth: Auth) {
  const res = await t.app.inject({ method: 'GET', url: '/v1/org', headers: auth });
  expect(res.statusCode).toBe(200);
  return res.json();
}

const patchOrg = (auth: Auth, payload: unknown) => t.app.inject({ method: 'PATCH', url: '/v1/org', headers: auth, payload: payload as object });

/** A new member of the owner's organization with one role, through an invitation. */
async function join(owner: SignedUp, role: string): Promise<{ userId: string; auth: Auth }> {
  const inv = await t.app.inject({ method: 'POST', url: '/v1/invitations', headers: owner.auth, payload: { email: uniqueEmail(role), role } });
  expect(inv.statusCode).toBe(201);
  const acc = await t.app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', payload: { token: inv.json().token, password: PASSWORD } });
  expect(acc.statusCode).toBe(201);
  return { userId: acc.json().userId, auth: { authorization: `Bearer ${acc.json().tokens.accessToken}` } };
}

async function auditRows(owner: SignedUp): Promise<Array<{ resourceId: string; oldValues: Record<string, unknown>; newValues: Record<string, unknown>; userId: string }>> {
  const res = await t.app.inject({ method: 'GET', url: '/v1/audit?action=organization.updated&limit=100', headers: owner.auth });
  expect(res.statusCode).toBe(200);
  return res.json().data;
}

describe('GET /v1/org', () => {
  it('returns the caller organization with its limits and version 1', async () => {
    const owner = await signupUser(t.app, { organizationName: 'Globex Travel' });
    const org = await getOrg(owner.auth);
    expect(org).toMatchObject({
      id: owner.orgId,
      name: 'Globex Travel',
      logoUrl: null,
      settings: {},
      maxAgents: 10,
      maxExecutionsPerMonth: 1000,
      maxTeamMembers: 5,
      version: 1,
    });
    expect(org.slug).toMatch(/^globex-travel-/);
  });

  it('shows each caller only their own organization', async () => {
    const a = await signupUser(t.app, { organizationName: 'Org A' });
    const b = await signupUser(t.app, { organizationName: 'Org B' });
    expect((await getOrg(a.auth)).id).toBe(a.orgId);
    expect((await getOrg(b.auth)).id).toBe(b.orgId);
  });

  it('needs authentication', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/org' });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('unauthenticated');
  });
});

describe('PATCH /v1/org', () => {
  it('applies a change sent with the current version and bumps the version', async () => {
    const owner = await signupUser(t.app);
    const res = await patchOrg(owner.auth, {
      version: 1,
      name: '  Initech  ',
      maxAgents: 50,
      maxTeamMembers: 20,
      settings: { region: 'eu', flags: { beta: true } },
      logoUrl: 'https://example.com/logo.png',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'Initech',
      maxAgents: 50,
      maxTeamMembers: 20,
      maxExecutionsPerMonth: 1000,
      settings: { region: 'eu', flags: { beta: true } },
      logoUrl: 'https://example.com/logo.png',
      version: 2,
    });
    // the change is stored, not only echoed
    expect(await getOrg(owner.auth)).toMatchObject({ name: 'Initech', maxAgents: 50, version: 2 });

    const again = await patchOrg(owner.auth, { version: 2, logoUrl: null });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ logoUrl: null, name: 'Initech', version: 3 });
  });

  it('refuses a stale version with 409 version_conflict and changes nothing', async () => {
    const owner = await signupUser(t.app, { organizationName: 'Stale Co' });
    expect((await patchOrg(owner.auth, { version: 1, name: 'First' })).statusCode).toBe(200);
    const before = await getOrg(owner.auth);

    const res = await patchOrg(owner.auth, { version: 1, name: 'Second', maxAgents: 99 });
    expect(res.statusCode).toBe(409);
    const err = errorOf(res);
    expect(err.code).toBe('version_conflict');
    expect(err.details).toEqual({ expectedVersion: 1 });

    const future = await patchOrg(owner.auth, { version: 99, name: 'Third' });
    expect(future.statusCode).toBe(409);
    expect(errorOf(future).code).toBe('version_conflict');

    const after = await getOrg(owner.auth);
    expect(after).toEqual(before);
    expect(after).toMatchObject({ name: 'First', version: 2, maxAgents: 10 });
  });

  it('is refused (403) to roles without orgs:write, while they can still read it', async () => {
    const owner = await signupUser(t.app);
    for (const role of ['viewer', 'member', 'admin']) {
      const m = await join(owner, role);
      expect((await getOrg(m.auth)).id).toBe(owner.orgId);
      const res = await patchOrg(m.auth, { version: 1, name: `by ${role}` });
      expect(res.statusCode, role).toBe(403);
      const err = errorOf(res);
      expect(err.code).toBe('forbidden');
      expect(err.details).toEqual({ permission: 'orgs:write' });
    }
    expect(await getOrg(owner.auth)).toMatchObject({ name: 'Acme Travel', version: 1 });
  });

  it('is refused (403) to an owner API key whose scopes lack orgs:write', async () => {
    const owner = await signupUser(t.app);
    const k = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: owner.auth, payload: { name: 'read only', scopes: ['orgs:read'] } });
    expect(k.statusCode).toBe(201);
    const res = await patchOrg({ authorization: `Bearer ${k.json().key}` }, { version: 1, name: 'via key' });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    expect((await getOrg(owner.auth)).version).toBe(1);
  });

  it.each([
    ['a negative maxAgents', { version: 1, maxAgents: -1 }],
    ['maxTeamMembers 0', { version: 1, maxTeamMembers: 0 }],
    ['a fractional maxAgents', { version: 1, maxAgents: 1.5 }],
    ['an unknown field', { version: 1, name: 'x', plan: 'enterprise' }],
    ['a missing version', { name: 'No Version' }],
    ['version 0', { version: 0, name: 'x' }],
    ['a string version', { version: '1', name: 'x' }],
    ['an empty name', { version: 1, name: '' }],
    ['a blank name', { version: 1, name: '   ' }],
    ['a name longer than 255', { version: 1, name: 'x'.repeat(256) }],
    ['a logoUrl that is not a URL', { version: 1, logoUrl: 'not a url' }],
    ['settings that are not an object', { version: 1, settings: [1, 2] }],
    ['a body that is not an object', [1]],
  ])('refuses %s with 400 validation_failed and changes nothing', async (_what, payload) => {
    const owner = await signupUser(t.app);
    const res = await patchOrg(owner.auth, payload);
    expect(res.statusCode).toBe(400);
    const err = errorOf(res);
    expect(err.code).toBe('validation_failed');
    expect((err.details as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    expect(await getOrg(owner.auth)).toMatchObject({ name: 'Acme Travel', maxAgents: 10, maxTeamMembers: 5, version: 1 });
    expect(await auditRows(owner)).toHaveLength(0);
  });

  it('refuses a body that is not JSON with 400 invalid_json', async () => {
    const owner = await signupUser(t.app);
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/v1/org',
      headers: { ...owner.auth, 'content-type': 'application/json' },
      payload: '{"version": 1, "name": ',
    });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('invalid_json');
    expect((await getOrg(owner.auth)).version).toBe(1);
  });
});

describe('organization audit trail', () => {
  it('writes one organization.updated row per successful PATCH, with old and new values', async () => {
    const owner = await signupUser(t.app, { organizationName: 'Audit Me' });
    expect((await patchOrg(owner.auth, { version: 1, name: 'Audit Me 2', maxAgents: 11 })).statusCode).toBe(200);
    expect((await patchOrg(owner.auth, { version: 2, settings: { tz: 'UTC' } })).statusCode).toBe(200);
    // refused requests leave no audit row
    expect((await patchOrg(owner.auth, { version: 1, name: 'stale' })).statusCode).toBe(409);
    expect((await patchOrg(owner.auth, { version: 3, maxAgents: -5 })).statusCode).toBe(400);

    const rows = await auditRows(owner); // newest first
    expect(rows).toHaveLength(2);
    const [second, first] = rows as [(typeof rows)[0], (typeof rows)[0]];
    expect(first.resourceId).toBe(owner.orgId);
    expect(first.userId).toBe(owner.userId);
    expect(first.oldValues).toMatchObject({ name: 'Audit Me', maxAgents: 10, version: 1 });
    expect(first.newValues).toMatchObject({ name: 'Audit Me 2', maxAgents: 11, version: 2 });
    expect(second.oldValues).toMatchObject({ settings: {}, version: 2, name: 'Audit Me 2' });
    expect(second.newValues).toMatchObject({ settings: { tz: 'UTC' }, version: 3, name: 'Audit Me 2' });
  });

  it('leaves a hash chain that verifies after organization updates', async () => {
    const owner = await signupUser(t.app);
    expect((await patchOrg(owner.auth, { version: 1, name: 'Chained' })).statusCode).toBe(200);
    expect((await patchOrg(owner.auth, { version: 2, maxAgents: 3 })).statusCode).toBe(200);
    const verify = await t.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: owner.auth });
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toMatchObject({ orgId: owner.orgId, ok: true, firstBreak: null });
    expect(verify.json().rowsChecked).toBeGreaterThanOrEqual(4);
  });

  it('keeps one organization\'s updates out of another organization\'s audit log', async () => {
    const a = await signupUser(t.app);
    const b = await signupUser(t.app);
    expect((await patchOrg(a.auth, { version: 1, name: 'A changed' })).statusCode).toBe(200);
    expect(await auditRows(a)).toHaveLength(1);
    expect(await auditRows(b)).toHaveLength(0);
    expect((await getOrg(b.auth)).name).toBe('Acme Travel');
  });
});
