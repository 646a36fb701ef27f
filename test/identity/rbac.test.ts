import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, PASSWORD, signupUser, uniqueEmail, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

type Auth = { authorization: string };
type Role = { id: string; name: string; parentRoleId: string | null; isSystem: boolean; permissions: string[]; version: number };
const bearer = (token: string): Auth => ({ authorization: `Bearer ${token}` });
const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, auth: Auth, payload?: unknown) =>
  t.app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload: payload as object }) });

const VIEWER = ['agents:read', 'audit:read', 'evals:read', 'executions:read', 'jobs:read', 'marketplace:read', 'members:read', 'memory:read', 'orgs:read', 'plans:read', 'roles:read', 'tasks:read', 'workflows:read'];
const MEMBER = [...VIEWER, 'agents:write', 'api_keys:read', 'api_keys:write', 'evals:write', 'executions:write', 'integrations:read', 'jobs:write', 'marketplace:write', 'memory:write', 'plans:write', 'secrets:read', 'tasks:write', 'workflows:write'].sort();
const ADMIN = [...MEMBER, 'api_keys:manage', 'billing:read', 'evals:override', 'integrations:write', 'members:write', 'memory:admin', 'model_prices:write', 'roles:write', 'secrets:write', 'webhooks:read', 'webhooks:write'].sort();
const OWNER = [...ADMIN, 'billing:write', 'orgs:write'].sort();

interface Joined {
  userId: string;
  auth: Auth;
  refreshToken: string;
}

async function join(owner: SignedUp, role: string): Promise<Joined> {
  const inv = await req('POST', '/v1/invitations', owner.auth, { email: uniqueEmail(role), role });
  expect(inv.statusCode, inv.body).toBe(201);
  const acc = await t.app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', payload: { token: inv.json().token, password: PASSWORD } });
  expect(acc.statusCode, acc.body).toBe(201);
  const b = acc.json();
  return { userId: b.userId, auth: bearer(b.tokens.accessToken), refreshToken: b.tokens.refreshToken };
}

async function perms(auth: Auth): Promise<string[]> {
  const me = await req('GET', '/v1/me', auth);
  expect(me.statusCode).toBe(200);
  return me.json().permissions;
}

async function roles(auth: Auth): Promise<Role[]> {
  const res = await req('GET', '/v1/roles', auth);
  expect(res.statusCode).toBe(200);
  return res.json().data;
}

async function createRole(auth: Auth, payload: Record<string, unknown>): Promise<Role> {
  const res = await req('POST', '/v1/roles', auth, payload);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function memberRoles(auth: Auth, userId: string): Promise<string[]> {
  const res = await req('GET', `/v1/members/${userId}`, auth);
  expect(res.statusCode).toBe(200);
  return res.json().roles;
}

const auditCount = async (orgId: string, action: string) =>
  (await t.db.admin.query(`SELECT 1 FROM audit_logs WHERE org_id = $1 AND action = $2`, [orgId, action])).rows.length;

describe('built-in roles', () => {
  it('are listed with their inheritance chain viewer <- member <- admin <- owner', async () => {
    const owner = await signupUser(t.app);
    const byName = new Map((await roles(owner.auth)).map((r) => [r.name, r]));
    const [viewer, member, admin, own] = ['viewer', 'member', 'admin', 'owner'].map((n) => byName.get(n)!);
    for (const r of [viewer, member, admin, own]) expect(r!.isSystem).toBe(true);
    expect(viewer!.parentRoleId).toBeNull();
    expect(member!.parentRoleId).toBe(viewer!.id);
    expect(admin!.parentRoleId).toBe(member!.id);
    expect(own!.parentRoleId).toBe(admin!.id);
    expect(own!.permissions).toEqual(['billing:write', 'orgs:write']); // its own; the rest is inherited
  });

  it('give each member exactly the permissions of their role and its ancestors', async () => {
    const owner = await signupUser(t.app);
    const [viewer, member, admin] = [await join(owner, 'viewer'), await join(owner, 'member'), await join(owner, 'admin')];
    expect(await perms(viewer.auth)).toEqual(VIEWER);
    expect(await perms(member.auth)).toEqual(MEMBER);
    expect(await perms(admin.auth)).toEqual(ADMIN);
    expect(await perms(owner.auth)).toEqual(OWNER);
  });

  it('cannot be changed or deleted (403)', async () => {
    const owner = await signupUser(t.app);
    const viewer = (await roles(owner.auth)).find((r) => r.name === 'viewer')!;
    const patch = await req('PATCH', `/v1/roles/${viewer.id}`, owner.auth, { version: viewer.version, permissions: ['orgs:write'] });
    expect(patch.statusCode).toBe(403);
    expect(errorOf(patch).code).toBe('forbidden');
    const del = await req('DELETE', `/v1/roles/${viewer.id}`, owner.auth);
    expect(del.statusCode).toBe(403);
    expect(errorOf(del).code).toBe('forbidden');
    const after = await req('GET', `/v1/roles/${viewer.id}`, owner.auth);
    expect(after.json()).toMatchObject({ permissions: viewer.permissions, version: viewer.version });
  });
});

describe('custom roles', () => {
  it('grant the parent permissions plus their own', async () => {
    const owner = await signupUser(t.app);
    const viewerId = (await roles(owner.auth)).find((r) => r.name === 'viewer')!.id;
    const role = await createRole(owner.auth, { name: 'agent-builder', description: 'builds', parent: 'viewer', permissions: ['agents:write'] });
    expect(role).toMatchObject({ name: 'agent-builder', parentRoleId: viewerId, isSystem: false, permissions: ['agents:write'], version: 1 });
    expect((await req('GET', `/v1/roles/${role.id}`, owner.auth)).json().id).toBe(role.id);

    const m = await join(owner, 'member');
    const put = await req('PUT', `/v1/members/${m.userId}/roles`, owner.auth, { roles: ['agent-builder'] });
    expect(put.statusCode).toBe(200);
    expect(put.json().roles).toEqual(['agent-builder']);
    expect(await perms(m.auth)).toEqual([...VIEWER, 'agents:write'].sort());
  });

  it('refuses a stale version with 409 version_conflict and keeps the role as it was', async () => {
    const owner = await signupUser(t.app);
    const role = await createRole(owner.auth, { name: 'ops', permissions: ['agents:read'] });
    const ok = await req('PATCH', `/v1/roles/${role.id}`, owner.auth, { version: 1, permissions: ['agents:read', 'executions:read'] });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ version: 2, permissions: ['agents:read', 'executions:read'] });
    const stale = await req('PATCH', `/v1/roles/${role.id}`, owner.auth, { version: 1, permissions: ['orgs:read'], description: 'x' });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');
    expect((await req('GET', `/v1/roles/${role.id}`, owner.auth)).json()).toMatchObject({
      version: 2,
      description: null,
      permissions: ['agents:read', 'executions:read'],
    });
  });

  it('refuses inheritance cycles with 400', async () => {
    const owner = await signupUser(t.app);
    const a = await createRole(owner.auth, { name: 'role-a' });
    const b = await createRole(owner.auth, { name: 'role-b' });
    const ab = await req('PATCH', `/v1/roles/${a.id}`, owner.auth, { version: 1, parent: 'role-b' });
    expect(ab.statusCode).toBe(200);
    expect(ab.json().parentRoleId).toBe(b.id);
    const ba = await req('PATCH', `/v1/roles/${b.id}`, owner.auth, { version: 1, parent: 'role-a' });
    expect(ba.statusCode).toBe(400);
    expect(errorOf(ba).code).toBe('bad_request');
    const self = await req('PATCH', `/v1/roles/${b.id}`, owner.auth, { version: 1, parent: 'role-b' });
    expect(self.statusCode).toBe(400);
    expect((await req('GET', `/v1/roles/${b.id}`, owner.auth)).json()).toMatchObject({ parentRoleId: null, version: 1 });
  });

  it('refuses an unknown permission with 400 on create and writes nothing', async () => {
    const owner = await signupUser(t.app);
    const res = await req('POST', '/v1/roles', owner.auth, { name: 'ghosts', permissions: ['agents:read', 'ghosts:summon'] });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'bad_request', details: { unknown: ['ghosts:summon'] } });
    expect((await roles(owner.auth)).map((r) => r.name)).not.toContain('ghosts');
  });

  it('refuses an unknown permission with 400 on update and keeps the role as it was', async () => {
    const owner = await signupUser(t.app);
    const role = await createRole(owner.auth, { name: 'readers', permissions: ['agents:read'] });
    const res = await req('PATCH', `/v1/roles/${role.id}`, owner.auth, { version: 1, permissions: ['ghosts:summon'] });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('bad_request');
    expect((await req('GET', `/v1/roles/${role.id}`, owner.auth)).json()).toMatchObject({ version: 1, permissions: ['agents:read'] });
  });

  it('cannot carry permissions the creator does not hold (403)', async () => {
    const owner = await signupUser(t.app);
    const admin = await join(owner, 'admin');
    for (const payload of [{ name: 'sneaky', permissions: ['orgs:write'] }, { name: 'sneaky', parent: 'owner' }]) {
      const res = await req('POST', '/v1/roles', admin.auth, payload);
      expect(res.statusCode).toBe(403);
      expect(errorOf(res).code).toBe('forbidden');
    }
    expect((await roles(owner.auth)).map((r) => r.name)).not.toContain('sneaky');
  });

  it('refuses a duplicate or built-in name with 409; names are per organization', async () => {
    const owner = await signupUser(t.app);
    await createRole(owner.auth, { name: 'support' });
    for (const name of ['support', 'admin']) {
      const res = await req('POST', '/v1/roles', owner.auth, { name });
      expect(res.statusCode, name).toBe(409);
      expect(errorOf(res).code).toBe('conflict');
    }
    expect((await roles(owner.auth)).filter((r) => r.name === 'support')).toHaveLength(1);
    const other = await signupUser(t.app);
    await createRole(other.auth, { name: 'support' });
  });

  it('when deleted, is taken away from its members and its name becomes free', async () => {
    const owner = await signupUser(t.app);
    const role = await createRole(owner.auth, { name: 'temp', parent: 'viewer', permissions: ['agents:write'] });
    const m = await join(owner, 'viewer');
    expect((await req('PUT', `/v1/members/${m.userId}/roles`, owner.auth, { roles: ['viewer', 'temp'] })).statusCode).toBe(200);
    expect(await perms(m.auth)).toContain('agents:write');

    expect((await req('DELETE', `/v1/roles/${role.id}`, owner.auth)).statusCode).toBe(204);
    expect(await memberRoles(owner.auth, m.userId)).toEqual(['viewer']);
    expect(await perms(m.auth)).toEqual(VIEWER);
    const links = await t.db.admin.query(`SELECT 1 FROM user_roles WHERE role_id = $1`, [role.id]);
    expect(links.rows).toHaveLength(0);
    expect((await req('GET', `/v1/roles/${role.id}`, owner.auth)).statusCode).toBe(404);
    expect((await req('DELETE', `/v1/roles/${role.id}`, owner.auth)).statusCode).toBe(404);
    expect((await roles(owner.auth)).map((r) => r.name)).not.toContain('temp');
    await createRole(owner.auth, { name: 'temp' });
  });
});

describe('member roles and removal', () => {
  it('replaces a member\'s roles, and their permissions follow at once', async () => {
    const owner = await signupUser(t.app);
    const m = await join(owner, 'member');
    const res = await req('PUT', `/v1/members/${m.userId}/roles`, owner.auth, { roles: ['viewer'] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ userId: m.userId, roles: ['viewer'] });
    expect(await perms(m.auth)).toEqual(VIEWER);
    expect(await auditCount(owner.orgId, 'member.roles_changed')).toBe(1);
  });

  it('refuses to demote or remove the last owner (409) and changes nothing', async () => {
    const owner = await signupUser(t.app);
    const demote = await req('PUT', `/v1/members/${owner.userId}/roles`, owner.auth, { roles: ['admin'] });
    expect(demote.statusCode).toBe(409);
    expect(errorOf(demote).code).toBe('conflict');
    const remove = await req('DELETE', `/v1/members/${owner.userId}`, owner.auth);
    expect(remove.statusCode).toBe(409);
    expect(await memberRoles(owner.auth, owner.userId)).toEqual(['owner']);
    expect(await perms(owner.auth)).toEqual(OWNER);
    expect(await auditCount(owner.orgId, 'member.roles_changed')).toBe(0);
    expect(await auditCount(owner.orgId, 'member.removed')).toBe(0);

    // with a second owner, stepping down works
    const second = await join(owner, 'owner');
    expect((await req('PUT', `/v1/members/${owner.userId}/roles`, second.auth, { roles: ['admin'] })).statusCode).toBe(200);
    expect(await perms(owner.auth)).toEqual(ADMIN);
  });

  it('does not let an admin demote or remove an owner (403)', async () => {
    const owner = await signupUser(t.app);
    const admin = await join(owner, 'admin');
    expect((await req('PUT', `/v1/members/${owner.userId}/roles`, admin.auth, { roles: ['viewer'] })).statusCode).toBe(403);
    expect((await req('DELETE', `/v1/members/${owner.userId}`, admin.auth)).statusCode).toBe(403);
    expect((await req('PUT', `/v1/members/${admin.userId}/roles`, admin.auth, { roles: ['owner'] })).statusCode).toBe(403);
    expect(await memberRoles(owner.auth, owner.userId)).toEqual(['owner']);
    expect(await memberRoles(owner.auth, admin.userId)).toEqual(['admin']);
  });

  it('ends a removed member\'s sessions and API keys at once', async () => {
    const owner = await signupUser(t.app);
    const m = await join(owner, 'member');
    const key = await req('POST', '/v1/api-keys', m.auth, { name: 'mine', scopes: ['*'] });
    expect(key.statusCode).toBe(201);
    const keyAuth = bearer(key.json().key);
    expect((await req('GET', '/v1/me', keyAuth)).statusCode).toBe(200);

    expect((await req('DELETE', `/v1/members/${m.userId}`, owner.auth)).statusCode).toBe(204);
    for (const auth of [m.auth, keyAuth]) {
      const res = await req('GET', '/v1/me', auth);
      expect(res.statusCode).toBe(401);
      expect(errorOf(res).code).toBe('invalid_token');
    }
    const refresh = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: m.refreshToken } });
    expect(refresh.statusCode).toBe(401);
    expect((await req('GET', `/v1/members/${m.userId}`, owner.auth)).statusCode).toBe(404);
    expect((await req('DELETE', `/v1/members/${m.userId}`, owner.auth)).statusCode).toBe(404);
    const list = (await req('GET', '/v1/members', owner.auth)).json().data;
    expect(list.map((x: { userId: string }) => x.userId)).toEqual([owner.userId]);
    expect(await auditCount(owner.orgId, 'member.removed')).toBe(1);
  });

  it('ends only the access a removed member had in this organization', async () => {
    const owner = await signupUser(t.app);
    const other = await signupUser(t.app, { organizationName: 'Their Own Org' });
    const inv = await req('POST', '/v1/invitations', owner.auth, { email: other.email, role: 'member' });
    const acc = await t.app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', headers: other.auth, payload: { token: inv.json().token } });
    expect(acc.statusCode).toBe(201);
    const ownKey = await req('POST', '/v1/api-keys', other.auth, { name: 'home', scopes: ['*'] });
    expect(ownKey.statusCode).toBe(201);

    expect((await req('DELETE', `/v1/members/${other.userId}`, owner.auth)).statusCode).toBe(204);
    expect((await req('GET', '/v1/me', bearer(acc.json().tokens.accessToken))).statusCode).toBe(401);
    const home = await req('GET', '/v1/me', other.auth);
    expect(home.statusCode).toBe(200);
    expect(home.json().organizationId).toBe(other.orgId);
    expect((await req('GET', '/v1/me', bearer(ownKey.json().key))).statusCode).toBe(200);
    expect(await perms(other.auth)).toEqual(OWNER);
  });

  it('pages through members with nextCursor', async () => {
    const owner = await signupUser(t.app);
    const ids = [owner.userId, (await join(owner, 'viewer')).userId, (await join(owner, 'viewer')).userId];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await req('GET', `/v1/members?limit=2${cursor ? `&cursor=${cursor}` : ''}`, owner.auth);
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().data.map((x: { userId: string }) => x.userId));
      cursor = res.json().nextCursor;
    } while (cursor && seen.length < 10);
    expect(seen).toEqual(ids);
  });
});

describe('tenant isolation', () => {
  it('answers 404 for another organization\'s members and roles, and changes nothing there', async () => {
    const a = await signupUser(t.app);
    const b = await signupUser(t.app);
    const bMember = await join(b, 'member');
    const bRole = await createRole(b.auth, { name: 'b-only', permissions: ['agents:read'] });
    const aMember = await join(a, 'viewer');

    const attempts = [
      req('GET', `/v1/members/${bMember.userId}`, a.auth),
      req('PUT', `/v1/members/${bMember.userId}/roles`, a.auth, { roles: ['viewer'] }),
      req('DELETE', `/v1/members/${bMember.userId}`, a.auth),
      req('DELETE', `/v1/members/${b.userId}`, a.auth),
      req('GET', `/v1/roles/${bRole.id}`, a.auth),
      req('PATCH', `/v1/roles/${bRole.id}`, a.auth, { version: 1, permissions: ['orgs:read'] }),
      req('DELETE', `/v1/roles/${bRole.id}`, a.auth),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode, res.body).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    // B's custom role name means nothing in A
    const byName = await req('PUT', `/v1/members/${aMember.userId}/roles`, a.auth, { roles: ['b-only'] });
    expect(byName.statusCode).toBe(400);
    expect((await roles(a.auth)).map((r) => r.name)).not.toContain('b-only');

    expect(await memberRoles(b.auth, bMember.userId)).toEqual(['member']);
    expect(await perms(bMember.auth)).toEqual(MEMBER);
    expect((await req('GET', `/v1/roles/${bRole.id}`, b.auth)).json()).toMatchObject({ version: 1, permissions: ['agents:read'] });
  });
});

describe('bad input', () => {
  const ID = '0190a5f3-0000-7000-8000-000000000000';
  it.each([
    ['limit=0', 'GET', '/v1/members?limit=0', undefined, 'validation_failed'],
    ['limit=101', 'GET', '/v1/members?limit=101', undefined, 'validation_failed'],
    ['a garbage cursor', 'GET', '/v1/members?cursor=garbage', undefined, 'bad_request'],
    ['an unknown query parameter', 'GET', '/v1/members?role=owner', undefined, 'validation_failed'],
    ['a non-UUID id', 'GET', '/v1/members/abc', undefined, 'validation_failed'],
    ['a non-UUID id', 'PUT', '/v1/members/abc/roles', { roles: ['viewer'] }, 'validation_failed'],
    ['an empty role list', 'PUT', `/v1/members/${ID}/roles`, { roles: [] }, 'validation_failed'],
    ['a missing roles field', 'PUT', `/v1/members/${ID}/roles`, {}, 'validation_failed'],
    ['a malformed role name', 'PUT', `/v1/members/${ID}/roles`, { roles: ['Owner'] }, 'validation_failed'],
    ['an unknown field', 'PUT', `/v1/members/${ID}/roles`, { roles: ['viewer'], note: 'x' }, 'validation_failed'],
    ['a non-UUID id', 'DELETE', '/v1/members/abc', undefined, 'validation_failed'],
    ['a non-UUID id', 'GET', '/v1/roles/abc', undefined, 'validation_failed'],
    ['a missing name', 'POST', '/v1/roles', { permissions: [] }, 'validation_failed'],
    ['a name with a space', 'POST', '/v1/roles', { name: 'Has Space' }, 'validation_failed'],
    ['a name longer than 50', 'POST', '/v1/roles', { name: 'x'.repeat(51) }, 'validation_failed'],
    ['a malformed permission', 'POST', '/v1/roles', { name: 'ok', permissions: ['agents'] }, 'validation_failed'],
    ['an unknown field', 'POST', '/v1/roles', { name: 'ok', isSystem: true }, 'validation_failed'],
    ['a parent that does not exist', 'POST', '/v1/roles', { name: 'ok', parent: 'ghost' }, 'bad_request'],
    ['a missing version', 'PATCH', `/v1/roles/${ID}`, { description: 'no version' }, 'validation_failed'],
    ['version 0', 'PATCH', `/v1/roles/${ID}`, { version: 0 }, 'validation_failed'],
    ['an unknown field (name)', 'PATCH', `/v1/roles/${ID}`, { version: 1, name: 'renamed' }, 'validation_failed'],
    ['a non-UUID id', 'PATCH', '/v1/roles/abc', { version: 1 }, 'validation_failed'],
    ['a non-UUID id', 'DELETE', '/v1/roles/abc', undefined, 'validation_failed'],
  ] as const)('refuses %s: %s %s → 400 %s', async (_what, method, url, payload, code) => {
    const owner = await signupUser(t.app);
    const res = await req(method, url, owner.auth, payload);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe(code);
    expect((await roles(owner.auth)).filter((r) => !r.isSystem)).toEqual([]);
  });

  it('PUT /v1/members/:id/roles refuses a role that does not exist (400) and keeps the roles', async () => {
    const owner = await signupUser(t.app);
    const m = await join(owner, 'member');
    const res = await req('PUT', `/v1/members/${m.userId}/roles`, owner.auth, { roles: ['viewer', 'wizard'] });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('bad_request');
    expect(await memberRoles(owner.auth, m.userId)).toEqual(['member']);
  });
});
