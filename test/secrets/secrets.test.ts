import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { deriveKeys } from '../../src/identity/index.js';
import { resolveSecrets } from '../../src/secrets/index.js';
import { auditRows, joinAs } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, TEST_SECRET, type SignedUp, type TestApp } from '../helpers/app.js';

type Auth = { authorization: string };

let t: TestApp;
let owner: SignedUp;
const keys = deriveKeys(TEST_SECRET);
// Every response of this file, to prove at the end that none carries a value.
const responses: LightMyRequestResponse[] = [];
const values = new Set<string>();

let n = 0;
const value = () => {
  const v = `sk-live-${++n}-${Math.random().toString(36).slice(2)}-do-not-leak`;
  values.add(v);
  return v;
};

async function call(method: InjectOptions['method'], url: string, auth: Auth | Record<string, never>, payload?: unknown) {
  const req: InjectOptions = { method, url, headers: auth };
  if (payload !== undefined) req.payload = payload as InjectOptions['payload'];
  const res = await t.app.inject(req);
  responses.push(res);
  return res;
}

async function create(name: string, v = value(), description?: string | null, auth: Auth = owner.auth) {
  const res = await call('POST', '/v1/secrets', auth, { name, value: v, ...(description !== undefined ? { description } : {}) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function secretCount(): Promise<number> {
  const r = await t.db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM secrets');
  return r.rows[0]!.n;
}

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupUser(t.app);
});
afterAll(async () => t?.close());

describe('storing secrets', () => {
  it('creates a secret and answers with its metadata only', async () => {
    const v = value();
    const s = await create('GITHUB_TOKEN', v, 'CI token');
    expect(s).toEqual({
      id: expect.any(String),
      name: 'GITHUB_TOKEN',
      description: 'CI token',
      version: 1,
      createdBy: owner.userId,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      lastUsedAt: null,
    });
    const row = await t.db.admin.query<{ ciphertext: string }>('SELECT ciphertext FROM secrets WHERE id = $1', [s.id]);
    expect(row.rows[0]!.ciphertext).toMatch(/^v1\./);
    expect(row.rows[0]!.ciphertext).not.toContain(v);
  });

  it('refuses a second secret with the same name (409) and keeps the first value', async () => {
    const first = value();
    await create('DUPLICATE', first);
    const res = await call('POST', '/v1/secrets', owner.auth, { name: 'DUPLICATE', value: value() });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'conflict', details: { field: 'name', name: 'DUPLICATE' } });
    expect((await resolveSecrets(t.db, keys, owner.orgId, ['DUPLICATE'])).get('DUPLICATE')).toBe(first);
  });

  it('lists names in order, page by page, without values', async () => {
    for (const name of ['LIST_B', 'LIST_A', 'LIST_C']) await create(name);
    const first = await call('GET', '/v1/secrets?limit=2', owner.auth);
    expect(first.statusCode).toBe(200);
    const names: string[] = first.json().data.map((s: { name: string }) => s.name);
    expect(names).toEqual([...names].sort());
    let cursor = first.json().nextCursor as string | null;
    const all = [...names];
    while (cursor) {
      const next = await call('GET', `/v1/secrets?limit=2&cursor=${cursor}`, owner.auth);
      expect(next.statusCode).toBe(200);
      all.push(...next.json().data.map((s: { name: string }) => s.name));
      cursor = next.json().nextCursor;
    }
    expect(all).toEqual(expect.arrayContaining(['LIST_A', 'LIST_B', 'LIST_C', 'GITHUB_TOKEN']));
    expect(all).toEqual([...all].sort());
    for (const s of first.json().data) expect(Object.keys(s).sort()).toEqual(['createdAt', 'createdBy', 'description', 'id', 'lastUsedAt', 'name', 'updatedAt', 'version']);
  });

  it('replaces a value as a new version; the description is kept unless sent, null clears it', async () => {
    await create('ROTATE_ME', value(), 'first');
    const v2 = value();
    const r1 = await call('PUT', '/v1/secrets/ROTATE_ME', owner.auth, { value: v2 });
    expect(r1.statusCode, r1.body).toBe(200);
    expect(r1.json()).toMatchObject({ name: 'ROTATE_ME', version: 2, description: 'first' });
    expect((await resolveSecrets(t.db, keys, owner.orgId, ['ROTATE_ME'])).get('ROTATE_ME')).toBe(v2);
    const r2 = await call('PUT', '/v1/secrets/ROTATE_ME', owner.auth, { value: value(), description: 'second' });
    expect(r2.json()).toMatchObject({ version: 3, description: 'second' });
    const r3 = await call('PUT', '/v1/secrets/ROTATE_ME', owner.auth, { value: value(), description: null });
    expect(r3.json()).toMatchObject({ version: 4, description: null });
    expect((await call('GET', '/v1/secrets/ROTATE_ME', owner.auth)).json()).toMatchObject({ version: 4 });
  });

  it('deletes a secret; then it is gone (404)', async () => {
    await create('SHORT_LIVED');
    const del = await call('DELETE', '/v1/secrets/SHORT_LIVED', owner.auth);
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    for (const [method, payload] of [['GET', undefined], ['PUT', { value: value() }], ['DELETE', undefined]] as const) {
      const res = await call(method, '/v1/secrets/SHORT_LIVED', owner.auth, payload);
      expect(res.statusCode, method).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
  });

  it('audits create, replace and delete with metadata, never the value', async () => {
    const v1 = value();
    const s = await create('AUDITED', v1, 'audited one');
    const v2 = value();
    await call('PUT', '/v1/secrets/AUDITED', owner.auth, { value: v2 });
    await call('DELETE', '/v1/secrets/AUDITED', owner.auth);
    const rows = await auditRows(t, owner.orgId, s.id);
    expect(rows.map((r) => r.action)).toEqual(['secret.created', 'secret.replaced', 'secret.deleted']);
    expect(rows[0]).toMatchObject({ resource_type: 'secret', new_values: { name: 'AUDITED', description: 'audited one', version: 1 } });
    expect(rows[1]).toMatchObject({ old_values: { version: 1 }, new_values: { version: 2 } });
    expect(rows[2]).toMatchObject({ old_values: { name: 'AUDITED', version: 2 }, new_values: null });
    const text = JSON.stringify(rows);
    expect(text).not.toContain(v1);
    expect(text).not.toContain(v2);
    expect(text).not.toContain('ciphertext');
  });
});

describe('bad input', () => {
  it.each([
    ['a name starting with a digit', 'body.name', { name: '1TOKEN', value: 'x' }],
    ['a name with a dash', 'body.name', { name: 'MY-TOKEN', value: 'x' }],
    ['a name over 100 characters', 'body.name', { name: `A${'B'.repeat(100)}`, value: 'x' }],
    ['no name', 'body.name', { value: 'x' }],
    ['no value', 'body.value', { name: 'NO_VALUE' }],
    ['an empty value', 'body.value', { name: 'EMPTY', value: '' }],
    ['a value over 16 KiB', 'body.value', { name: 'HUGE', value: 'x'.repeat(16_385) }],
    ['a value that is not a string', 'body.value', { name: 'NUMBER', value: 42 }],
    ['a description over 1000 characters', 'body.description', { name: 'LONG_DESC', value: 'x', description: 'd'.repeat(1001) }],
    ['an unknown field', 'body', { name: 'EXTRA', value: 'x', plaintext: true }],
  ])('POST refuses %s (400 naming %s) and writes nothing', async (_what, path, payload) => {
    const before = await secretCount();
    const res = await call('POST', '/v1/secrets', owner.auth, payload);
    expect(res.statusCode, res.body).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe('validation_failed');
    expect((e.details as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(path);
    expect(await secretCount()).toBe(before);
  });

  it('PUT refuses a bad body or a bad name in the path, and changes nothing', async () => {
    const s = await create('PUT_TARGET');
    for (const [url, payload, path] of [
      ['/v1/secrets/PUT_TARGET', {}, 'body.value'],
      ['/v1/secrets/PUT_TARGET', { value: '' }, 'body.value'],
      ['/v1/secrets/PUT_TARGET', { value: 'x', name: 'RENAMED' }, 'body'],
      ['/v1/secrets/bad-name', { value: 'x' }, 'params.name'],
    ] as const) {
      const res = await call('PUT', url, owner.auth, payload);
      expect(res.statusCode, res.body).toBe(400);
      expect((errorOf(res).details as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(path);
    }
    expect((await call('GET', '/v1/secrets/PUT_TARGET', owner.auth)).json()).toMatchObject({ version: s.version });
  });

  it('refuses a bad name in the path of GET and DELETE, a bad limit and a forged cursor', async () => {
    for (const [method, url] of [['GET', '/v1/secrets/9lives'], ['DELETE', '/v1/secrets/a.b'], ['GET', '/v1/secrets?limit=0'], ['GET', '/v1/secrets?limit=101']] as const) {
      const res = await call(method, url, owner.auth);
      expect(res.statusCode, url).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    const res = await call('GET', '/v1/secrets?cursor=not-a-cursor', owner.auth);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'bad_request', details: { field: 'cursor' } });
  });
});

describe('who may do what', () => {
  it('needs a token', async () => {
    const res = await call('GET', '/v1/secrets', {});
    expect(res.statusCode).toBe(401);
  });

  it('viewers cannot read or write; members read; admins write', async () => {
    await create('ROLE_TEST');
    const viewer = await joinAs(t, owner, 'viewer');
    const member = await joinAs(t, owner, 'member');
    const admin = await joinAs(t, owner, 'admin');
    const before = await secretCount();

    const denied = [
      [viewer.auth, 'GET', '/v1/secrets', undefined, 'secrets:read'],
      [viewer.auth, 'GET', '/v1/secrets/ROLE_TEST', undefined, 'secrets:read'],
      [viewer.auth, 'POST', '/v1/secrets', { name: 'BY_VIEWER', value: value() }, 'secrets:write'],
      [member.auth, 'POST', '/v1/secrets', { name: 'BY_MEMBER', value: value() }, 'secrets:write'],
      [member.auth, 'PUT', '/v1/secrets/ROLE_TEST', { value: value() }, 'secrets:write'],
      [member.auth, 'DELETE', '/v1/secrets/ROLE_TEST', undefined, 'secrets:write'],
    ] as const;
    for (const [auth, method, url, payload, permission] of denied) {
      const res = await call(method, url, auth, payload);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(errorOf(res)).toMatchObject({ code: 'forbidden', details: { permission } });
    }
    expect(await secretCount()).toBe(before);
    expect((await call('GET', '/v1/secrets/ROLE_TEST', member.auth)).json()).toMatchObject({ version: 1 });

    const made = await call('POST', '/v1/secrets', admin.auth, { name: 'BY_ADMIN', value: value() });
    expect(made.statusCode).toBe(201);
    expect(made.json().createdBy).toBe(admin.userId);
    expect((await call('PUT', '/v1/secrets/ROLE_TEST', admin.auth, { value: value() })).statusCode).toBe(200);
  });

  it('keeps organizations apart', async () => {
    const other = await signupUser(t.app);
    const mine = await create('ORG_PRIVATE');
    expect((await call('GET', '/v1/secrets/ORG_PRIVATE', other.auth)).statusCode).toBe(404);
    expect((await call('DELETE', '/v1/secrets/ORG_PRIVATE', other.auth)).statusCode).toBe(404);
    const theirs = await create('ORG_PRIVATE', value(), null, other.auth);
    expect(theirs.id).not.toBe(mine.id);
    const list = (await call('GET', '/v1/secrets?limit=100', other.auth)).json();
    expect(list.data.map((s: { name: string }) => s.name)).toEqual(['ORG_PRIVATE']);
    await expect(resolveSecrets(t.db, keys, other.orgId, ['GITHUB_TOKEN'])).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('resolveSecrets', () => {
  it('opens the named secrets and marks them used, without a new version', async () => {
    const a = value();
    const b = value();
    await create('USE_A', a);
    await create('USE_B', b);
    const got = await resolveSecrets(t.db, keys, owner.orgId, ['USE_A', 'USE_B', 'USE_A']);
    expect([...got.entries()]).toEqual([['USE_A', a], ['USE_B', b]]);
    const meta = (await call('GET', '/v1/secrets/USE_A', owner.auth)).json();
    expect(meta.lastUsedAt).not.toBeNull();
    expect(meta.version).toBe(1);
    // Also inside a caller's tenant transaction.
    const inTx = await t.db.tenant(owner.orgId, (sql) => resolveSecrets(sql, keys, owner.orgId, ['USE_B']));
    expect(inTx.get('USE_B')).toBe(b);
    expect((await resolveSecrets(t.db, keys, owner.orgId, [])).size).toBe(0);
  });

  it('fails naming every missing secret, and marks none used', async () => {
    await create('PRESENT');
    const err = await resolveSecrets(t.db, keys, owner.orgId, ['PRESENT', 'ABSENT_1', 'ABSENT_2']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 404, code: 'not_found', details: { missing: ['ABSENT_1', 'ABSENT_2'] } });
    expect((err as Error).message).toContain('ABSENT_1, ABSENT_2');
    expect((await call('GET', '/v1/secrets/PRESENT', owner.auth)).json().lastUsedAt).toBeNull();
  });

  it('says which secret cannot be opened under another AGENTBASE_SECRET', async () => {
    await create('OTHER_KEY');
    const wrong = deriveKeys('another-secret-another-secret-another-secret');
    await expect(resolveSecrets(t.db, wrong, owner.orgId, ['OTHER_KEY'])).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringContaining('OTHER_KEY'),
    });
  });
});

describe('values never come back', () => {
  it('no response of this file contains a stored value', () => {
    expect(responses.length).toBeGreaterThan(40);
    for (const res of responses) {
      const text = `${JSON.stringify(res.headers)}\n${res.body}`;
      for (const v of values) expect(text).not.toContain(v);
      expect(text).not.toContain('ciphertext');
    }
  });
});
