import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { joinAs, signupBuilder, type Auth } from '../agents/fixtures.js';
import { client, createAgent, createItem, ok, type Body } from './knowledge-fixtures.js';

let t: TestApp;
let owner: SignedUp;
let intruder: SignedUp;
let c: ReturnType<typeof client>;
// Tenant A's objects, which everyone else probes.
const A = { agentId: '', targetId: '', itemId: '', transferId: '' };
let B = { agentId: '', itemId: '' };

const TABLES = ['knowledge_items', 'knowledge_transfers', 'knowledge_metrics', 'agent_memories'] as const;
async function snapshotOf(orgId: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const table of TABLES) {
    // Search hits are written after the answer, off the request path: one from an
    // earlier search may land at any moment, so they are not part of "nothing written".
    const hits = table === 'knowledge_metrics' ? ` AND event <> 'search_hit'` : '';
    out[table] = (await t.db.admin.query(`SELECT * FROM ${table} WHERE org_id = $1${hits} ORDER BY id`, [orgId])).rows.map((r) => JSON.stringify(r));
  }
  return out;
}

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  intruder = await signupBuilder(t);
  c = client(t);
  A.agentId = (await createAgent(t, owner.auth, { name: 'A source', slug: 'shared-slug' })).id;
  A.targetId = (await createAgent(t, owner.auth, { name: 'A target' })).id;
  const item = await createItem(t, owner.auth, A.agentId, { content: { title: 'Secret itinerary of tenant A' } });
  A.itemId = item.id;
  A.transferId = ok(await c.post(`/v1/knowledge/${item.id}/transfers`, owner.auth, { targetAgentId: A.targetId }), 201).id;
  // B has an agent with the same slug and an item of its own.
  const bAgent = await createAgent(t, intruder.auth, { name: 'B source', slug: 'shared-slug' });
  B = { agentId: bAgent.id, itemId: (await createItem(t, intruder.auth, bAgent.id, { content: { title: 'Itinerary of tenant B' } })).id };
});
afterAll(async () => t?.close());

type Call = [name: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: () => string, body?: () => unknown];
const send = (auth: Auth | undefined, [, method, url, body]: Call) =>
  t.app.inject({ method, url: url(), headers: auth ?? {}, ...(body === undefined ? {} : { payload: body() as object }) });

const NOT_FOUND: Call[] = [
  ['GET item', 'GET', () => `/v1/knowledge/${A.itemId}`],
  ['PATCH item', 'PATCH', () => `/v1/knowledge/${A.itemId}`, () => ({ version: 1, domain: 'hijacked' })],
  ['DELETE item', 'DELETE', () => `/v1/knowledge/${A.itemId}`],
  ['GET item transfers', 'GET', () => `/v1/knowledge/${A.itemId}/transfers`],
  ['GET item metrics', 'GET', () => `/v1/knowledge/${A.itemId}/metrics`],
  ["POST transfer of A's item to B's agent", 'POST', () => `/v1/knowledge/${A.itemId}/transfers`, () => ({ targetAgentId: B.agentId })],
  ["POST transfer of B's item to A's agent", 'POST', () => `/v1/knowledge/${B.itemId}/transfers`, () => ({ targetAgentId: A.targetId })],
  ["POST item with A's agent as source", 'POST', () => '/v1/knowledge', () => ({ domain: 'x', content: { title: 'x' }, sourceAgentId: A.agentId })],
  ["GET items by A's agent", 'GET', () => `/v1/knowledge?sourceAgentId=${A.agentId}`],
  ["GET transfers to A's agent", 'GET', () => `/v1/knowledge-transfers?targetAgentId=${A.targetId}`],
  ["GET transfers from A's agent", 'GET', () => `/v1/knowledge-transfers?sourceAgentId=${A.agentId}`],
];

describe('another organization', () => {
  it.each(NOT_FOUND)('%s is 404 and changes nothing', async (...call) => {
    const before = await snapshotOf(owner.orgId);
    const res = await send(intruder.auth, call);
    expect(res.statusCode, res.body).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
    expect(await snapshotOf(owner.orgId)).toEqual(before);
  });

  it("lists and searches only its own: A's items and transfers never show", async () => {
    const items = ok(await c.get('/v1/knowledge', intruder.auth)).data.map((i: Body) => i.id);
    expect(items).toEqual([B.itemId]);
    // A slug names the caller's own agent, never A's.
    expect(ok(await c.get('/v1/knowledge?sourceAgentId=shared-slug', intruder.auth)).data.map((i: Body) => i.id)).toEqual([B.itemId]);
    expect(ok(await c.get('/v1/knowledge-transfers', intruder.auth)).data).toEqual([]);
    for (const mode of ['text', 'hybrid', 'vector']) {
      const found = ok(await c.post('/v1/knowledge/search', intruder.auth, { query: 'itinerary of tenant', mode, limit: 100 }));
      expect(found.items.map((i: Body) => i.id)).toEqual([B.itemId]);
    }
  });

  it("left A's item readable and unchanged for A", async () => {
    expect(ok(await c.get(`/v1/knowledge/${A.itemId}`, owner.auth))).toMatchObject({ version: 1, domain: 'travel' });
    expect(ok(await c.get(`/v1/knowledge/${A.itemId}/transfers`, owner.auth)).data.map((x: Body) => x.id)).toEqual([A.transferId]);
  });
});

const ROUTES: Call[] = [
  ['POST item', 'POST', () => '/v1/knowledge', () => ({ domain: 'x', content: { title: 'x' }, sourceAgentId: A.agentId })],
  ['GET items', 'GET', () => '/v1/knowledge'],
  ['GET item', 'GET', () => `/v1/knowledge/${A.itemId}`],
  ['PATCH item', 'PATCH', () => `/v1/knowledge/${A.itemId}`, () => ({ version: 1, domain: 'changed' })],
  ['DELETE item', 'DELETE', () => `/v1/knowledge/${A.itemId}`],
  ['POST search', 'POST', () => '/v1/knowledge/search', () => ({ query: 'itinerary' })],
  ['POST transfer', 'POST', () => `/v1/knowledge/${A.itemId}/transfers`, () => ({ targetAgentId: A.targetId })],
  ['GET item transfers', 'GET', () => `/v1/knowledge/${A.itemId}/transfers`],
  ['GET transfers', 'GET', () => '/v1/knowledge-transfers'],
  ['GET item metrics', 'GET', () => `/v1/knowledge/${A.itemId}/metrics`],
];
const WRITES = new Set(['POST item', 'PATCH item', 'DELETE item', 'POST transfer']);

describe('permissions', () => {
  let viewer: Auth;
  beforeAll(async () => {
    viewer = (await joinAs(t, owner, 'viewer')).auth;
  });

  it.each(ROUTES)('%s: a viewer reads (memory:read) but cannot write (memory:write)', async (...call) => {
    const before = await snapshotOf(owner.orgId);
    const res = await send(viewer, call);
    if (WRITES.has(call[0])) {
      expect(res.statusCode, res.body).toBe(403);
      expect(errorOf(res)).toMatchObject({ code: 'forbidden', details: { permission: 'memory:write' } });
      expect(await snapshotOf(owner.orgId)).toEqual(before);
    } else {
      expect(res.statusCode, res.body).toBe(200);
    }
  });

  it.each(ROUTES)('%s: without credentials is 401', async (...call) => {
    const res = await send(undefined, call);
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('unauthenticated');
  });
});
