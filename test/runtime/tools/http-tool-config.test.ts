import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, ok, searchTool } from '../../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../../helpers/app.js';

// The http fields of an api tool's config are checked when the tool is saved
// (POST/PATCH /v1/tools), so a tool that cannot run is refused up front.

let t: TestApp;
let owner: SignedUp;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupUser(t.app);
});
afterAll(async () => t?.close());

let n = 0;
const api = (config: Record<string, unknown>) => ({ ...searchTool(`http_${++n}`), toolType: 'api', config: { url: 'https://api.example.com/v1/{id}', method: 'GET', ...config } });
const issuePaths = (e: { details?: unknown }) => (e.details as { issues: { path: string }[] }).issues.map((i) => i.path);

describe('api tool config', () => {
  it('accepts every documented field', async () => {
    const tool = ok(
      await client(t).post('/v1/tools', owner.auth, api({
        url: 'https://{region}.api.example.com/v1/items/{id}',
        method: 'POST',
        headers: { Authorization: { secret: 'API_TOKEN', prefix: 'Bearer ' }, 'X-Key': { secret: 'KEY' }, 'X-Team': 'growth' },
        query: { q: '{q}', lang: 'en', page: 1, exact: true },
        body: 'args',
        timeoutMs: 60_000,
        maxResponseBytes: 5 * 1024 * 1024,
        allowedHosts: ['eu.api.example.com', '*.api.example.com'],
        extra: 'kept as sent',
      })),
      201,
    );
    expect(tool.config.extra).toBe('kept as sent');
  });

  it.each([
    ['a timeout over 60 s', 'body.config.timeoutMs', { timeoutMs: 60_001 }],
    ['a size limit over 5 MiB', 'body.config.maxResponseBytes', { maxResponseBytes: 5 * 1024 * 1024 + 1 }],
    ['a secret reference that is not a name', 'body.config.headers.Authorization.secret', { headers: { Authorization: { secret: 'not a name' } } }],
    ['a header value that is neither a string nor a secret reference', 'body.config.headers.Authorization', { headers: { Authorization: 5 } }],
    ['a secret reference with unknown keys', 'body.config.headers.Authorization', { headers: { Authorization: { secret: 'A', value: 'x' } } }],
    ['a header value with a line break', 'body.config.headers.X-A', { headers: { 'X-A': 'a\r\nInjected: 1' } }],
    ['a header the server sets', 'body.config.headers.Host', { headers: { Host: 'evil.example.com' } }],
    ['an invalid header name', 'body.config.headers.Bad Header', { headers: { 'Bad Header': 'x' } }],
    ['a body on GET', 'body.config.body', { body: 'args' }],
    ['an unknown body mode', 'body.config.body', { method: 'POST', body: 'form' }],
    ['a templated host without allowedHosts', 'body.config.allowedHosts', { url: 'https://{host}/x' }],
    ['an allowed host with a path', 'body.config.allowedHosts.0', { allowedHosts: ['example.com/x'] }],
    ['an empty allowedHosts', 'body.config.allowedHosts', { allowedHosts: [] }],
    ['query values that are objects', 'body.config.query.q', { query: { q: { nested: 1 } } }],
  ])('refuses %s (400 naming %s)', async (_what, path, config) => {
    const res = await client(t).post('/v1/tools', owner.auth, api(config));
    expect(res.statusCode, res.body).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe('validation_failed');
    expect(issuePaths(e)).toContain(path);
  });
});
