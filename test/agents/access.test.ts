import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { client, counts, createAgent, createTool, joinAs, ok, publish, type Auth, signupBuilder } from './fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
// Tenant A's objects, which everyone else probes.
const A = { agentId: '', toolId: '', stateId: '' };

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
  const tool = await createTool(t, owner.auth, { name: 'a_tool' });
  const agent = await createAgent(t, owner.auth, { name: 'A agent', tools: [tool.id] });
  await publish(t, owner.auth, agent.id, '1.0.0');
  await publish(t, owner.auth, agent.id, '1.1.0');
  ok(await c.put(`/v1/agents/${agent.id}/capabilities/planning`, owner.auth, { proficiency: 0.5 }), 201);
  const state = ok(await c.post(`/v1/agents/${agent.id}/states`, owner.auth, { checkpointType: 'manual', stateData: { a: 1 } }), 201);
  Object.assign(A, { agentId: agent.id, toolId: tool.id, stateId: state.id });
});
afterAll(async () => t?.close());

type Call = [name: string, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: () => string, body?: unknown];

const READS: Call[] = [
  ['GET agent', 'GET', () => `/v1/agents/${A.agentId}`],
  ['GET versions', 'GET', () => `/v1/agents/${A.agentId}/versions`],
  ['GET version', 'GET', () => `/v1/agents/${A.agentId}/versions/1.0.0`],
  ['GET diff', 'GET', () => `/v1/agents/${A.agentId}/versions/1.0.0/diff/1.1.0`],
  ['GET tool', 'GET', () => `/v1/tools/${A.toolId}`],
  ['GET capabilities', 'GET', () => `/v1/agents/${A.agentId}/capabilities`],
  ['GET states', 'GET', () => `/v1/agents/${A.agentId}/states`],
  ['GET latest state', 'GET', () => `/v1/agents/${A.agentId}/states/latest`],
  ['GET state', 'GET', () => `/v1/agents/${A.agentId}/states/${A.stateId}`],
];

const WRITES: Call[] = [
  ['PATCH agent', 'PATCH', () => `/v1/agents/${A.agentId}`, { version: 3, description: 'hijacked' }],
  ['POST status', 'POST', () => `/v1/agents/${A.agentId}/status`, { status: 'active', version: 3 }],
  ['POST version', 'POST', () => `/v1/agents/${A.agentId}/versions`, { version: '9.0.0' }],
  ['POST rollback', 'POST', () => `/v1/agents/${A.agentId}/rollback`, { version: '1.0.0' }],
  ['PATCH tool', 'PATCH', () => `/v1/tools/${A.toolId}`, { version: 1, description: 'hijacked' }],
  ['PUT capability', 'PUT', () => `/v1/agents/${A.agentId}/capabilities/planning`, { proficiency: 1 }],
  ['DELETE capability', 'DELETE', () => `/v1/agents/${A.agentId}/capabilities/planning`],
  ['POST state', 'POST', () => `/v1/agents/${A.agentId}/states`, { checkpointType: 'manual', stateData: {} }],
  ['POST restore', 'POST', () => `/v1/agents/${A.agentId}/states/${A.stateId}/restore`],
  ['DELETE tool', 'DELETE', () => `/v1/tools/${A.toolId}`],
  ['DELETE agent', 'DELETE', () => `/v1/agents/${A.agentId}`],
];

const CREATES: Call[] = [
  ['POST agent', 'POST', () => '/v1/agents', { name: 'Viewer made' }],
  ['POST tool', 'POST', () => '/v1/tools', { name: 'viewer_tool', description: 'x', toolType: 'function', inputSchema: { type: 'object' } }],
];

const send = (auth: Auth, [, method, url, body]: Call) => t.app.inject({ method, url: url(), headers: auth, ...(body === undefined ? {} : { payload: body as object }) });

describe('another organization', () => {
  let other: SignedUp;
  beforeAll(async () => {
    other = await signupBuilder(t);
  });

  it.each([...READS, ...WRITES])("gets 404 for tenant A's ids: %s", async (...call) => {
    const before = await counts(t);
    const res = await send(other.auth, call);
    expect(res.statusCode, res.body).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
    expect(await counts(t)).toEqual(before);
  });

  it("does not see tenant A's agents or tools in lists", async () => {
    await createAgent(t, other.auth, { name: 'B agent' });
    expect(ok(await c.get('/v1/agents', other.auth)).data.map((a: { name: string }) => a.name)).toEqual(['B agent']);
    expect(ok(await c.get('/v1/tools', other.auth)).data).toEqual([]);
  });

  it("cannot reference tenant A's tool or restore tenant A's checkpoint into its own agent", async () => {
    const b = await createAgent(t, other.auth, { name: 'B borrower' });
    const tool = await c.patch(`/v1/agents/${b.id}`, other.auth, { version: 1, tools: [A.toolId] });
    expect(tool.statusCode).toBe(400);
    expect(errorOf(tool).details).toMatchObject({ unknown: [A.toolId] });
    const restore = await c.post(`/v1/agents/${b.id}/states/${A.stateId}/restore`, other.auth);
    expect(restore.statusCode).toBe(404);
  });

  it("left tenant A's data as it was", async () => {
    const agent = ok(await c.get(`/v1/agents/${A.agentId}`, owner.auth));
    expect(agent).toMatchObject({ description: null, status: 'draft', currentVersion: '1.1.0', version: 3 });
    expect(ok(await c.get(`/v1/tools/${A.toolId}`, owner.auth)).version).toBe(1);
    expect(ok(await c.get(`/v1/agents/${A.agentId}/capabilities`, owner.auth)).data[0].proficiency).toBe(0.5);
    expect(ok(await c.get(`/v1/agents/${A.agentId}/states`, owner.auth)).data).toHaveLength(1);
  });
});

describe('a viewer of the organization', () => {
  let viewer: Auth;
  beforeAll(async () => {
    viewer = (await joinAs(t, owner, 'viewer')).auth;
  });

  it.each(READS)('may read: %s', async (...call) => {
    const res = await send(viewer, call);
    expect(res.statusCode, res.body).toBe(200);
    const same = await send(owner.auth, call);
    expect(res.json()).toEqual(same.json());
  });

  it('may list agents and tools', async () => {
    expect(ok(await c.get('/v1/agents', viewer)).data.map((a: { id: string }) => a.id)).toContain(A.agentId);
    expect(ok(await c.get('/v1/tools', viewer)).data.map((x: { id: string }) => x.id)).toContain(A.toolId);
  });

  it.each([...WRITES, ...CREATES])('may not write (403): %s', async (...call) => {
    const before = await counts(t);
    const res = await send(viewer, call);
    expect(res.statusCode, res.body).toBe(403);
    expect(errorOf(res)).toMatchObject({ code: 'forbidden', details: { permission: 'agents:write' } });
    expect(await counts(t)).toEqual(before);
  });
});

describe('a member of the organization', () => {
  it('may build agents (member holds agents:write)', async () => {
    const member = (await joinAs(t, owner, 'member')).auth;
    const a = await createAgent(t, member, { name: 'Member made' });
    expect(ok(await c.get(`/v1/agents/${a.id}`, owner.auth)).name).toBe('Member made');
  });
});

describe('an API key limited to agents:read', () => {
  it('reads but cannot write', async () => {
    const key = ok(await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: owner.auth, payload: { name: 'reader', scopes: ['agents:read'] } }), 201).key as string;
    const auth = { authorization: `Bearer ${key}` };
    expect((await c.get(`/v1/agents/${A.agentId}`, auth)).statusCode).toBe(200);
    const res = await c.post('/v1/agents', auth, { name: 'Key made' });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
  });
});

describe('without a token', () => {
  it.each([...READS, ...WRITES, ...CREATES])('is refused (401): %s', async (...call) => {
    const res = await send({} as Auth, call);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('unauthenticated');
  });
});
