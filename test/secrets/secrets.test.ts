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

// Where the secrets of this file may be sent, unless a test says otherwise.
const HOST = 'api.example.com';
const HOSTS = [HOST];

async function create(name: string, v = value(), description?: string | null, auth: Auth = owner.auth, allowedHosts: string[] = HOSTS) {
  const res = await call('POST', '/v1/secrets', auth, { name, value: v, allowedHosts, ...(description !== undefined ? { description } : {}) });
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
      allowedHosts: HOSTS,
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
    const res = await call('POST', '/v1/secrets', owner.auth, { name: 'DUPLICATE', value: value(), allowedHosts: HOSTS });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'conflict', details: { field: 'name', name: 'DUPLICATE' } });
    expect((await resolveSecrets(t.db, keys, owner.orgId, ['DUPLICATE'], HOST)).get('DUPLICATE')).toBe(first);
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
    for (const s of first.json().data) expect(Object.keys(s).sort()).toEqual(['allowedHosts', 'createdAt', 'createdBy', 'description', 'id', 'lastUsedAt', 'name', 'updatedAt', 'version']);
  });

  it('replaces a value as a new version; the description is kept unless sent, null clears it', async () => {
    await create('ROTATE_ME', value(), 'first');
    const v2 = value();
    const r1 = await call('PUT', '/v1/secrets/ROTATE_ME', owner.auth, { value: v2 });
    expect(r1.statusCode, r1.body).toBe(200);
    expect(r1.json()).toMatchObject({ name: 'ROTATE_ME', version: 2, description: 'first' });
    expect((await resolveSecrets(t.db, keys, owner.orgId, ['ROTATE_ME'], HOST)).get('ROTATE_ME')).toBe(v2);
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
    expect(rows[0]).toMatchObject({ resource_type: 'secret', new_values: { name: 'AUDITED', description: 'audited one', allowedHosts: HOSTS, version: 1 } });
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
    ['a name starting with a digit', 'body.name', { name: '1TOKEN', value: 'x', allowedHosts: HOSTS }],
    ['a name with a dash', 'body.name', { name: 'MY-TOKEN', value: 'x' }],
    ['a name over 100 characters', 'body.name', { name: `A${'B'.repeat(100)}`, value: 'x' }],
    ['no name', 'body.name', { value: 'x' }],
    ['no value', 'body.value', { name: 'NO_VALUE' }],
    ['an empty value', 'body.value', { name: 'EMPTY', value: '' }],
    ['a value over 16 KiB', 'body.value', { name: 'HUGE', value: 'x'.repeat(16_385) }],
    ['a value that is not a string', 'body.value', { name: 'NUMBER', value: 42 }],
    ['a description over 1000 characters', 'body.description', { name: 'LONG_DESC', value: 'x', description: 'd'.repeat(1001) }],
    ['an unknown field', 'body', { name: 'EXTRA', value: 'x', plaintext: true }],
    ['no allowedHosts', 'body.allowedHosts', { name: 'NO_HOSTS', value: 'x' }],
    ['an empty allowedHosts', 'body.allowedHosts', { name: 'EMPTY_HOSTS', value: 'x', allowedHosts: [] }],
    ['allowedHosts that is not a list', 'body.allowedHosts', { name: 'HOST_STRING', value: 'x', allowedHosts: 'api.example.com' }],
    ['over 50 allowedHosts', 'body.allowedHosts', { name: 'MANY_HOSTS', value: 'x', allowedHosts: Array.from({ length: 51 }, (_, i) => `h${i}.example.com`) }],
    ['an upper-case host', 'body.allowedHosts.0', { name: 'UPPER_HOST', value: 'x', allowedHosts: ['API.example.com'] }],
    ['a URL instead of a host', 'body.allowedHosts.0', { name: 'URL_HOST', value: 'x', allowedHosts: ['https://api.example.com'] }],
    ['a host with a port', 'body.allowedHosts.0', { name: 'PORT_HOST', value: 'x', allowedHosts: ['api.example.com:443'] }],
    ['a bare *', 'body.allowedHosts.1', { name: 'STAR_HOST', value: 'x', allowedHosts: ['api.example.com', '*'] }],
    ['a wildcard inside a host', 'body.allowedHosts.0', { name: 'MID_STAR', value: 'x', allowedHosts: ['api.*.com'] }],
    ['an empty label', 'body.allowedHosts.0', { name: 'DOTS_HOST', value: 'x', allowedHosts: ['api..example.com'] }],
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
      ['/v1/secrets/PUT_TARGET', { value: 'x', allowedHosts: [] }, 'body.allowedHosts'],
      ['/v1/secrets/PUT_TARGET', { value: 'x', allowedHosts: ['*.Example.com'] }, 'body.allowedHosts.0'],
    ] as const) {
      const res = await call('PUT', url, owner.auth, payload);
      expect(res.statusCode, res.body).toBe(400);
      expect((errorOf(res).details as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(path);
    }
    expect((await call('GET', '/v1/secrets/PUT_TARGET', owner.auth)).json()).toMatchObject({ version: s.version, allowedHosts: HOSTS });
  });

  it('the table itself refuses an empty, upper-case or malformed host list', async () => {
    for (const hosts of [[], ['API.EXAMPLE.COM'], ['https://x.example.com'], [null]]) {
      const err = await t.db.admin
        .query(`INSERT INTO secrets (id, org_id, name, ciphertext, allowed_hosts) VALUES (gen_random_uuid(), $1, 'RAW', 'v1.x', $2::text[])`, [owner.orgId, hosts])
        .catch((e: unknown) => e);
      expect(err, JSON.stringify(hosts)).toMatchObject({ code: '23514' });
    }
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
      [viewer.auth, 'POST', '/v1/secrets', { name: 'BY_VIEWER', value: value(), allowedHosts: HOSTS }, 'secrets:write'],
      [member.auth, 'POST', '/v1/secrets', { name: 'BY_MEMBER', value: value(), allowedHosts: HOSTS }, 'secrets:write'],
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

    const made = await call('POST', '/v1/secrets', admin.auth, { name: 'BY_ADMIN', value: value(), allowedHosts: HOSTS });
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
    await expect(resolveSecrets(t.db, keys, other.orgId, ['GITHUB_TOKEN'], HOST)).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('where a secret may be sent', () => {
  it('PUT changes allowedHosts as a new version (duplicates dropped), GET shows it, the audit row has both lists', async () => {
    const s = await create('MOVING', value(), null, owner.auth, ['old.example.com']);
    const put = await call('PUT', '/v1/secrets/MOVING', owner.auth, { value: value(), allowedHosts: ['new.example.com', '*.cdn.example.com', 'new.example.com'] });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ version: 2, allowedHosts: ['new.example.com', '*.cdn.example.com'] });
    expect((await call('GET', '/v1/secrets/MOVING', owner.auth)).json().allowedHosts).toEqual(['new.example.com', '*.cdn.example.com']);
    // Kept when not sent.
    expect((await call('PUT', '/v1/secrets/MOVING', owner.auth, { value: value() })).json()).toMatchObject({ version: 3, allowedHosts: ['new.example.com', '*.cdn.example.com'] });
    const rows = await auditRows(t, owner.orgId, s.id);
    expect(rows[1]).toMatchObject({
      action: 'secret.replaced',
      old_values: { allowedHosts: ['old.example.com'] },
      new_values: { allowedHosts: ['new.example.com', '*.cdn.example.com'] },
    });
    await expect(resolveSecrets(t.db, keys, owner.orgId, ['MOVING'], 'old.example.com')).rejects.toMatchObject({ code: 'forbidden' });
    expect((await resolveSecrets(t.db, keys, owner.orgId, ['MOVING'], 'new.example.com')).has('MOVING')).toBe(true);
  });

  it('refuses a host not in the list (403, saying how to allow it), for the whole call, and marks nothing used', async () => {
    await create('BOUND_A', value(), null, owner.auth, ['api.example.com']);
    await create('BOUND_B', value(), null, owner.auth, ['api.example.com', 'other.example.net']);
    const err = await resolveSecrets(t.db, keys, owner.orgId, ['BOUND_B', 'BOUND_A'], 'other.example.net').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 403, code: 'forbidden', details: { secret: 'BOUND_A', host: 'other.example.net' } });
    expect((err as Error).message).toBe(
      'secret BOUND_A may not be sent to host other.example.net; add other.example.net to its allowedHosts (PUT /v1/secrets/BOUND_A)',
    );
    for (const name of ['BOUND_A', 'BOUND_B']) expect((await call('GET', `/v1/secrets/${name}`, owner.auth)).json().lastUsedAt).toBeNull();
  });

  it('*.domain matches sub-domains at any depth, not the domain itself nor look-alikes', async () => {
    await create('WILD', value(), null, owner.auth, ['*.example.org', 'exact.example.net']);
    for (const host of ['a.example.org', 'a.b.example.org', 'A.Example.ORG', 'exact.example.net']) {
      expect((await resolveSecrets(t.db, keys, owner.orgId, ['WILD'], host)).has('WILD'), host).toBe(true);
    }
    for (const host of ['example.org', 'badexample.org', 'example.org.evil.test', 'a.exact.example.net', 'example.net']) {
      await expect(resolveSecrets(t.db, keys, owner.orgId, ['WILD'], host), host).rejects.toMatchObject({ code: 'forbidden' });
    }
  });
});

describe('resolveSecrets', () => {
  it('opens the named secrets and marks them used, without a new version', async () => {
    const a = value();
    const b = value();
    await create('USE_A', a);
    await create('USE_B', b);
    const got = await resolveSecrets(t.db, keys, owner.orgId, ['USE_A', 'USE_B', 'USE_A'], HOST);
    expect([...got.entries()]).toEqual([['USE_A', a], ['USE_B', b]]);
    const meta = (await call('GET', '/v1/secrets/USE_A', owner.auth)).json();
    expect(meta.lastUsedAt).not.toBeNull();
    expect(meta.version).toBe(1);
    // Also inside a caller's tenant transaction.
    const inTx = await t.db.tenant(owner.orgId, (sql) => resolveSecrets(sql, keys, owner.orgId, ['USE_B'], HOST));
    expect(inTx.get('USE_B')).toBe(b);
    expect((await resolveSecrets(t.db, keys, owner.orgId, [], HOST)).size).toBe(0);
  });

  it('fails naming every missing secret, and marks none used', async () => {
    await create('PRESENT');
    const err = await resolveSecrets(t.db, keys, owner.orgId, ['PRESENT', 'ABSENT_1', 'ABSENT_2'], HOST).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 404, code: 'not_found', details: { missing: ['ABSENT_1', 'ABSENT_2'] } });
    expect((err as Error).message).toContain('ABSENT_1, ABSENT_2');
    expect((await call('GET', '/v1/secrets/PRESENT', owner.auth)).json().lastUsedAt).toBeNull();
  });

  it('says which secret cannot be opened under another AGENTBASE_SECRET', async () => {
    await create('OTHER_KEY');
    const wrong = deriveKeys('another-secret-another-secret-another-secret');
    await expect(resolveSecrets(t.db, wrong, owner.orgId, ['OTHER_KEY'], HOST)).rejects.toMatchObject({
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
