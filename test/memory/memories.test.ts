import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../src/jobs/index.js';
import { maintain } from '../../src/server.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { makeAgent } from '../runs/fixtures.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let agent: string;
let bAgent: string;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  agent = await makeAgent(t.app, a.auth, 'planner');
  bAgent = await makeAgent(t.app, b.auth, 'planner');
});
afterAll(async () => t?.close());

type Auth = { authorization: string };
const req = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', auth: Auth, url: string, payload?: unknown) =>
  t.app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload: payload as object }) });
const save = async (auth: Auth, body: Record<string, unknown>, ref = 'planner') => {
  const r = await req('POST', auth, `/v1/agents/${ref}/memories`, body);
  expect(r.statusCode, r.body).toBe(201);
  return r.json();
};
const search = async (auth: Auth, body: Record<string, unknown>, ref = 'planner') => {
  const r = await req('POST', auth, `/v1/agents/${ref}/memories/search`, body);
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as { items: { id: string; score: number; content: string }[]; mode: string; embeddingModel: string | null };
};
const count = async (orgId: string) =>
  t.db.tenant(orgId, async (sql) => (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_memories')).rows[0]!.n);

describe('saving and searching', () => {
  let seats: { id: string };

  it('saves a memory with every field and finds it by text, vector and hybrid at once', async () => {
    seats = await save(a.auth, {
      content: 'The user prefers window seats on long flights', memoryType: 'preference', importance: 0.9, tags: ['seating'],
      metadata: { source: 'chat' }, context: { topic: 'flights' }, sessionId: 'conv-1', relevanceDecay: 0.5,
    });
    expect(seats).toMatchObject({
      agentId: agent, memoryType: 'preference', importance: 0.9, tags: ['seating'], metadata: { source: 'chat' },
      context: { topic: 'flights' }, relevanceDecay: 0.5, accessCount: 0, supersededBy: null,
      embeddingModel: 'hashed-ngram-256', embeddingDims: 256, sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const r = await req('POST', a.auth, `/v1/agents/${agent}/memories/batch`, {
      items: [{ content: 'Budget is 2000 euros for the whole trip', memoryType: 'task' }, { content: 'Allergic to peanuts', memoryType: 'fact', importance: 1 }],
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().items).toHaveLength(2);
    for (const mode of ['hybrid', 'vector', 'text'] as const) {
      const s = await search(a.auth, { query: 'which seats does the user prefer on flights', mode });
      expect(s.mode).toBe(mode);
      expect(s.items[0]!.id, mode).toBe(seats.id);
      expect(s.items[0]!.score).toBeGreaterThan(0);
      expect(s.items[0]!.score).toBeLessThanOrEqual(1);
      expect(s.items[0]).not.toHaveProperty('vectorRank');
    }
  });

  it('explains the ranking on request', async () => {
    const s = await search(a.auth, { query: 'window seats', explain: true });
    expect(s.items[0]).toMatchObject({
      id: seats.id, vectorRank: 1, textRank: 1, similarity: expect.any(Number), textScore: expect.any(Number),
      importanceFactor: expect.closeTo((0.5 + 0.9) / 1.5, 5), recencyFactor: expect.any(Number),
    });
  });

  it('filters by type, tags, importance, session and time', async () => {
    const ids = async (body: Record<string, unknown>) => (await search(a.auth, { query: 'seats budget peanuts trip user', ...body })).items.map((i) => i.content);
    expect(await ids({ memoryTypes: ['fact'] })).toEqual(['Allergic to peanuts']);
    expect(await ids({ tags: ['seating'] })).toEqual(['The user prefers window seats on long flights']);
    expect(await ids({ minImportance: 0.95 })).toEqual(['Allergic to peanuts']);
    expect(await ids({ sessionId: 'conv-1' })).toEqual(['The user prefers window seats on long flights']);
    expect(await ids({ sessionId: 'no-such-session' })).toEqual([]);
    expect(await ids({ to: '2000-01-01T00:00:00Z' })).toEqual([]);
  });

  it('counts accesses off the search path', async () => {
    await search(a.auth, { query: 'peanuts', mode: 'text' });
    await t.service.memory.access.flush();
    const r = await req('GET', a.auth, `/v1/agents/planner/memories?memoryType=fact`);
    expect(r.json().data[0]).toMatchObject({ content: 'Allergic to peanuts', accessCount: expect.any(Number) });
    expect(r.json().data[0].accessCount).toBeGreaterThanOrEqual(1);
    expect(r.json().data[0].lastAccessedAt).not.toBeNull();
  });

  it('ranks a more recent memory above an equal older one', async () => {
    const old = await save(a.auth, { content: 'Meeting room is Aquarium', occurredAt: new Date(Date.now() - 120 * 86_400_000).toISOString() });
    const recent = await save(a.auth, { content: 'Meeting room is Aquarium' });
    const s = await search(a.auth, { query: 'meeting room', mode: 'text' });
    expect(s.items.slice(0, 2).map((i) => i.id)).toEqual([recent.id, old.id]);
  });

  it('never returns expired memories, and maintenance purges them', async () => {
    const gone = await save(a.auth, { content: 'Temporary code 4711 for the lounge', expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect((await search(a.auth, { query: 'lounge code 4711' })).items.map((i) => i.id)).not.toContain(gone.id);
    expect((await req('GET', a.auth, `/v1/agents/planner/memories/${gone.id}`)).statusCode).toBe(200);
    const m = await maintain(t.db);
    expect(m.memoriesPurged).toBe(1);
    expect((await req('GET', a.auth, `/v1/agents/planner/memories/${gone.id}`)).statusCode).toBe(404);
  });

  it('writes an audit row per change, never the content', async () => {
    const rows = await t.db.tenant(a.orgId, async (sql) =>
      (await sql.query<{ action: string; v: string }>(`SELECT action, new_values::text AS v FROM audit_logs WHERE resource_type = 'agent_memory' ORDER BY seq`)).rows);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['memory.created', 'memory.batch_created']));
    expect(rows.some((r) => r.v?.includes('window seats'))).toBe(false);
  });
});

describe('changing and deleting', () => {
  it('a new content supersedes: the new memory replaces the old in search, the old is kept and linked', async () => {
    const old = await save(a.auth, { content: 'Home airport is Berlin Tegel', memoryType: 'fact', tags: ['home'] });
    const r = await req('PATCH', a.auth, `/v1/agents/planner/memories/${old.id}`, { content: 'Home airport is Berlin Brandenburg' });
    expect(r.statusCode, r.body).toBe(200);
    const now = r.json();
    expect(now.id).not.toBe(old.id);
    expect(now).toMatchObject({ content: 'Home airport is Berlin Brandenburg', memoryType: 'fact', tags: ['home'] });
    const s = await search(a.auth, { query: 'home airport Berlin' });
    expect(s.items.map((i) => i.id)).toContain(now.id);
    expect(s.items.map((i) => i.id)).not.toContain(old.id);
    const before = await req('GET', a.auth, `/v1/agents/planner/memories/${old.id}`);
    expect(before.json()).toMatchObject({ content: 'Home airport is Berlin Tegel', supersededBy: now.id, supersededAt: expect.any(String) });
    const list = async (q = '') => (await req('GET', a.auth, `/v1/agents/planner/memories?tag=home${q}`)).json().data.map((x: { id: string }) => x.id);
    expect(await list()).toEqual([now.id]);
    expect(await list('&includeSuperseded=true')).toEqual([now.id, old.id]);
    const again = await req('PATCH', a.auth, `/v1/agents/planner/memories/${old.id}`, { importance: 1 });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).code).toBe('conflict');
  });

  it('other fields change in place', async () => {
    const m = await save(a.auth, { content: 'Prefers aisle in short hops' });
    const r = await req('PATCH', a.auth, `/v1/agents/planner/memories/${m.id}`, { importance: 0.2, tags: ['x'], memoryType: 'preference', expiresAt: null });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ id: m.id, importance: expect.closeTo(0.2, 5), tags: ['x'], memoryType: 'preference' });
  });

  it('deletes', async () => {
    const m = await save(a.auth, { content: 'to be forgotten' });
    expect((await req('DELETE', a.auth, `/v1/agents/planner/memories/${m.id}`)).statusCode).toBe(204);
    expect((await req('GET', a.auth, `/v1/agents/planner/memories/${m.id}`)).statusCode).toBe(404);
    expect((await req('DELETE', a.auth, `/v1/agents/planner/memories/${m.id}`)).statusCode).toBe(404);
  });

  it('pages the list with a cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await req('GET', a.auth, `/v1/agents/planner/memories?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.statusCode, r.body).toBe(200);
      seen.push(...r.json().data.map((x: { id: string }) => x.id));
      cursor = r.json().nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(5);
  });
});

describe('bad input', () => {
  const bad = async (method: 'POST' | 'PATCH' | 'GET', url: string, payload: unknown, status = 400) => {
    const before = await count(a.orgId);
    const r = await req(method, a.auth, url, payload);
    expect(r.statusCode, `${url} ${JSON.stringify(payload)?.slice(0, 80)} → ${r.body}`).toBe(status);
    expect(errorOf(r).code).toMatch(/^(validation_failed|bad_request|not_found|json_too_deep|payload_too_large)$/);
    expect(await count(a.orgId)).toBe(before);
    return errorOf(r);
  };

  it('refuses bad memories and leaves nothing written', async () => {
    const url = '/v1/agents/planner/memories';
    await bad('POST', url, { content: '' });
    await bad('POST', url, { content: '   ' });
    await bad('POST', url, { content: 'x'.repeat(32_769) });
    await bad('POST', url, { content: 'x', memoryType: 'dream' });
    await bad('POST', url, { content: 'x', importance: 1.5 });
    await bad('POST', url, { content: 'x', importance: '0.5' });
    await bad('POST', url, { content: 'x', tags: ['a,b'] });
    await bad('POST', url, { content: 'x', occurredAt: 'yesterday' });
    await bad('POST', url, { content: 'x', surprise: true });
    await bad('POST', url, { content: 'x\u0000y' });
    await bad('POST', '/v1/agents/nobody/memories', { content: 'x' }, 404);
    await bad('POST', `/v1/agents/${bAgent}/memories`, { content: 'x' }, 404);
  });

  it('a batch is all or nothing', async () => {
    const e = await bad('POST', '/v1/agents/planner/memories/batch', { items: [{ content: 'fine' }, { content: '' }] });
    expect(JSON.stringify(e.details)).toContain('items');
    await bad('POST', '/v1/agents/planner/memories/batch', { items: [] });
    await bad('POST', '/v1/agents/planner/memories/batch', { items: Array.from({ length: 1001 }, () => ({ content: 'x' })) });
  });

  it('refuses bad searches', async () => {
    const url = '/v1/agents/planner/memories/search';
    await bad('POST', url, { query: '' });
    await bad('POST', url, { query: 'x', mode: 'fuzzy' });
    await bad('POST', url, { query: 'x', limit: 0 });
    await bad('POST', url, { query: 'x', limit: 101 });
    await bad('POST', url, { query: 'x', memoryTypes: ['dream'] });
    await bad('POST', url, { query: 'x', from: 'now' });
    await bad('POST', `/v1/agents/${bAgent}/memories/search`, { query: 'x' }, 404);
  });

  it('refuses bad ids, patches and cursors', async () => {
    await bad('GET', '/v1/agents/planner/memories/not-a-uuid', undefined);
    await bad('GET', `/v1/agents/planner/memories/${crypto.randomUUID()}`, undefined, 404);
    await bad('PATCH', `/v1/agents/planner/memories/${crypto.randomUUID()}`, {});
    await bad('PATCH', `/v1/agents/planner/memories/${crypto.randomUUID()}`, { importance: 0.1 }, 404);
    await bad('GET', '/v1/agents/planner/memories?cursor=garbage', undefined);
    await bad('GET', '/v1/agents/planner/memories?memoryType=dream', undefined);
  });
});

describe('tenancy', () => {
  it("another organization sees none of an agent's memories, by id, list or search", async () => {
    const mine = await save(a.auth, { content: 'secret itinerary to Reykjavik' });
    expect((await req('GET', b.auth, `/v1/agents/${agent}/memories/${mine.id}`)).statusCode).toBe(404);
    expect((await req('GET', b.auth, `/v1/agents/planner/memories/${mine.id}`)).statusCode).toBe(404);
    expect((await req('DELETE', b.auth, `/v1/agents/planner/memories/${mine.id}`)).statusCode).toBe(404);
    expect((await req('PATCH', b.auth, `/v1/agents/planner/memories/${mine.id}`, { content: 'hijacked' })).statusCode).toBe(404);
    expect((await search(b.auth, { query: 'Reykjavik itinerary' })).items).toEqual([]);
    expect((await req('GET', b.auth, `/v1/agents/planner/memories`)).json().data).toEqual([]);
    expect((await req('GET', a.auth, `/v1/agents/planner/memories/${mine.id}`)).statusCode).toBe(200);
  });
});

describe('embedders and spaces', () => {
  it('a new embedder starts a new space; re-embedding moves old memories into it, with progress', async () => {
    const c = await save(a.auth, { content: 'Frequent flyer number is LH-99887' }, 'planner');
    const put = await req('PUT', a.auth, `/v1/agents/planner/memory/config`, { embedder: 'hashed', embeddingDims: 64, recencyHalfLifeDays: 7 });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ vectors: true, stored: { embedder: 'hashed', embeddingDims: 64 }, effective: { embedder: { embedder: 'hashed', dims: 64 }, recencyHalfLifeDays: 7 } });
    // Old memories are found by text until re-embedded, not by vector.
    let v = await search(a.auth, { query: 'Frequent flyer number LH-99887', mode: 'vector' });
    expect(v.embeddingModel).toBe('hashed-ngram-64');
    expect(v.items.map((i) => i.id)).not.toContain(c.id);
    const before = (await req('GET', a.auth, `/v1/agents/planner/memories/reembed`)).json();
    expect(before).toMatchObject({ embeddingModel: 'hashed-ngram-64', embeddingDims: 64, embedded: 0 });
    expect(before.remaining).toBe(before.total);
    const start = await req('POST', a.auth, `/v1/agents/planner/memories/reembed`);
    expect(start.statusCode, start.body).toBe(202);
    expect(start.json().jobId).toMatch(/^[0-9a-f-]{36}$/);
    const worker = new Worker({ db: t.db, handlers: t.service.jobHandlers, pollIntervalMs: 20, prefetch: 0, concurrency: 1 });
    worker.start();
    try {
      await until(async () => (await req('GET', a.auth, `/v1/agents/planner/memories/reembed`)).json().remaining === 0, 're-embedding');
    } finally {
      await worker.stop();
    }
    v = await search(a.auth, { query: 'Frequent flyer number LH-99887', mode: 'vector' });
    expect(v.items[0]!.id).toBe(c.id);
    // The org's setting is untouched; another agent keeps the service default.
    expect((await req('GET', a.auth, `/v1/memory/config`)).json()).toMatchObject({ stored: null, effective: { embedder: { embedder: 'hashed' } } });
  });

  it('refuses configs that name no usable embedder', async () => {
    for (const body of [{ embedder: 'openai' }, { embedder: 'hashed', baseUrl: 'https://x.example/v1' }, { embedder: 'bundled', embeddingDims: 300 }, { embeddingDims: 12 }, { embedder: 'magic' }, { recencyHalfLifeDays: 0 }]) {
      const r = await req('PUT', a.auth, `/v1/memory/config`, body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
    }
  });
});

describe('without pgvector', () => {
  let t2: TestApp;
  let c: SignedUp;
  beforeAll(async () => {
    t2 = await createTestApp({ AGENTBASE_MEMORY_VECTORS: 'off' });
    c = await signupUser(t2.app);
    await makeAgent(t2.app, c.auth, 'bot');
  });
  afterAll(async () => t2?.close());

  it('stores and searches by text, answers vector mode 409 saying how to install it, and /health says so', async () => {
    const r = await t2.app.inject({ method: 'POST', url: '/v1/agents/bot/memories', headers: c.auth, payload: { content: 'Likes jazz concerts' } });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ embeddingModel: null, embeddingDims: null });
    const s = await t2.app.inject({ method: 'POST', url: '/v1/agents/bot/memories/search', headers: c.auth, payload: { query: 'jazz' } });
    expect(s.json()).toMatchObject({ mode: 'text', embeddingModel: null, items: [{ content: 'Likes jazz concerts' }] });
    const v = await t2.app.inject({ method: 'POST', url: '/v1/agents/bot/memories/search', headers: c.auth, payload: { query: 'jazz', mode: 'vector' } });
    expect(v.statusCode).toBe(409);
    expect(errorOf(v)).toMatchObject({ code: 'vector_unavailable', message: expect.stringContaining('pgvector') });
    const h = await t2.app.inject({ method: 'GET', url: '/health' });
    expect(h.json()).toMatchObject({ status: 'ready', capabilities: { vectorSearch: false } });
    expect((await t.app.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({ capabilities: { vectorSearch: true } });
  });
});
