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

async function createKey(owner: Auth, payload: Record<string, unknown>): Promise<{ id: string; key: string; body: Record<string, unknown> }> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: owner, payload: { name: 'ci', scopes: ['*'], ...payload } });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json();
  return { id: body.id, key: body.key, body };
}

const get = (url: string, auth?: Auth) => t.app.inject({ method: 'GET', url, headers: auth ?? {} });
const del = (url: string, auth: Auth) => t.app.inject({ method: 'DELETE', url, headers: auth });

/** A new member of the owner's organization with one role, through an invitation. */
async function join(owner: SignedUp, role: string): Promise<{ userId: string; auth: Auth }> {
  const inv = await t.app.inject({ method: 'POST', url: '/v1/invitations', headers: owner.auth, payload: { email: uniqueEmail(role), role } });
  expect(inv.statusCode).toBe(201);
  const acc = await t.app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', payload: { token: inv.json().token, password: PASSWORD } });
  expect(acc.statusCode).toBe(201);
  return { userId: acc.json().userId, auth: bearer(acc.json().tokens.accessToken) };
}

async function keyRow(id: string) {
  const r = await t.db.admin.query<Record<string, unknown>>(`SELECT * FROM api_keys WHERE id = $1`, [id]);
  return r.rows[0];
}

async function keyCount(orgId: string): Promise<number> {
  const r = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys WHERE org_id = $1`, [orgId]);
  return r.rows[0]!.n;
}

describe('creating an API key', () => {
  it('returns the secret once, and stores only its prefix and SHA-256', async () => {
    const owner = await signupUser(t.app);
    const { id, key, body } = await createKey(owner.auth, { name: 'deploy bot', scopes: ['orgs:read', 'agents:read', 'orgs:read'] });
    expect(key).toMatch(/^ab_[A-Za-z0-9_-]{40}$/);
    expect(body).toMatchObject({ name: 'deploy bot', keyPrefix: key.slice(0, 12), scopes: ['agents:read', 'orgs:read'], rateLimit: 100, revokedAt: null, expiresAt: null, lastUsedAt: null, userId: owner.userId });
    expect(body).not.toHaveProperty('keyHash');

    const one = await get(`/v1/api-keys/${id}`, owner.auth);
    expect(one.statusCode).toBe(200);
    expect(one.json().id).toBe(id);
    const list = await get('/v1/api-keys', owner.auth);
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((k: { id: string }) => k.id)).toEqual([id]);
    for (const res of [one, list]) {
      expect(res.body).not.toContain(key);
      expect(res.body).not.toContain(sha256(key));
      expect(res.body).not.toMatch(/"key"|keyHash/);
    }

    const row = (await keyRow(id))!;
    expect(row.key_hash).toBe(sha256(key));
    expect(row.key_prefix).toBe(key.slice(0, 12));
    expect(Object.values(row).map((v) => String(v))).not.toContain(key);
    expect(JSON.stringify(row)).not.toContain(key);

    const audit = await t.db.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_logs WHERE org_id = $1 AND action = 'api_key.created' AND resource_id = $2
         AND position($3 in coalesce(new_values::text, '')) = 0`,
      [owner.orgId, id, key],
    );
    expect(audit.rows[0]!.n).toBe(1);
  });

  it('refuses an unknown scope with 400 and writes nothing', async () => {
    const owner = await signupUser(t.app);
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: owner.auth, payload: { name: 'x', scopes: ['orgs:read', 'rockets:launch'] } });
    expect(res.statusCode).toBe(400);
    const err = errorOf(res);
    expect(err.code).toBe('bad_request');
    expect(err.details).toEqual({ unknown: ['rockets:launch'] });
    expect(await keyCount(owner.orgId)).toBe(0);
  });

  it('refuses scopes the creator does not hold with 403', async () => {
    const owner = await signupUser(t.app);
    // a viewer may not create keys at all
    const viewer = await join(owner, 'viewer');
    const v = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: viewer.auth, payload: { name: 'x', scopes: ['members:write'] } });
    expect(v.statusCode).toBe(403);
    expect(errorOf(v).code).toBe('forbidden');
    // a member may, but not with a scope beyond their role
    const member = await join(owner, 'member');
    const m = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: member.auth, payload: { name: 'x', scopes: ['agents:write', 'members:write'] } });
    expect(m.statusCode).toBe(403);
    const err = errorOf(m);
    expect(err.code).toBe('forbidden');
    expect(err.details).toEqual({ notHeld: ['members:write'] });
    expect(await keyCount(owner.orgId)).toBe(0);
  });

  it('lets a key create keys only within its own scopes', async () => {
    const owner = await signupUser(t.app);
    const { key } = await createKey(owner.auth, { scopes: ['api_keys:write', 'orgs:read'] });
    const wider = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(key), payload: { name: 'x', scopes: ['members:read'] } });
    expect(wider.statusCode).toBe(403);
    const star = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(key), payload: { name: 'x', scopes: ['*'] } });
    expect(star.statusCode).toBe(403);
    expect(await keyCount(owner.orgId)).toBe(1);
    const ok = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(key), payload: { name: 'x', scopes: ['orgs:read'] } });
    expect(ok.statusCode).toBe(201);
  });

  it('refuses an expiresAt in the past with 400', async () => {
    const owner = await signupUser(t.app);
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: owner.auth, payload: { name: 'x', scopes: ['*'], expiresAt: new Date(Date.now() - 60_000).toISOString() } });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('bad_request');
    expect(await keyCount(owner.orgId)).toBe(0);
  });
});

describe('authenticating with an API key', () => {
  it('works on /v1 routes, narrowed to its scopes', async () => {
    const owner = await signupUser(t.app);
    const { id, key } = await createKey(owner.auth, { scopes: ['orgs:read'] });
    const me = await get('/v1/me', bearer(key));
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ via: 'api_key', apiKeyId: id, sessionId: null, organizationId: owner.orgId, permissions: ['orgs:read'] });
    expect(me.json().user.id).toBe(owner.userId);

    expect((await get('/v1/org', bearer(key))).statusCode).toBe(200);
    const members = await get('/v1/members', bearer(key));
    expect(members.statusCode).toBe(403);
    expect(errorOf(members)).toMatchObject({ code: 'forbidden', details: { permission: 'members:read' } });
  });

  it('with scope "*" gets exactly what its user may do', async () => {
    const owner = await signupUser(t.app);
    const { key } = await createKey(owner.auth, { scopes: ['*'] });
    const viaKey = (await get('/v1/me', bearer(key))).json().permissions;
    const viaSession = (await get('/v1/me', owner.auth)).json().permissions;
    expect(viaKey).toEqual(viaSession);
  });

  it('refuses malformed and unknown keys with 401 invalid_token', async () => {
    const owner = await signupUser(t.app);
    const { key } = await createKey(owner.auth, {});
    const flipped = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    for (const token of ['ab_short', flipped, `${key}x`]) {
      const res = await get('/v1/me', bearer(token));
      expect(res.statusCode, token).toBe(401);
      expect(errorOf(res).code).toBe('invalid_token');
    }
  });

  it('sets last_used_at after the key is used', async () => {
    const owner = await signupUser(t.app);
    const { id, key } = await createKey(owner.auth, {});
    expect((await get(`/v1/api-keys/${id}`, owner.auth)).json().lastUsedAt).toBeNull();
    expect((await get('/v1/me', bearer(key))).statusCode).toBe(200);
    const after = (await get(`/v1/api-keys/${id}`, owner.auth)).json();
    expect(after.lastUsedAt).not.toBeNull();
    expect(Number.isNaN(Date.parse(after.lastUsedAt))).toBe(false);
  });

  it('enforces the per-minute rate limit with 429 rate_limited and Retry-After', async () => {
    const owner = await signupUser(t.app);
    const { key } = await createKey(owner.auth, { rateLimit: 3 });
    // The window is the calendar minute: start well inside one so all four requests share it.
    const sec = new Date().getSeconds();
    if (sec >= 50) await new Promise((r) => setTimeout(r, (61 - sec) * 1000));
    for (let i = 1; i <= 3; i++) {
      const res = await get('/v1/me', bearer(key));
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe('3');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(3 - i));
      expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000 - 1);
    }
    const limited = await get('/v1/me', bearer(key));
    expect(limited.statusCode).toBe(429);
    const err = errorOf(limited);
    expect(err.code).toBe('rate_limited');
    const retry = limited.headers['retry-after'];
    expect(retry).toMatch(/^\d+$/);
    expect(Number(retry)).toBeGreaterThanOrEqual(1);
    expect(Number(retry)).toBeLessThanOrEqual(60);
    expect(err.details).toEqual({ limit: 3, retryAfterSeconds: Number(retry) });
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    // the owner's session is not limited by the key's budget
    expect((await get('/v1/me', owner.auth)).statusCode).toBe(200);
  });
});

describe('revoking and expiry', () => {
  it('stops a revoked key at once; revoking again is harmless', async () => {
    const owner = await signupUser(t.app);
    const { id, key } = await createKey(owner.auth, {});
    expect((await get('/v1/me', bearer(key))).statusCode).toBe(200);

    const first = await del(`/v1/api-keys/${id}`, owner.auth);
    expect(first.statusCode).toBe(200);
    expect(first.json().revokedAt).not.toBeNull();
    const res = await get('/v1/me', bearer(key));
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('invalid_token');

    const second = await del(`/v1/api-keys/${id}`, owner.auth);
    expect(second.statusCode).toBe(200);
    expect(second.json().revokedAt).toBe(first.json().revokedAt);
    expect((await get('/v1/me', bearer(key))).statusCode).toBe(401);

    const audit = await t.db.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_logs WHERE org_id = $1 AND action = 'api_key.revoked' AND resource_id = $2`,
      [owner.orgId, id],
    );
    expect(audit.rows[0]!.n).toBe(1);

    expect((await get('/v1/api-keys', owner.auth)).json().data).toEqual([]);
    const all = (await get('/v1/api-keys?includeRevoked=true', owner.auth)).json().data;
    expect(all.map((k: { id: string }) => k.id)).toEqual([id]);
  });

  it('refuses a key whose expiry has passed with 401 token_expired', async () => {
    const owner = await signupUser(t.app);
    const { id, key } = await createKey(owner.auth, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await get('/v1/me', bearer(key))).statusCode).toBe(200);
    await t.db.admin.query(`UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1`, [id]);
    const res = await get('/v1/me', bearer(key));
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('token_expired');
  });
});

describe('listing API keys', () => {
  it('walks every key exactly once, newest first, through nextCursor', async () => {
    const owner = await signupUser(t.app);
    const created: string[] = [];
    for (let i = 0; i < 25; i++) created.push((await createKey(owner.auth, { name: `key ${i}` })).id);

    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    for (let pageNo = 0; pageNo < 5; pageNo++) {
      const res = await get(`/v1/api-keys?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, owner.auth);
      expect(res.statusCode).toBe(200);
      const b = res.json() as { data: Array<{ id: string }>; nextCursor: string | null };
      sizes.push(b.data.length);
      seen.push(...b.data.map((k) => k.id));
      cursor = b.nextCursor;
      if (!cursor) break;
    }
    expect(sizes).toEqual([10, 10, 5]);
    expect(new Set(seen).size).toBe(25);
    expect(seen).toEqual([...created].reverse());

    expect((await get('/v1/api-keys', owner.auth)).json().data).toHaveLength(20);
  });

  it.each([
    ['limit=0', 'validation_failed'],
    ['limit=101', 'validation_failed'],
    ['limit=ten', 'validation_failed'],
    ['cursor=not-a-cursor', 'bad_request'],
    [`cursor=${Buffer.from('{"id":"nope"}').toString('base64url')}`, 'bad_request'],
    ['includeRevoked=maybe', 'validation_failed'],
    ['sort=name', 'validation_failed'],
  ])('refuses ?%s with 400 %s', async (query, code) => {
    const owner = await signupUser(t.app);
    const res = await get(`/v1/api-keys?${query}`, owner.auth);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe(code);
  });
});

describe('tenant isolation', () => {
  it('answers 404 for another organization\'s key on GET and DELETE, and leaves it working', async () => {
    const a = await signupUser(t.app);
    const b = await signupUser(t.app);
    const { id, key } = await createKey(b.auth, {});

    for (const res of [await get(`/v1/api-keys/${id}`, a.auth), await del(`/v1/api-keys/${id}`, a.auth)]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect((await get('/v1/api-keys', a.auth)).json().data).toEqual([]);
    expect((await keyRow(id))!.revoked_at).toBeNull();
    expect((await get('/v1/me', bearer(key))).statusCode).toBe(200);
    // B's key only ever acts in B
    expect((await get('/v1/org', bearer(key))).json().id).toBe(b.orgId);
  });

  it('answers 404 for a key id that does not exist', async () => {
    const a = await signupUser(t.app);
    const missing = '0190a5f3-0000-7000-8000-000000000000';
    expect((await get(`/v1/api-keys/${missing}`, a.auth)).statusCode).toBe(404);
    expect((await del(`/v1/api-keys/${missing}`, a.auth)).statusCode).toBe(404);
  });
});

describe('bad input', () => {
  it.each([
    ['a missing name', { scopes: ['*'] }],
    ['a blank name', { name: '   ', scopes: ['*'] }],
    ['missing scopes', { name: 'x' }],
    ['empty scopes', { name: 'x', scopes: [] }],
    ['a malformed scope', { name: 'x', scopes: ['orgs'] }],
    ['rateLimit 0', { name: 'x', scopes: ['*'], rateLimit: 0 }],
    ['a fractional rateLimit', { name: 'x', scopes: ['*'], rateLimit: 2.5 }],
    ['an expiresAt that is not a timestamp', { name: 'x', scopes: ['*'], expiresAt: 'tomorrow' }],
    ['an unknown field', { name: 'x', scopes: ['*'], owner: 'me' }],
  ])('POST /v1/api-keys refuses %s with 400 validation_failed', async (_what, payload) => {
    const owner = await signupUser(t.app);
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: owner.auth, payload });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(await keyCount(owner.orgId)).toBe(0);
  });

  it('GET and DELETE /v1/api-keys/:id refuse an id that is not a UUID', async () => {
    const owner = await signupUser(t.app);
    for (const res of [await get('/v1/api-keys/123', owner.auth), await del('/v1/api-keys/not-a-uuid', owner.auth)]) {
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
  });

  it('every route needs authentication', async () => {
    const id = '0190a5f3-0000-7000-8000-000000000000';
    for (const [method, url] of [['POST', '/v1/api-keys'], ['GET', '/v1/api-keys'], ['GET', `/v1/api-keys/${id}`], ['DELETE', `/v1/api-keys/${id}`]] as const) {
      const res = await t.app.inject({ method, url, ...(method === 'POST' ? { payload: { name: 'x', scopes: ['*'] } } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
      expect(errorOf(res).code).toBe('unauthenticated');
    }
  });
});
