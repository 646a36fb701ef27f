import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { auditRows, client, counts, createAgent, createTool, lockVersion, ok, publish, searchTool, signupBuilder } from './fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
});
afterAll(async () => t?.close());

let n = 0;
const uniqueName = (p = 'tool') => `${p}_${++n}`;
const issues = (e: { details?: unknown }) => (e.details as { issues: Array<{ path: string; message: string }> }).issues;

describe('defining tools', () => {
  it.each([
    ['api', { url: 'https://api.example.com/v1/search', method: 'POST', headers: { 'x-team': 'growth' } }],
    ['api', { url: 'http://localhost:8080/x', method: 'GET' }],
    ['mcp', { serverUrl: 'https://mcp.example.com/sse' }],
    ['mcp', { command: 'npx -y @modelcontextprotocol/server-filesystem /tmp', args: ['--ro'] }],
    ['integration', { integrationId: 'slack-1', action: 'post_message' }],
    ['function', {}],
    ['function', { code: 'return 1', anything: [1, 2, { deep: true }] }],
  ])('accepts a %s tool with config %j', async (toolType, config) => {
    const tool = await createTool(t, owner.auth, { name: uniqueName(toolType), toolType, config });
    expect(tool).toMatchObject({ toolType, config, isActive: true, version: 1, createdBy: owner.userId, outputSchema: expect.anything() });
    expect(ok(await c.get(`/v1/tools/${tool.id}`, owner.auth))).toEqual(tool);
  });

  it('defaults config to {} and outputSchema to null', async () => {
    const tool = await createTool(t, owner.auth, { name: uniqueName(), toolType: 'function', config: undefined, outputSchema: undefined });
    expect(tool).toMatchObject({ config: {}, outputSchema: null });
  });

  it.each([
    ['api', {}, 'body.config.url'],
    ['api', { url: 'ftp://files.example.com', method: 'GET' }, 'body.config.url'],
    ['api', { url: 'not a url', method: 'GET' }, 'body.config.url'],
    ['api', { url: 'https://x.example.com', method: 'FETCH' }, 'body.config.method'],
    ['mcp', {}, 'body.config'],
    ['mcp', { serverUrl: 'file:///etc/passwd' }, 'body.config.serverUrl'],
    ['mcp', { command: '   ' }, 'body.config.command'],
    ['integration', {}, 'body.config.integrationId'],
    ['integration', { integrationId: 42 }, 'body.config.integrationId'],
  ])('refuses a %s tool with config %j (400 naming %s)', async (toolType, config, path) => {
    const before = await counts(t);
    const res = await c.post('/v1/tools', owner.auth, { ...searchTool(uniqueName()), toolType, config });
    expect(res.statusCode, res.body).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe('validation_failed');
    expect(issues(e).map((i) => i.path)).toContain(path);
    expect(await counts(t)).toEqual(before);
  });
});

describe('JSON Schema validation (ajv, strict)', () => {
  it.each([
    ['a draft-07 object schema', { type: 'object', properties: { q: { type: 'string', format: 'email' } }, required: ['q'] }],
    ['a nullable union type', { type: ['string', 'null'] }],
    ['an explicit draft-07 $schema', { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: {} }],
    ['a 2020-12 schema with prefixItems', { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'number' }], items: false, minItems: 1 }],
    ['a 2019-09 schema with $defs', { $schema: 'https://json-schema.org/draft/2019-09/schema', $defs: { n: { type: 'integer' } }, $ref: '#/$defs/n' }],
    ['a schema with an $id', { $id: 'https://schemas.example.com/q.json', type: 'string', pattern: '^[a-z]+$' }],
  ])('accepts %s', async (_what, inputSchema) => {
    const tool = await createTool(t, owner.auth, { name: uniqueName(), inputSchema, outputSchema: inputSchema });
    expect(tool.inputSchema).toEqual(inputSchema);
  });

  it('accepts the same $id in two tools (schemas are not registered globally)', async () => {
    const s = { $id: 'https://schemas.example.com/same.json', type: 'object', properties: { a: { type: 'string' } } };
    await createTool(t, owner.auth, { name: uniqueName(), inputSchema: s });
    await createTool(t, owner.auth, { name: uniqueName(), inputSchema: s });
  });

  it.each([
    ['a misspelt keyword', { type: 'object', requird: ['q'] }, 'unknown keyword'],
    ['an unknown type', { type: 'object', properties: { q: { type: 'strng' } } }, 'schema is invalid'],
    ['required naming an undeclared property', { type: 'object', properties: {}, required: ['q'] }, 'required property "q" is not defined'],
    ['object keywords without type object', { properties: { q: { type: 'string' } } }, 'missing type "object"'],
    ['an invalid regular expression', { type: 'string', pattern: '([a-z' }, 'regular expression'],
    ['an unresolvable $ref', { $ref: 'https://elsewhere.example.com/schema.json' }, "can't resolve reference"],
    ['an unknown format', { type: 'string', format: 'emial' }, 'unknown format'],
    ['a negative minLength', { type: 'string', minLength: -1 }, 'schema is invalid'],
    ['an unsupported dialect', { $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' }, 'not a supported dialect'],
  ])('refuses %s in inputSchema and in outputSchema (400 naming the field)', async (_what, schema, reason) => {
    for (const field of ['inputSchema', 'outputSchema'] as const) {
      const before = await counts(t);
      const res = await c.post('/v1/tools', owner.auth, { ...searchTool(uniqueName()), [field]: schema });
      expect(res.statusCode, res.body).toBe(400);
      const e = errorOf(res);
      expect(e.code).toBe('validation_failed');
      expect(e.message).toContain(`${field} is not a valid JSON Schema`);
      expect(e.message).toContain(reason);
      expect(issues(e)).toEqual([{ path: `body.${field}`, message: expect.stringContaining(reason) }]);
      expect(await counts(t)).toEqual(before);
    }
  });

  it('refuses a schema that is not an object, and a missing inputSchema', async () => {
    for (const inputSchema of [true, 'string', ['type'], null, undefined]) {
      const res = await c.post('/v1/tools', owner.auth, { ...searchTool(uniqueName()), inputSchema });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
  });
});

describe('tool names', () => {
  it('refuses a name a live tool has (409), allows it again after delete', async () => {
    const tool = await createTool(t, owner.auth, { name: 'unique_name' });
    const before = await counts(t);
    const dup = await c.post('/v1/tools', owner.auth, searchTool('unique_name'));
    expect(dup.statusCode).toBe(409);
    expect(errorOf(dup)).toMatchObject({ code: 'conflict', details: { field: 'name' } });
    expect(await counts(t)).toEqual(before);
    expect((await c.del(`/v1/tools/${tool.id}`, owner.auth)).statusCode).toBe(204);
    await createTool(t, owner.auth, { name: 'unique_name' });
  });

  it.each(['1starts_with_digit', 'has space', 'dot.name', '', 'x'.repeat(101)])('refuses the name %j (400)', async (name) => {
    const res = await c.post('/v1/tools', owner.auth, searchTool(name));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
  });
});

describe('changing tools', () => {
  it('changes the fields sent, bumps version and audits', async () => {
    const tool = await createTool(t, owner.auth, { name: uniqueName() });
    const after = ok(await c.patch(`/v1/tools/${tool.id}`, owner.auth, { version: 1, description: 'Better search', isActive: false, outputSchema: null }));
    expect(after).toMatchObject({ version: 2, description: 'Better search', isActive: false, outputSchema: null, name: tool.name });
    const rows = await auditRows(t, owner.orgId, tool.id);
    expect(rows.map((r) => r.action)).toEqual(['tool.created', 'tool.updated']);
    expect(rows[1]).toMatchObject({ resource_type: 'tool', old_values: { description: 'Search the web' }, new_values: { description: 'Better search' } });
  });

  it('checks a type change against the config the tool keeps', async () => {
    const tool = await createTool(t, owner.auth, { name: uniqueName(), toolType: 'function', config: {} });
    const res = await c.patch(`/v1/tools/${tool.id}`, owner.auth, { version: 1, toolType: 'api' });
    expect(res.statusCode).toBe(400);
    expect(issues(errorOf(res)).map((i) => i.path)).toContain('body.config.url');
    const fixed = ok(await c.patch(`/v1/tools/${tool.id}`, owner.auth, { version: 1, toolType: 'api', config: { url: 'https://a.example.com', method: 'GET' } }));
    expect(fixed.toolType).toBe('api');
  });

  it('refuses an invalid schema, a stale version and a taken name, changing nothing', async () => {
    const other = await createTool(t, owner.auth, { name: uniqueName() });
    const tool = await createTool(t, owner.auth, { name: uniqueName() });
    const before = await counts(t);
    const bad = await c.patch(`/v1/tools/${tool.id}`, owner.auth, { version: 1, inputSchema: { type: 'object', nope: 1 } });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).message).toContain('inputSchema');
    const stale = await c.patch(`/v1/tools/${tool.id}`, owner.auth, { version: 2, description: 'x' });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');
    const taken = await c.patch(`/v1/tools/${tool.id}`, owner.auth, { version: 1, name: other.name });
    expect(taken.statusCode).toBe(409);
    expect(errorOf(taken).code).toBe('conflict');
    expect(ok(await c.get(`/v1/tools/${tool.id}`, owner.auth))).toEqual(tool);
    expect(await counts(t)).toEqual(before);
  });
});

describe('listing tools', () => {
  it('lists newest first, filters by type and pages exactly', async () => {
    const org = await signupBuilder(t);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await createTool(t, org.auth, { name: `t${i}`, ...(i % 2 ? { toolType: 'function', config: {} } : {}) })).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const b: { data: Array<{ id: string }>; nextCursor: string | null } = ok(await c.get(`/v1/tools?limit=2${cursor ? `&cursor=${cursor}` : ''}`, org.auth));
      seen.push(...b.data.map((x) => x.id));
      cursor = b.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect(ok(await c.get('/v1/tools?toolType=function', org.auth)).data.map((x: { id: string }) => x.id)).toEqual([ids[3], ids[1]]);
    expect((await c.get('/v1/tools?toolType=shell', org.auth)).statusCode).toBe(400);
  });
});

describe('deleting tools', () => {
  it('refuses to delete a tool a live agent lists (409 naming the agents)', async () => {
    const tool = await createTool(t, owner.auth, { name: uniqueName() });
    const a = await createAgent(t, owner.auth, { name: 'Tool user', tools: [tool.id] });
    const before = await counts(t);
    const res = await c.del(`/v1/tools/${tool.id}`, owner.auth);
    expect(res.statusCode).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'conflict', details: { agents: [{ id: a.id, slug: a.slug }] } });
    expect(await counts(t)).toEqual(before);
    expect(ok(await c.get(`/v1/tools/${tool.id}`, owner.auth)).id).toBe(tool.id);

    ok(await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 1, tools: [] }));
    expect((await c.del(`/v1/tools/${tool.id}`, owner.auth)).statusCode).toBe(204);
  });

  it('allows deleting a tool only deleted agents listed; published versions keep their copy', async () => {
    const tool = await createTool(t, owner.auth, { name: uniqueName() });
    const a = await createAgent(t, owner.auth, { name: 'Published user', tools: [tool.id] });
    await publish(t, owner.auth, a.id, '1.0.0');
    ok(await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: await lockVersion(t, owner.auth, a.id), tools: [] }));
    const gone = await createAgent(t, owner.auth, { name: 'Deleted user', tools: [tool.id] });
    expect((await c.del(`/v1/agents/${gone.id}`, owner.auth)).statusCode).toBe(204);

    expect((await c.del(`/v1/tools/${tool.id}`, owner.auth)).statusCode).toBe(204);
    expect((await c.get(`/v1/tools/${tool.id}`, owner.auth)).statusCode).toBe(404);
    expect(ok(await c.get(`/v1/agents/${a.id}/versions/1.0.0`, owner.auth)).tools[0]).toMatchObject({ id: tool.id, name: tool.name });
    // a deleted tool can no longer be referenced
    const res = await c.post('/v1/agents', owner.auth, { name: 'Late', tools: [tool.id] });
    expect(res.statusCode).toBe(400);
    const rows = await auditRows(t, owner.orgId, tool.id);
    expect(rows.map((r) => r.action)).toEqual(['tool.created', 'tool.deleted']);
  });

  it('gives 404 for a deleted tool on every route', async () => {
    const tool = await createTool(t, owner.auth, { name: uniqueName() });
    expect((await c.del(`/v1/tools/${tool.id}`, owner.auth)).statusCode).toBe(204);
    for (const res of [
      await c.get(`/v1/tools/${tool.id}`, owner.auth),
      await c.patch(`/v1/tools/${tool.id}`, owner.auth, { version: 1, description: 'x' }),
      await c.del(`/v1/tools/${tool.id}`, owner.auth),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
  });
});
