import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { client, counts, createAgent, lockVersion, ok, signupBuilder, type Body } from './fixtures.js';

/**
 * Every /v1/agents/{id}/… route takes the agent's slug as well as its id
 * (src/agents/agent-ref.ts). The table walks them all by slug, in an order
 * in which each write is allowed; then the same routes with a slug nobody
 * has (404, nothing written) and with a reference that is neither (400
 * naming the parameter). The run routes are in test/runtime/runs-by-slug.test.ts.
 */

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
let agent: Body;
const state: { stateId?: string } = {};

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
  agent = ok(await c.post('/v1/agents', owner.auth, { name: 'Ref Bot', slug: 'ref-bot', status: 'active' }), 201);
});
afterAll(async () => t?.close());

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
interface Route {
  name: string;
  method: Method;
  /** after /v1/agents/{ref} */
  path: () => string;
  body?: () => Promise<unknown> | unknown;
  status: number;
  /** what the answer says about which agent was used */
  check?: (b: Body) => void;
  /** the path parameter's name (for the 400 message) */
  param?: string;
}

// The agent's lock version while it lives; any valid number once it is deleted (those requests stop at the reference).
const current = async () => ((await c.get(`/v1/agents/${agent.id}`, owner.auth)).statusCode === 200 ? lockVersion(t, owner.auth, agent.id) : 1);
const sameAgent = (b: Body) => expect(b.agentId ?? b.id).toBe(agent.id);

const ROUTES: Route[] = [
  { name: 'read the agent', method: 'GET', path: () => '', status: 200, check: (b) => expect(b).toMatchObject({ id: agent.id, slug: 'ref-bot' }) },
  { name: 'change it', method: 'PATCH', path: () => '', body: async () => ({ version: await current(), description: 'by slug' }), status: 200, check: sameAgent },
  { name: 'list versions', method: 'GET', path: () => '/versions', status: 200, check: (b) => expect(b.data.map((v: Body) => v.agentId)).toEqual([agent.id]) },
  { name: 'publish', method: 'POST', path: () => '/versions', body: () => ({ version: '1.1.0' }), status: 201, check: sameAgent },
  { name: 'read a version', method: 'GET', path: () => '/versions/1.1.0', status: 200, check: (b) => expect(b.config.description).toBe('by slug') },
  { name: 'diff versions', method: 'GET', path: () => '/versions/1.0.0/diff/1.1.0', status: 200, check: (b) => expect(b.changes).toContainEqual({ field: 'description', from: null, to: 'by slug' }) },
  { name: 'roll back', method: 'POST', path: () => '/rollback', body: () => ({ version: '1.0.0' }), status: 200, check: (b) => expect(b).toMatchObject({ id: agent.id, currentVersion: '1.0.0' }) },
  { name: 'change status', method: 'POST', path: () => '/status', body: async () => ({ status: 'paused', version: await current() }), status: 200, check: (b) => expect(b).toMatchObject({ id: agent.id, status: 'paused' }) },
  {
    name: 'save a checkpoint', method: 'POST', path: () => '/states', body: () => ({ checkpointType: 'manual', stateData: { step: 1 } }), status: 201,
    check: (b) => {
      sameAgent(b);
      state.stateId = b.id;
    },
  },
  { name: 'list checkpoints', method: 'GET', path: () => '/states', status: 200, check: (b) => expect(b.data).toHaveLength(1) },
  { name: 'latest checkpoint', method: 'GET', path: () => '/states/latest', status: 200, check: (b) => expect(b.id).toBe(state.stateId) },
  { name: 'one checkpoint', method: 'GET', path: () => `/states/${state.stateId}`, status: 200, check: sameAgent },
  { name: 'restore a checkpoint', method: 'POST', path: () => `/states/${state.stateId}/restore`, status: 201, check: (b) => expect(b.restoredFromId).toBe(state.stateId) },
  { name: 'set a capability', method: 'PUT', path: () => '/capabilities/planning', body: () => ({ proficiency: 0.5 }), status: 201, check: sameAgent },
  { name: 'list capabilities', method: 'GET', path: () => '/capabilities', status: 200, check: (b) => expect(b.data.map((x: Body) => x.capability)).toEqual(['planning']) },
  { name: 'remove a capability', method: 'DELETE', path: () => '/capabilities/planning', status: 204 },
  { name: 'record metrics', method: 'POST', path: () => '/metrics', body: () => ({ metrics: [{ type: 'latency_ms', value: 12 }] }), status: 201, param: 'agentId' },
  { name: 'read metrics', method: 'GET', path: () => '/metrics', status: 200, param: 'agentId', check: (b) => expect(b.data.map((m: Body) => m.agentId)).toEqual([agent.id]) },
  { name: 'delete the agent', method: 'DELETE', path: () => '', status: 204 },
];

const send = async (r: Route, ref: string) => {
  const url = `/v1/agents/${ref}${r.path()}`;
  const body = r.body ? await r.body() : undefined;
  return r.method === 'GET' ? c.get(url, owner.auth)
    : r.method === 'POST' ? c.post(url, owner.auth, body)
      : r.method === 'PATCH' ? c.patch(url, owner.auth, body)
        : r.method === 'PUT' ? c.put(url, owner.auth, body)
          : c.del(url, owner.auth);
};

describe('every agent route by slug', () => {
  // In order: each write leaves the agent in the state the next route needs.
  it.each(ROUTES.map((r) => [r.name, r] as const))('%s', async (_name, r) => {
    const res = await send(r, 'ref-bot');
    expect(res.statusCode, res.body).toBe(r.status);
    if (r.check) r.check(res.json());
  });

  it('after the delete the slug names nothing, and a new agent may take it', async () => {
    expect(errorOf(await c.get('/v1/agents/ref-bot', owner.auth)).code).toBe('not_found');
    const again = await createAgent(t, owner.auth, { name: 'Ref Bot', slug: 'ref-bot' });
    expect(ok(await c.get('/v1/agents/ref-bot', owner.auth)).id).toBe(again.id);
  });
});

describe('references that name no agent, or are not references', () => {
  it.each(ROUTES.map((r) => [r.name, r] as const))('%s: an unknown slug is 404 not_found and writes nothing', async (_name, r) => {
    const before = await counts(t);
    const res = await send(r, 'no-such-agent');
    expect(res.statusCode, res.body).toBe(404);
    expect(errorOf(res)).toMatchObject({ code: 'not_found', message: 'agent no-such-agent does not exist' });
    expect(await counts(t)).toEqual(before);
  });

  it.each(ROUTES.map((r) => [r.name, r] as const))('%s: a malformed reference is 400 naming the parameter', async (_name, r) => {
    const before = await counts(t);
    const res = await send(r, 'Not_A_Slug');
    expect(res.statusCode, res.body).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe('validation_failed');
    expect(e.message).toBe(`params.${r.param ?? 'id'}: must be the agent's id (a UUID) or its slug (lower-case letters, digits and "-", such as trip-planner)`);
    expect(await counts(t)).toEqual(before);
  });
});

describe('what a reference means', () => {
  it('an id in capitals is still the id', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Caps' });
    expect(ok(await c.get(`/v1/agents/${a.id.toUpperCase()}`, owner.auth)).id).toBe(a.id);
  });

  it("a slug names this organization's agent: another organization's agent of the same slug is not reachable", async () => {
    const other = await signupBuilder(t);
    const mine = await createAgent(t, owner.auth, { name: 'Twin', slug: 'twin' });
    const theirs = await createAgent(t, other.auth, { name: 'Twin', slug: 'twin' });
    expect(ok(await c.get('/v1/agents/twin', owner.auth)).id).toBe(mine.id);
    expect(ok(await c.get('/v1/agents/twin', other.auth)).id).toBe(theirs.id);
    expect((await c.get(`/v1/agents/${theirs.id}`, owner.auth)).statusCode).toBe(404);
  });

  it('a slug never has the shape of a UUID: refused when sent, avoided when derived', async () => {
    const uuid = '0b7e5a6c-1111-4222-8333-944455556666';
    const res = await c.post('/v1/agents', owner.auth, { name: 'Looks Like An Id', slug: uuid });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/^body\.slug: must not have the shape of a UUID/);
    const a = await createAgent(t, owner.auth, { name: uuid });
    expect(a.slug).toBe(`agent-${uuid}`);
    expect(ok(await c.get(`/v1/agents/agent-${uuid}`, owner.auth)).id).toBe(a.id);
    const patch = await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: a.version, slug: uuid });
    expect(patch.statusCode).toBe(400);
  });
});
