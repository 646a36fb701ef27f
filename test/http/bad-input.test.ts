import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, PASSWORD, signupUser, uniqueEmail, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let owner: SignedUp;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupUser(t.app);
});
afterAll(async () => t?.close());

const TABLES = ['users', 'organizations', 'memberships', 'sessions', 'api_keys', 'audit_logs'] as const;
type Counts = Record<(typeof TABLES)[number], number>;

/** Row counts across tenants (the test database user bypasses RLS). */
async function counts(app: TestApp): Promise<Counts> {
  const out = {} as Counts;
  for (const table of TABLES) {
    const r = await app.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    out[table] = r.rows[0]!.n;
  }
  return out;
}

/** Sends a request that must be refused with a 4xx and must leave every table as it was. */
async function refused(app: TestApp, req: InjectOptions, status: number, code: string) {
  const before = await counts(app);
  const res = await app.app.inject(req);
  expect(res.statusCode, res.body).toBeLessThan(500);
  expect(res.statusCode, res.body).toBe(status);
  const e = errorOf(res);
  expect(e.code).toBe(code);
  expect(e.requestId).toBe(res.headers['x-request-id']);
  expect(await counts(app)).toEqual(before);
  return e;
}

interface Issues {
  issues: { path: string; message: string }[];
}
const issuePaths = (e: { details?: unknown }) => ((e.details as Issues | undefined)?.issues ?? []).map((i) => i.path);

const signup = (payload: unknown, headers: Record<string, string> = {}): InjectOptions => ({
  method: 'POST',
  url: '/v1/auth/signup',
  headers: { 'content-type': 'application/json', ...headers },
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
});
const createKey = (payload: unknown, headers: Record<string, string> = owner.auth): InjectOptions => ({
  method: 'POST',
  url: '/v1/api-keys',
  headers: { 'content-type': 'application/json', ...headers },
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
});
const goodSignup = () => ({ email: uniqueEmail('bad'), password: PASSWORD, organizationName: 'Bad Input Co' });
const goodKey = () => ({ name: 'ci', scopes: ['api_keys:read'] });

describe.each([
  ['POST /v1/auth/signup', signup, goodSignup],
  ['POST /v1/api-keys', (p: unknown) => createKey(p), goodKey],
] as const)('generic bad input on %s', (_route, send, good) => {
  it('refuses malformed JSON with 400 invalid_json', async () => {
    const e = await refused(t, send('{"name": "x",'), 400, 'invalid_json');
    expect(e.message).toMatch(/JSON/);
  });

  it('refuses an empty body sent as application/json with 400', async () => {
    const e = await refused(t, send(''), 400, 'invalid_json');
    expect(e.message.length).toBeGreaterThan(0);
  });

  it.each([
    ['an array', '[]'],
    ['an array of the right object', 'ARRAY'],
    ['a string', '"hello"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('refuses a body that is %s with 400 validation_failed', async (_what, raw) => {
    const body = raw === 'ARRAY' ? JSON.stringify([good()]) : raw;
    await refused(t, send(body), 400, 'validation_failed');
  });

  it('refuses an unknown field with 400 validation_failed naming it', async () => {
    const e = await refused(t, send({ ...good(), isAdmin: true }), 400, 'validation_failed');
    const named = e.message.includes('isAdmin') || JSON.stringify(e.details ?? {}).includes('isAdmin');
    expect(named, `${e.message} ${JSON.stringify(e.details)}`).toBe(true);
  });

  it('accepts the same body without the unknown field (the refusal was about the field)', async () => {
    const res = await t.app.inject(send(good()));
    expect(res.statusCode, res.body).toBe(201);
  });
});

describe('wrong types name the path of the bad field', () => {
  it('signup: a numeric password is reported at body.password', async () => {
    const e = await refused(t, signup({ ...goodSignup(), password: 1234567890123 }), 400, 'validation_failed');
    expect(issuePaths(e)).toContain('body.password');
    expect(e.message).toContain('body.password');
  });

  it('signup: every bad field is reported, not just the first', async () => {
    const e = await refused(t, signup({ email: 'not-an-email', password: 'short', organizationName: 7 }), 400, 'validation_failed');
    expect(issuePaths(e)).toEqual(expect.arrayContaining(['body.email', 'body.password', 'body.organizationName']));
  });

  it('signup: a missing required field is reported at its path', async () => {
    const { organizationName: _, ...rest } = goodSignup();
    const e = await refused(t, signup(rest), 400, 'validation_failed');
    expect(issuePaths(e)).toContain('body.organizationName');
  });

  it('api key: scopes as a string and a nested bad element are reported at their paths', async () => {
    const a = await refused(t, createKey({ name: 'x', scopes: 'api_keys:read' }), 400, 'validation_failed');
    expect(issuePaths(a)).toContain('body.scopes');
    const b = await refused(t, createKey({ name: 'x', scopes: ['api_keys:read', 5] }), 400, 'validation_failed');
    expect(issuePaths(b).some((p) => p.startsWith('body.scopes'))).toBe(true);
  });

  it('api key: a fractional rateLimit is refused at body.rateLimit', async () => {
    const e = await refused(t, createKey({ ...goodKey(), rateLimit: 1.5 }), 400, 'validation_failed');
    expect(issuePaths(e)).toContain('body.rateLimit');
  });
});

describe('content types', () => {
  // Only JSON is parsed: Fastify's default text/plain parser is removed in buildApp.
  it('refuses text/plain with 415 unsupported_media_type', async () => {
    const req = { ...signup(goodSignup()), headers: { 'content-type': 'text/plain' } };
    await refused(t, req, 415, 'unsupported_media_type');
  });

  it('refuses a form-encoded body with 415 on an authenticated route', async () => {
    const req: InjectOptions = {
      method: 'POST',
      url: '/v1/api-keys',
      headers: { ...owner.auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=x&scopes=api_keys:read',
    };
    await refused(t, req, 415, 'unsupported_media_type');
  });

  it('accepts application/json with a charset parameter', async () => {
    const req = { ...signup(goodSignup()), headers: { 'content-type': 'application/json; charset=utf-8' } };
    const res = await t.app.inject(req);
    expect(res.statusCode, res.body).toBe(201);
  });
});

describe('path parameters and tenancy', () => {
  it('refuses a path id that is not a UUID with 400 validation_failed', async () => {
    const e = await refused(t, { method: 'GET', url: '/v1/api-keys/not-a-uuid', headers: owner.auth }, 400, 'validation_failed');
    expect(issuePaths(e).some((p) => p.startsWith('params'))).toBe(true);
  });

  it('refuses a non-UUID id on DELETE too, without revoking anything', async () => {
    await refused(t, { method: 'DELETE', url: `/v1/api-keys/${encodeURIComponent("1' OR '1'='1")}`, headers: owner.auth }, 400, 'validation_failed');
  });

  it("answers 404 not_found for another organization's API key and leaves it untouched", async () => {
    const other = await signupUser(t.app);
    const made = await t.app.inject(createKey({ name: 'theirs', scopes: ['api_keys:read'] }, other.auth));
    expect(made.statusCode, made.body).toBe(201);
    const id = (made.json() as { id: string }).id;

    const get = await t.app.inject({ method: 'GET', url: `/v1/api-keys/${id}`, headers: owner.auth });
    expect(get.statusCode).toBe(404);
    expect(errorOf(get).code).toBe('not_found');

    await refused(t, { method: 'DELETE', url: `/v1/api-keys/${id}`, headers: owner.auth }, 404, 'not_found');
    const row = await t.db.admin.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM api_keys WHERE id = $1', [id]);
    expect(row.rows[0]?.revoked_at).toBeNull();

    // Its owner still sees it: the 404 was about tenancy, not existence.
    const mine = await t.app.inject({ method: 'GET', url: `/v1/api-keys/${id}`, headers: other.auth });
    expect(mine.statusCode).toBe(200);
  });

  it('answers 404 not_found for an id that exists nowhere', async () => {
    await refused(
      t,
      { method: 'GET', url: '/v1/api-keys/0190a000-0000-7000-8000-000000000000', headers: owner.auth },
      404,
      'not_found',
    );
  });
});

describe('authentication comes before validation', () => {
  it('answers 401 to an unauthenticated POST /v1/api-keys with an invalid body', async () => {
    const e = await refused(t, createKey({ bogus: true }, {}), 401, 'unauthenticated');
    expect(e.details).toBeUndefined();
    expect(e.message).not.toContain('bogus');
  });

  it('answers 401 to an unauthenticated POST /v1/api-keys with malformed JSON: auth runs before parsing', async () => {
    const before = await counts(t);
    const res = await t.app.inject(createKey('{not json', {}));
    expect(res.statusCode).toBe(401);
    const e = errorOf(res);
    expect(e.code).toBe('unauthenticated');
    expect(e.details).toBeUndefined();
    expect(await counts(t)).toEqual(before);
  });

  it('answers 401 invalid_token to a bad bearer token before looking at the path id', async () => {
    const e = await refused(
      t,
      { method: 'GET', url: '/v1/api-keys/not-a-uuid', headers: { authorization: 'Bearer nonsense' } },
      401,
      'invalid_token',
    );
    expect(e.details).toBeUndefined();
  });

  it('answers 401 to a schema-invalid body with a bad bearer token', async () => {
    await refused(t, createKey({ bogus: true }, { authorization: 'Bearer nonsense' }), 401, 'invalid_token');
  });
});

describe('oversized bodies', () => {
  let small: TestApp;
  let smallOwner: SignedUp;
  beforeAll(async () => {
    small = await createTestApp({ BODY_LIMIT_BYTES: '2048' });
    smallOwner = await signupUser(small.app);
  });
  afterAll(async () => small?.close());

  const big = (n: number) => 'x'.repeat(n);

  it('refuses a 10 KB signup body with 413 payload_too_large and the limit in details', async () => {
    const e = await refused(small, signup({ ...goodSignup(), fullName: big(10 * 1024) }), 413, 'payload_too_large');
    expect(e.details).toEqual({ limitBytes: 2048 });
    expect(e.message).toContain('2048');
  });

  it('refuses a 10 KB API key body with 413 for an authenticated caller', async () => {
    const e = await refused(small, createKey({ ...goodKey(), name: big(10 * 1024) }, smallOwner.auth), 413, 'payload_too_large');
    expect(e.details).toEqual({ limitBytes: 2048 });
  });

  it('still accepts a body under the limit', async () => {
    const res = await small.app.inject(createKey(goodKey(), smallOwner.auth));
    expect(res.statusCode, res.body).toBe(201);
  });

  it('lets the same 10 KB body through to validation on an app with the default limit', async () => {
    expect(t.config.http.bodyLimit).toBe(1_048_576);
    const e = await refused(t, signup({ ...goodSignup(), fullName: big(10 * 1024) }), 400, 'validation_failed');
    expect(issuePaths(e)).toContain('body.fullName');
  });
});
