import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { signupBuilder } from '../agents/fixtures.js';
import { VECTOR_UNAVAILABLE_HINT } from '../../src/memory/index.js';
import { client, createAgent, createItem, memoriesOf, ok, type Body } from './knowledge-fixtures.js';

/** The same routes where there are no vectors (AGENTBASE_MEMORY_VECTORS=off), and where the org embeds nothing. */

const SETUPS: { name: string; env: Record<string, string>; message: string }[] = [
  { name: 'vectors off', env: { AGENTBASE_MEMORY_VECTORS: 'off' }, message: VECTOR_UNAVAILABLE_HINT },
  { name: 'embedder none', env: { AGENTBASE_MEMORY_EMBEDDER: 'none' }, message: 'embeds nothing' },
];

describe.each(SETUPS)('$name', ({ env, message }) => {
  let t: TestApp;
  let owner: SignedUp;
  let c: ReturnType<typeof client>;
  let source: Body;
  let target: Body;

  beforeAll(async () => {
    t = await createTestApp(env);
    owner = await signupBuilder(t);
    c = client(t);
    source = await createAgent(t, owner.auth, { name: 'Source' });
    target = await createAgent(t, owner.auth, { name: 'Target' });
  });
  afterAll(async () => t?.close());

  it('stores items without an embedding and updates them', async () => {
    expect(t.service.memory.vectors).toBe(env.AGENTBASE_MEMORY_VECTORS !== 'off');
    const item = await createItem(t, owner.auth, source.id, { content: { title: 'Lisbon trams', description: 'Tram 28 is crowded by ten.' } });
    expect(item).toMatchObject({ embeddingModel: null, embeddingDims: null, embeddedAt: null });
    const after = ok(await c.patch(`/v1/knowledge/${item.id}`, owner.auth, { version: 1, content: { title: 'Lisbon trams and funiculars' } }));
    expect(after).toMatchObject({ version: 2, embeddingModel: null, content: { title: 'Lisbon trams and funiculars' } });
  });

  it('searches by text; hybrid runs as text; vector is 409 vector_unavailable', async () => {
    const item = await createItem(t, owner.auth, source.id, { content: { title: 'Porto wine cellars', description: 'Cellars in Gaia offer tastings.' } });
    const text = ok(await c.post('/v1/knowledge/search', owner.auth, { query: 'porto cellars', mode: 'text' }));
    expect(text.items.map((i: Body) => i.id)).toEqual([item.id]);
    const hybrid = ok(await c.post('/v1/knowledge/search', owner.auth, { query: 'porto cellars', explain: true }));
    expect(hybrid).toMatchObject({ mode: 'text', space: null });
    expect(hybrid.items.map((i: Body) => i.id)).toEqual([item.id]);
    expect(hybrid.items[0].explain).toMatchObject({ textRank: 1, vectorRank: null, vectorDistance: null });
    const res = await c.post('/v1/knowledge/search', owner.auth, { query: 'porto cellars', mode: 'vector' });
    expect(res.statusCode).toBe(409);
    const err = errorOf(res);
    expect(err.code).toBe('vector_unavailable');
    expect(err.message).toContain(message);
  });

  it('transfers into memory without a vector', async () => {
    const item = await createItem(t, owner.auth, source.id, { content: { title: 'Sintra by train', description: 'Trains leave Rossio every 20 minutes.' } });
    const res = ok(await c.post(`/v1/knowledge/${item.id}/transfers`, owner.auth, { targetAgentId: target.id }), 201);
    expect(res.success).toBe(true);
    const [mem] = (await memoriesOf(t, target.id)).filter((x) => x.knowledge_id === item.id);
    expect(mem).toMatchObject({ id: res.memoryId, content: 'Sintra by train\n\nTrains leave Rossio every 20 minutes.', embedding_model: null, has_embedding: false });
  });
});
