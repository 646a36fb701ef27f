import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKeys } from '../../../src/identity/index.js';
import { loadAgentTools, type StoredToolsDeps } from '../../../src/runtime/index.js';
import type { ToolContext, ToolOutcome } from '../../../src/runtime/tools/types.js';
import { client, ok, signupBuilder } from '../../agents/fixtures.js';
import { createTestApp, TEST_SECRET, type SignedUp, type TestApp } from '../../helpers/app.js';
import { startPeer, type Peer } from './peer.js';

let t: TestApp;
let owner: SignedUp;
let peer: Peer;
const keys = deriveKeys(TEST_SECRET);
const open: StoredToolsDeps = { keys, egress: { allowPrivate: true } };
const strict: StoredToolsDeps = { keys, egress: { allowPrivate: false } };

const TOKEN = 'tok_live_4f9a0c2e7b1d8e6f5a3c';
const API_KEY = 'key_8d7c6b5a4f3e2d1c0b9a';

const IdArgs = { type: 'object', properties: { id: { type: 'string', minLength: 1 } }, required: ['id'], additionalProperties: false };
const AnyArgs = { type: 'object' };

let n = 0;
async function defineTool(config: Record<string, unknown>, inputSchema: Record<string, unknown> = AnyArgs, toolType = 'api') {
  const name = `tool_${++n}`;
  return ok(await client(t).post('/v1/tools', owner.auth, { name, description: `test tool ${name}`, toolType, config, inputSchema }), 201) as {
    id: string;
    name: string;
  };
}

function context(signal = new AbortController().signal): ToolContext {
  return {
    orgId: owner.orgId,
    agentId: randomUUID(),
    executionId: randomUUID(),
    sessionId: undefined,
    depth: 0,
    callPath: [],
    signal,
    tenant: (fn) => t.db.tenant(owner.orgId, fn),
  };
}

async function runTool(name: string, args: Record<string, unknown>, deps = open, signal?: AbortSignal): Promise<ToolOutcome> {
  const loaded = await t.db.tenant(owner.orgId, (sql) => loadAgentTools(sql, owner.orgId, [name], deps));
  expect(loaded.tools.map((x) => x.spec.name)).toEqual([name]);
  return loaded.tools[0]!.run(args, context(signal));
}

const out = (o: ToolOutcome) => o.output as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  peer = await startPeer();
  for (const [name, value] of [['API_TOKEN', TOKEN], ['API_KEY', API_KEY]]) {
    ok(await client(t).post('/v1/secrets', owner.auth, { name, value, allowedHosts: ['127.0.0.1', 'localhost'] }), 201);
  }
});
afterAll(async () => {
  await peer?.close();
  await t?.close();
});

describe('calling an API', () => {
  it('substitutes URL-encoded arguments into the url and sends stored secrets in headers', async () => {
    const tool = await defineTool(
      {
        url: `${peer.base}/echo/items/{id}`,
        method: 'GET',
        headers: { Authorization: { secret: 'API_TOKEN', prefix: 'Bearer ' }, 'X-Api-Key': { secret: 'API_KEY' }, 'X-Team': 'growth' },
      },
      IdArgs,
    );
    const before = peer.received.length;
    const o = await runTool(tool.name, { id: 'a/b c?d#e&f@g' });
    expect(o.isError, JSON.stringify(o)).toBe(false);
    const got = peer.received.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.url).toBe('/echo/items/a%2Fb%20c%3Fd%23e%26f%40g');
    expect(got[0]!.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'x-api-key': API_KEY, 'x-team': 'growth' });
    expect(out(o)).toMatchObject({ status: 200, contentType: 'application/json; charset=utf-8', body: { path: '/echo/items/a%2Fb%20c%3Fd%23e%26f%40g' } });
    // The peer echoed the headers back; the outcome shows them redacted.
    expect(out(o).body.headers).toMatchObject({ authorization: 'Bearer [redacted]', 'x-api-key': '[redacted]' });
    const everything = JSON.stringify(o);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(API_KEY);
    expect(o.details).toMatchObject({ method: 'GET', status: 200, truncated: false, address: '127.0.0.1' });
  });

  it('marks the secrets it sent as used', async () => {
    const res = ok(await client(t).get('/v1/secrets/API_TOKEN', owner.auth));
    expect(res.lastUsedAt).not.toBeNull();
    expect(res.version).toBe(1);
  });

  it('adds query parameters from arguments and literals, leaving out absent optional ones', async () => {
    const tool = await defineTool(
      { url: `${peer.base}/echo/search?fixed=1`, method: 'GET', query: { q: '{term}', lang: 'en', page: 2, tag: '{tag}', label: 'x-{term}' } },
      { type: 'object', properties: { term: { type: 'string' }, tag: { type: 'string' } }, required: ['term'] },
    );
    const o = await runTool(tool.name, { term: 'a&b=c' });
    expect(o.isError, JSON.stringify(o)).toBe(false);
    expect(out(o).body.query).toEqual({ fixed: '1', q: 'a&b=c', lang: 'en', page: '2', label: 'x-a&b=c' });
  });

  it('sends the arguments as JSON for POST by default', async () => {
    const tool = await defineTool({ url: `${peer.base}/echo/create`, method: 'POST' }, { type: 'object', properties: { title: { type: 'string' } } });
    const o = await runTool(tool.name, { title: 'Trip to Oslo' });
    expect(o.isError).toBe(false);
    expect(out(o).body).toMatchObject({ method: 'POST', body: '{"title":"Trip to Oslo"}', headers: { 'content-type': 'application/json' } });
  });

  it('sends no body when config.body is "none"', async () => {
    const tool = await defineTool({ url: `${peer.base}/echo/ping`, method: 'POST', body: 'none' });
    const o = await runTool(tool.name, { ignored: true });
    expect(out(o).body).toMatchObject({ method: 'POST', body: '' });
  });

  it('returns text bodies as text, and a body that claims JSON but is not as text', async () => {
    const text = await defineTool({ url: `${peer.base}/text`, method: 'GET' });
    expect(out(await runTool(text.name, {}))).toMatchObject({ status: 200, body: 'plain words' });
    const bad = await defineTool({ url: `${peer.base}/bad-json`, method: 'GET' });
    expect(out(await runTool(bad.name, {}))).toMatchObject({ status: 200, body: '{not json' });
  });

  it('tells the model when a secret it needs is not stored, and sends nothing', async () => {
    const tool = await defineTool({ url: `${peer.base}/echo/x`, method: 'GET', headers: { Authorization: { secret: 'NOT_STORED' } } });
    const before = peer.received.length;
    const o = await runTool(tool.name, {});
    expect(o.isError).toBe(true);
    expect(out(o).error).toContain('NOT_STORED');
    expect(peer.received.length).toBe(before);
  });
  it('refuses a secret a header cannot carry, naming the header and not the value', async () => {
    for (const [name, value] of [['MULTILINE', 'first-line\nsecond-line-7c1e'], ['NON_LATIN', 'ключ-секрет-9b2f']] as const) {
      ok(await client(t).post('/v1/secrets', owner.auth, { name, value, allowedHosts: ['127.0.0.1'] }), 201);
      const tool = await defineTool({ url: `${peer.base}/echo/x`, method: 'GET', headers: { 'X-Weird': { secret: name } } });
      const before = peer.received.length;
      const o = await runTool(tool.name, {});
      expect(o.isError).toBe(true);
      expect(out(o).error).toContain('header X-Weird');
      expect(JSON.stringify(o)).not.toContain(value.slice(-4));
      expect(peer.received.length).toBe(before);
    }
  });
});

describe('hosts', () => {
  it('sends a secret only to the hosts its allowedHosts lists', async () => {
    const value = 'bound_key_5e1f0a9c3d7b2e8a';
    ok(await client(t).post('/v1/secrets', owner.auth, { name: 'BOUND_KEY', value, allowedHosts: ['localhost'] }), 201);
    const headers = { 'X-Bound': { secret: 'BOUND_KEY' } };
    const elsewhere = await defineTool({ url: `${peer.base}/echo/bound`, method: 'GET', headers });
    const before = peer.received.length;
    const refused = await runTool(elsewhere.name, {});
    expect(refused.isError).toBe(true);
    expect(out(refused).error).toBe(
      `the tool ${elsewhere.name} cannot run: secret BOUND_KEY may not be sent to host 127.0.0.1; add 127.0.0.1 to its allowedHosts (PUT /v1/secrets/BOUND_KEY)`,
    );
    // Nothing reached the peer: the value was not even opened.
    expect(peer.received.length).toBe(before);
    expect(peer.received.some((r) => JSON.stringify(r.headers).includes(value))).toBe(false);
    expect(JSON.stringify(refused)).not.toContain(value);
    expect(ok(await client(t).get('/v1/secrets/BOUND_KEY', owner.auth)).lastUsedAt).toBeNull();

    // The same peer under a listed host name gets it.
    const listed = await defineTool({ url: `http://localhost:${peer.port}/echo/bound`, method: 'GET', headers });
    expect((await runTool(listed.name, {})).isError).toBe(false);
    expect(peer.received.at(-1)!.headers['x-bound']).toBe(value);

    // Once the list names 127.0.0.1, the first tool sends it too.
    ok(await client(t).put('/v1/secrets/BOUND_KEY', owner.auth, { value, allowedHosts: ['127.0.0.1'] }));
    expect((await runTool(elsewhere.name, {})).isError).toBe(false);
    expect(peer.received.at(-1)!.headers['x-bound']).toBe(value);
    expect((await runTool(listed.name, {})).isError).toBe(true);
  });

  it('refuses a templated url that lands on a host outside allowedHosts', async () => {
    const tool = await defineTool({ url: `http://{host}:${peer.port}/echo/h`, method: 'GET', allowedHosts: ['localhost', '*.localhost'] }, AnyArgs);
    const allowed = await runTool(tool.name, { host: 'localhost' });
    expect(allowed.isError, JSON.stringify(allowed)).toBe(false);
    const before = peer.received.length;
    const refused = await runTool(tool.name, { host: '127.0.0.1' });
    expect(refused.isError).toBe(true);
    expect(out(refused).error).toMatch(/host 127\.0\.0\.1 is not one this tool may call/);
    // An argument cannot smuggle in another host: it is URL-encoded, so "@" and ":" stay inside the host name.
    const smuggled = await runTool(tool.name, { host: 'localhost:1@127.0.0.1' });
    expect(smuggled.isError).toBe(true);
    expect(peer.received.length).toBe(before);
  });

  it('defaults allowedHosts to the host of the url template', async () => {
    const tool = await defineTool({ url: `${peer.base}/echo/{path}`, method: 'GET' });
    const o = await runTool(tool.name, { path: 'inside' });
    expect(o.isError).toBe(false);
    expect(out(o).body.path).toBe('/echo/inside');
  });

  it('refuses private addresses by default, before any connection is made', async () => {
    const tool = await defineTool({ url: `${peer.base}/echo/private`, method: 'GET', headers: { Authorization: { secret: 'API_TOKEN' } } });
    const before = peer.received.length;
    const o = await runTool(tool.name, {}, strict);
    expect(o.isError).toBe(true);
    expect(out(o).error).toMatch(/127\.0\.0\.1 is a loopback address/);
    expect(o.details).toMatchObject({ failure: 'refused', refused: 'loopback' });
    expect(peer.received.length).toBe(before);
    expect(JSON.stringify(o)).not.toContain(TOKEN);
    // A name that resolves to loopback is refused the same way.
    const byName = await defineTool({ url: `http://localhost:${peer.port}/echo/private`, method: 'GET' });
    const o2 = await runTool(byName.name, {}, strict);
    expect(out(o2).error).toMatch(/localhost resolves to .* loopback address/);
    // With the flag, the same tool goes through.
    expect((await runTool(tool.name, {}, open)).isError).toBe(false);
  });
});

describe('limits and failures', () => {
  it('truncates a response over maxResponseBytes', async () => {
    const tool = await defineTool({ url: `${peer.base}/big/1000000`, method: 'GET', maxResponseBytes: 1000 });
    const o = await runTool(tool.name, {});
    expect(o.isError).toBe(false);
    expect(out(o)).toMatchObject({ status: 200, truncated: true });
    expect(out(o).body).toBe('a'.repeat(1000));
    expect(o.details).toMatchObject({ bytes: 1000, truncated: true });
  });

  it('reads a response of exactly the limit whole', async () => {
    const tool = await defineTool({ url: `${peer.base}/big/40000`, method: 'GET', maxResponseBytes: 40000 });
    const o = await runTool(tool.name, {});
    expect(out(o).truncated).toBeUndefined();
    expect(out(o).body).toHaveLength(40000);
  });

  it('gives up after timeoutMs', async () => {
    const tool = await defineTool({ url: `${peer.base}/slow`, method: 'GET', timeoutMs: 200 });
    const o = await runTool(tool.name, {});
    expect(o.isError).toBe(true);
    expect(out(o).error).toMatch(/timed out after 200 ms/);
    expect(o.details).toMatchObject({ failure: 'timeout' });
  });

  it("stops when the run is aborted, with the run's abort reason", async () => {
    const tool = await defineTool({ url: `${peer.base}/slow`, method: 'GET', timeoutMs: 60_000 });
    const ctl = new AbortController();
    const before = peer.received.length;
    const pending = runTool(tool.name, {}, open, ctl.signal);
    await expect.poll(() => peer.received.length).toBe(before + 1);
    ctl.abort(new Error('run cancelled'));
    await expect(pending).rejects.toThrow('run cancelled');
  });

  it.each([404, 422, 500, 503])('turns HTTP %i into an error outcome with the status and body', async (status) => {
    const tool = await defineTool({ url: `${peer.base}/status/${status}`, method: 'GET' });
    const o = await runTool(tool.name, {});
    expect(o.isError).toBe(true);
    expect(out(o)).toMatchObject({ status, body: { error: `status ${status}` } });
    expect(out(o).error).toContain(`HTTP ${status}`);
    expect(o.details).toMatchObject({ status });
  });

  it('shows only an excerpt of a long error body', async () => {
    const tool = await defineTool({ url: `${peer.base}/status/500?pad=10000`, method: 'GET' });
    const o = await runTool(tool.name, {});
    expect(typeof out(o).body).toBe('string');
    expect((out(o).body as string).length).toBeLessThan(2100);
  });

  it('reports a connection that fails', async () => {
    const closed = await startPeer();
    const base = closed.base;
    await closed.close();
    const tool = await defineTool({ url: `${base}/echo`, method: 'GET' });
    const o = await runTool(tool.name, {});
    expect(o.isError).toBe(true);
    expect(o.details).toMatchObject({ failure: 'network' });
    expect(out(o).error).toMatch(/ECONNREFUSED/);
  });
});

describe('arguments', () => {
  it('refuses arguments that do not match the input schema, naming the problem, without calling', async () => {
    const tool = await defineTool({ url: `${peer.base}/echo/items/{id}`, method: 'GET' }, IdArgs);
    const before = peer.received.length;
    const missing = await runTool(tool.name, {});
    expect(missing.isError).toBe(true);
    expect(out(missing).error).toContain("must have required property 'id'");
    const extra = await runTool(tool.name, { id: 'x', other: 1 });
    expect(out(extra).problems).toEqual(["(root) must NOT have additional properties 'other'"]);
    const wrongType = await runTool(tool.name, { id: 5 });
    expect(out(wrongType).problems).toEqual(['/id must be string']);
    expect(peer.received.length).toBe(before);
  });

  it('refuses a url placeholder whose argument is absent or not a scalar', async () => {
    const tool = await defineTool({ url: `${peer.base}/echo/{a}/{b}`, method: 'GET' });
    expect(out(await runTool(tool.name, { a: 'x' })).error).toMatch(/needs the argument b/);
    expect(out(await runTool(tool.name, { a: 'x', b: { nested: true } })).error).toMatch(/argument b .* string, number or boolean/);
  });
});

describe('loading stored tools', () => {
  it('loads by id or name in the order asked, and reports unknown and inactive ones', async () => {
    const a = await defineTool({ url: `${peer.base}/echo/a`, method: 'GET' });
    const b = await defineTool({ url: `${peer.base}/echo/b`, method: 'GET' });
    const off = await defineTool({ url: `${peer.base}/echo/off`, method: 'GET' });
    ok(await client(t).patch(`/v1/tools/${off.id}`, owner.auth, { version: 1, isActive: false }));
    const loaded = await t.db.tenant(owner.orgId, (sql) => loadAgentTools(sql, owner.orgId, [b.name, a.id, 'call_agent', off.id, a.name, randomUUID()], open));
    expect(loaded.tools.map((x) => [x.id, x.spec.name, x.toolType])).toEqual([[b.id, b.name, 'api'], [a.id, a.name, 'api']]);
    expect(loaded.tools[0]!.spec).toEqual({ name: b.name, description: `test tool ${b.name}`, parameters: AnyArgs });
    expect(loaded.missing).toEqual(['call_agent', expect.any(String)]);
    expect(loaded.inactive).toEqual([off.id]);
  });

  it("does not load another organization's tools", async () => {
    const mine = await defineTool({ url: `${peer.base}/echo/mine`, method: 'GET' });
    const other = await signupBuilder(t);
    const loaded = await t.db.tenant(other.orgId, (sql) => loadAgentTools(sql, other.orgId, [mine.id, mine.name], open));
    expect(loaded.tools).toEqual([]);
    expect(loaded.missing).toEqual([mine.id, mine.name]);
  });

  it.each(['function', 'mcp', 'integration'])('a %s tool answers that it runs in your own code', async (toolType) => {
    const config = { function: {}, mcp: { serverUrl: 'https://mcp.example.com' }, integration: { integrationId: 'slack' } }[toolType]!;
    const tool = await defineTool(config, AnyArgs, toolType);
    const o = await runTool(tool.name, {});
    expect(o.isError).toBe(true);
    expect(out(o).error).toMatch(new RegExp(`is a ${toolType} tool, which cannot run on the server; run it in your own code`));
  });

  it('a stored definition that no longer validates fails its calls, not the load', async () => {
    const tool = await defineTool({ url: `${peer.base}/echo/legacy`, method: 'GET' });
    // As if saved before today's checks: written behind the API's back.
    await t.db.admin.query(`UPDATE agent_tools SET config = config || '{"timeoutMs": 600000}' WHERE id = $1`, [tool.id]);
    const o = await runTool(tool.name, {});
    expect(o.isError).toBe(true);
    expect(out(o).error).toMatch(/config\.timeoutMs/);
  });
});
