import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { loadMigrations, migrate } from '../../src/db/index.js';
import { createService, type Service } from '../../src/server.js';
import { createTestApp, errorOf, signupUser, TEST_SECRET, type TestApp } from '../helpers/app.js';
import { driver, freshDatabase, type TestDb } from '../helpers/db.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SANE_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** A service on a database that is not (fully) migrated, to see /readyz refuse. */
async function serviceOn(t0: TestDb): Promise<Service> {
  const config = parseConfig({ AGENTBASE_SECRET: TEST_SECRET, LOG_LEVEL: 'silent' });
  return createService(config, t0.db, false);
}

describe('GET /healthz', () => {
  it('answers 200 with status ok', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });
});

describe('GET /readyz', () => {
  it('answers 200 with the latest migration number and the driver when fully migrated, and what it can do', async () => {
    const latest = (await loadMigrations()).at(-1)!.version;
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', migration: latest, database: driver, capabilities: { vectorSearch: true } });
  });

  it('answers 503 not_ready on a database that was never migrated', async () => {
    const t0 = await freshDatabase({ migrated: false });
    const svc = await serviceOn(t0);
    try {
      const res = await svc.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      const e = errorOf(res);
      expect(e.code).toBe('not_ready');
      expect(e.message).toContain('0001_');
      expect(e.requestId).toBe(res.headers['x-request-id']);
    } finally {
      await svc.close();
      await t0.drop();
    }
  });

  it('answers 503 not_ready naming only the pending migrations when partly migrated', async () => {
    const all = await loadMigrations();
    expect(all.length).toBeGreaterThan(1);
    const t0 = await freshDatabase({ migrated: false });
    const svc = await serviceOn(t0);
    try {
      await migrate(t0.db, all.slice(0, 1));
      const res = await svc.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      const e = errorOf(res);
      expect(e.code).toBe('not_ready');
      const tag = (m: { version: number; name: string }) => `${String(m.version).padStart(4, '0')}_${m.name}`;
      expect(e.message).not.toContain(tag(all[0]!));
      for (const m of all.slice(1)) expect(e.message).toContain(tag(m));

      // Once the rest is applied, the same process becomes ready without a restart.
      await migrate(t0.db, all);
      const ok = await svc.app.inject({ method: 'GET', url: '/readyz' });
      expect(ok.statusCode).toBe(200);
      expect(ok.json().migration).toBe(all.at(-1)!.version);
    } finally {
      await svc.close();
      await t0.drop();
    }
  });
});

describe('GET /metrics', () => {
  it('is Prometheus text with request counts by route template, latency buckets and pool gauges', async () => {
    await t.app.inject({ method: 'GET', url: '/healthz' });
    await t.app.inject({ method: 'GET', url: '/healthz' });
    const u = await signupUser(t.app);
    const other = '0190a000-0000-7000-8000-000000000000';
    const miss = await t.app.inject({ method: 'GET', url: `/v1/api-keys/${other}`, headers: u.auth });
    expect(miss.statusCode).toBe(404);
    await t.app.inject({ method: 'GET', url: '/no-such-route-xyz123' });

    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toContain('# TYPE agentbase_http_requests_total counter');
    const healthz = /^agentbase_http_requests_total\{method="GET",route="\/healthz",status="200"\} (\d+)$/m.exec(text);
    expect(healthz, 'a counter line for GET /healthz').not.toBeNull();
    expect(Number(healthz![1])).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^agentbase_http_requests_total\{method="POST",route="\/v1\/auth\/signup",status="201"\} \d+$/m);
    // The route template is the label, never the concrete id (bounded cardinality).
    expect(text).toMatch(/^agentbase_http_requests_total\{method="GET",route="\/v1\/api-keys\/:id",status="404"\} \d+$/m);
    expect(text).not.toContain(other);
    expect(text).not.toContain('no-such-route-xyz123');

    expect(text).toContain('# TYPE agentbase_http_request_duration_seconds histogram');
    expect(text).toMatch(/^agentbase_http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="\/healthz"\} \d+$/m);
    expect(text).toMatch(/^agentbase_http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/healthz"\} \d+$/m);

    expect(text).toContain('# TYPE agentbase_db_pool_connections gauge');
    for (const state of ['total', 'idle', 'waiting']) {
      expect(text).toMatch(new RegExp(`^agentbase_db_pool_connections\\{state="${state}"\\} \\d+$`, 'm'));
    }
  });
});

describe('GET /openapi.json', () => {
  interface Schema {
    type?: string;
    required?: string[];
    properties?: Record<string, unknown>;
    additionalProperties?: unknown;
  }
  interface Doc {
    openapi: string;
    info: { title: string; version: string };
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>>;
    components: { securitySchemes: Record<string, { type: string; scheme: string }> };
    security?: Record<string, unknown[]>[];
  }
  let doc: Doc;
  beforeAll(async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    doc = res.json() as Doc;
  });
  const bodyOf = (path: string, method: string): Schema => {
    const s = doc.paths[path]?.[method]?.requestBody?.content['application/json']?.schema;
    if (!s) throw new Error(`no JSON request body for ${method.toUpperCase()} ${path}`);
    return s;
  };

  it('is an OpenAPI 3.1.0 document for agentbase', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('agentbase');
    expect(typeof doc.info.version).toBe('string');
  });

  it('lists the public routes and hides the operational ones', () => {
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/auth/signup', '/v1/api-keys', '/v1/audit']));
    expect(doc.paths['/v1/auth/signup']).toHaveProperty('post');
    expect(doc.paths['/v1/api-keys']).toHaveProperty('post');
    expect(doc.paths['/v1/api-keys']).toHaveProperty('get');
    expect(doc.paths['/v1/audit']).toHaveProperty('get');
    for (const hidden of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/console', '/console/*']) expect(doc.paths).not.toHaveProperty(hidden);
  });

  it('describes the signup body: required fields and no unknown properties', () => {
    const s = bodyOf('/v1/auth/signup', 'post');
    expect(s.type).toBe('object');
    expect(s.required).toEqual(expect.arrayContaining(['email', 'password', 'organizationName']));
    expect(s.required).not.toContain('fullName');
    expect(s.additionalProperties).toBe(false);
    expect(Object.keys(s.properties ?? {})).toEqual(
      expect.arrayContaining(['email', 'password', 'organizationName', 'fullName', 'username', 'organizationSlug']),
    );
  });

  it('describes the API key body', () => {
    const s = bodyOf('/v1/api-keys', 'post');
    expect(s.required).toEqual(expect.arrayContaining(['name', 'scopes']));
    expect(s.additionalProperties).toBe(false);
  });

  it('declares the bearer security scheme and applies it by default', () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
  });
});

describe('request ids', () => {
  it('puts a fresh x-request-id on every response, success or error', async () => {
    const a = await t.app.inject({ method: 'GET', url: '/healthz' });
    const b = await t.app.inject({ method: 'GET', url: '/healthz' });
    const c = await t.app.inject({ method: 'GET', url: '/v1/me' });
    const ids = [a, b, c].map((r) => r.headers['x-request-id']);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(3);
    expect(c.statusCode).toBe(401);
    expect(errorOf(c).requestId).toBe(ids[2]);
  });

  it('echoes a sane incoming x-request-id and uses it as error.requestId', async () => {
    const id = 'trace-abc.123:XYZ_9';
    const ok = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } });
    expect(ok.headers['x-request-id']).toBe(id);
    const bad = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-request-id': id } });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['x-request-id']).toBe(id);
    expect(errorOf(bad).requestId).toBe(id);
  });

  it.each([
    ['300 characters long', 'a'.repeat(300)],
    ['containing spaces', 'hello world'],
    ['containing percent-escapes', 'abc%0d%0aSet-Cookie:x'],
    ['containing quotes', '"><script>'],
  ])('replaces an incoming x-request-id %s', async (_what, insane) => {
    const res = await t.app.inject({ method: 'GET', url: '/no-such-route', headers: { 'x-request-id': insane } });
    const id = res.headers['x-request-id'];
    expect(id).not.toBe(insane);
    expect(id).toMatch(SANE_ID);
    expect(errorOf(res).requestId).toBe(id);
  });
});

describe('unknown routes and methods', () => {
  it('answers 404 route_not_found in the error shape for an unknown path', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/does-not-exist?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const e = errorOf(res);
    expect(e.code).toBe('route_not_found');
    expect(e.message).toContain('/v1/does-not-exist');
    expect(e.message).not.toContain('x=1');
    expect(e.requestId).toBe(res.headers['x-request-id']);
  });

  it('answers a wrong method on a known path with 404 or 405 in the error shape', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/auth/signup' });
    expect([404, 405]).toContain(res.statusCode);
    const e = errorOf(res);
    expect(e.code).toBe(res.statusCode === 405 ? 'method_not_allowed' : 'route_not_found');
    expect(e.requestId).toBe(res.headers['x-request-id']);
  });

  it('does not authenticate before deciding a route does not exist', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/nothing-here', payload: { a: 1 } });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('route_not_found');
  });
});
