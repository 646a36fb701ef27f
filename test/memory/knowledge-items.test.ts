import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { signupBuilder } from '../agents/fixtures.js';
import { auditActions, client, createAgent, createItem, ok, type Body } from './knowledge-fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
let agent: Body;
let other: Body;

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
  agent = await createAgent(t, owner.auth, { name: 'Visa Expert', slug: 'visa-expert' });
  other = await createAgent(t, owner.auth, { name: 'Hotel Scout', slug: 'hotel-scout' });
});
afterAll(async () => t?.close());

const embeddingOf = async (id: string) =>
  (await t.db.admin.query<{ e: string | null; model: string | null; dims: number | null }>(
    `SELECT embedding::text AS e, embedding_model AS model, embedding_dims AS dims FROM knowledge_items WHERE id = $1`, [id],
  )).rows[0]!;

describe('create and read', () => {
  it('creates an item (source agent by id), embeds its title and description, and audits it', async () => {
    const item = await createItem(t, owner.auth, agent.id, { confidence: 0.85, tags: ['japan', 'visa', 'japan'] });
    expect(item).toMatchObject({
      domain: 'travel',
      content: { title: 'Visa rules for Japan' },
      sourceAgentId: agent.id,
      confidence: 0.85,
      tags: ['japan', 'visa'],
      version: 1,
      createdBy: owner.userId,
      embeddingModel: 'hashed-ngram-256',
      embeddingDims: 256,
    });
    expect(item.embeddedAt).toEqual(expect.any(String));
    expect(item).not.toHaveProperty('embedding');
    const e = await embeddingOf(item.id);
    expect(e.model).toBe('hashed-ngram-256');
    expect(e.e).toMatch(/^\[/);
    expect(await auditActions(t, owner.orgId, item.id)).toEqual(['knowledge.created']);
    // The space's HNSW index was made before the first write in it.
    const idx = await t.db.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'knowledge_items' AND indexname LIKE 'knowledge_items_hnsw_%'`,
    );
    expect(idx.rows[0]!.n).toBe(1);
  });

  it('takes the source agent by slug, keeps extra content fields, and defaults confidence and tags', async () => {
    const item = await createItem(t, owner.auth, 'visa-expert', {
      content: { title: 'Rail passes', description: 'A JR pass pays off after two long trips.', source: { url: 'https://example.com' }, rank: [1, 2] },
    });
    expect(item.sourceAgentId).toBe(agent.id);
    expect(item.content).toEqual({ title: 'Rail passes', description: 'A JR pass pays off after two long trips.', source: { url: 'https://example.com' }, rank: [1, 2] });
    expect(item.confidence).toBeNull();
    expect(item.tags).toEqual([]);
  });

  it('reads an item and counts the read', async () => {
    const item = await createItem(t, owner.auth, agent.id);
    expect(ok(await c.get(`/v1/knowledge/${item.id}`, owner.auth))).toEqual(item);
    ok(await c.get(`/v1/knowledge/${item.id}`, owner.auth));
    const r = await t.db.admin.query<{ n: number }>(
      `SELECT sum(count)::int AS n FROM knowledge_metrics WHERE knowledge_id = $1 AND event = 'read'`, [item.id],
    );
    expect(r.rows[0]!.n).toBe(2);
  });

  it('answers 404 for an unknown item or agent', async () => {
    const res = await c.get('/v1/knowledge/0190a8e4-0000-7000-8000-000000000000', owner.auth);
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
    const bad = await c.post('/v1/knowledge', owner.auth, { domain: 'x', content: { title: 'x' }, sourceAgentId: 'no-such-agent' });
    expect(bad.statusCode).toBe(404);
    expect(errorOf(bad).code).toBe('not_found');
  });
});

describe('list', () => {
  let org: SignedUp;
  let a: Body;
  let b: Body;
  const made: Body[] = [];

  beforeAll(async () => {
    org = await signupBuilder(t);
    a = await createAgent(t, org.auth, { name: 'A', slug: 'agent-a' });
    b = await createAgent(t, org.auth, { name: 'B', slug: 'agent-b' });
    made.push(await createItem(t, org.auth, a.id, { domain: 'travel', tags: ['asia'], confidence: 0.9 }));
    made.push(await createItem(t, org.auth, a.id, { domain: 'travel', tags: ['europe'], confidence: 0.4 }));
    made.push(await createItem(t, org.auth, b.id, { domain: 'food', tags: ['asia', 'ramen'] }));
    made.push(await createItem(t, org.auth, b.id, { domain: 'food', tags: ['europe'], confidence: 0.7 }));
    made.push(await createItem(t, org.auth, a.id, { domain: 'travel', confidence: 1 }));
  });

  const ids = (b: Body) => b.data.map((i: Body) => i.id);

  it('lists newest first and pages with a cursor', async () => {
    const all = [...made].reverse().map((i) => i.id);
    expect(ids(ok(await c.get('/v1/knowledge', org.auth)))).toEqual(all);
    const seen: string[] = [];
    let url = '/v1/knowledge?limit=2';
    for (;;) {
      const p = ok(await c.get(url, org.auth));
      expect(p.data.length).toBeLessThanOrEqual(2);
      seen.push(...ids(p));
      if (!p.nextCursor) break;
      url = `/v1/knowledge?limit=2&cursor=${p.nextCursor}`;
    }
    expect(seen).toEqual(all);
  });

  it('filters by domain, tag, source agent (id or slug) and minimum confidence', async () => {
    const q = async (qs: string) => ids(ok(await c.get(`/v1/knowledge?${qs}`, org.auth))).sort();
    const pick = (...n: number[]) => n.map((i) => made[i]!.id).sort();
    expect(await q('domain=food')).toEqual(pick(2, 3));
    expect(await q('tag=asia')).toEqual(pick(0, 2));
    expect(await q(`sourceAgentId=${b.id}`)).toEqual(pick(2, 3));
    expect(await q('sourceAgentId=agent-a')).toEqual(pick(0, 1, 4));
    expect(await q('minConfidence=0.7')).toEqual(pick(0, 3, 4));
    expect(await q('domain=travel&tag=europe&minConfidence=0.3')).toEqual(pick(1));
    expect(await q('domain=nothing')).toEqual([]);
  });

  it('answers 404 for a source agent filter naming no agent', async () => {
    const res = await c.get('/v1/knowledge?sourceAgentId=nobody', org.auth);
    expect(res.statusCode).toBe(404);
  });
});

describe('update (optimistic lock)', () => {
  it('bumps the version, replaces fields, re-embeds changed text and audits', async () => {
    const item = await createItem(t, owner.auth, agent.id, { confidence: 0.5, tags: ['a'] });
    const before = await embeddingOf(item.id);
    const after = ok(await c.patch(`/v1/knowledge/${item.id}`, owner.auth, {
      version: 1,
      domain: 'immigration',
      content: { title: 'Visa rules for Korea', description: 'K-ETA is needed for visa-free entry.' },
      confidence: null,
      tags: ['korea'],
    }));
    expect(after).toMatchObject({
      version: 2, domain: 'immigration', confidence: null, tags: ['korea'],
      content: { title: 'Visa rules for Korea', description: 'K-ETA is needed for visa-free entry.' },
    });
    expect(new Date(after.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(item.updatedAt).getTime());
    const e = await embeddingOf(item.id);
    expect(e.e).not.toBe(before.e);
    expect(await auditActions(t, owner.orgId, item.id)).toEqual(['knowledge.created', 'knowledge.updated']);
    // Unchanged text keeps its vector.
    const same = ok(await c.patch(`/v1/knowledge/${item.id}`, owner.auth, { version: 2, content: { ...after.content, extra: 1 } }));
    expect(same.version).toBe(3);
    expect((await embeddingOf(item.id)).e).toBe(e.e);
    expect(same.embeddedAt).toBe(after.embeddedAt);
    // An empty patch is still a new version.
    expect(ok(await c.patch(`/v1/knowledge/${item.id}`, owner.auth, { version: 3 })).version).toBe(4);
  });

  it('clears the vector of changed text when there is nothing to embed it with, and embeds again once there is', async () => {
    const item = await createItem(t, owner.auth, agent.id);
    const m = t.service.memory;
    const original = m.embedderFor;
    m.embedderFor = async () => null;
    let after: Body;
    try {
      after = ok(await c.patch(`/v1/knowledge/${item.id}`, owner.auth, { version: 1, content: { title: 'Something else entirely' } }));
    } finally {
      m.embedderFor = original;
    }
    expect(after).toMatchObject({ version: 2, embeddingModel: null, embeddingDims: null, embeddedAt: null });
    expect(await embeddingOf(item.id)).toEqual({ e: null, model: null, dims: null });
    // The same text, now with an embedder: not in the space yet, so it is embedded.
    const again = ok(await c.patch(`/v1/knowledge/${item.id}`, owner.auth, { version: 2, content: { title: 'Something else entirely' } }));
    expect(again).toMatchObject({ version: 3, embeddingModel: 'hashed-ngram-256', embeddingDims: 256 });
    expect((await embeddingOf(item.id)).e).toMatch(/^\[/);
  });

  it('refuses a stale version with 409 version_conflict naming the current one, changing nothing', async () => {
    const item = await createItem(t, owner.auth, agent.id);
    ok(await c.patch(`/v1/knowledge/${item.id}`, owner.auth, { version: 1, domain: 'first' }));
    const res = await c.patch(`/v1/knowledge/${item.id}`, owner.auth, { version: 1, domain: 'second' });
    expect(res.statusCode).toBe(409);
    const err = errorOf(res);
    expect(err.code).toBe('version_conflict');
    expect(err.details).toEqual({ expectedVersion: 1, currentVersion: 2 });
    expect(err.message).toContain('version 2');
    expect(ok(await c.get(`/v1/knowledge/${item.id}`, owner.auth)).domain).toBe('first');
    expect(await auditActions(t, owner.orgId, item.id)).toEqual(['knowledge.created', 'knowledge.updated']);
  });

  it('serializes concurrent updates of one version: one wins, the other is 409', async () => {
    const item = await createItem(t, owner.auth, agent.id);
    const [x, y] = await Promise.all([
      c.patch(`/v1/knowledge/${item.id}`, owner.auth, { version: 1, domain: 'x' }),
      c.patch(`/v1/knowledge/${item.id}`, owner.auth, { version: 1, domain: 'y' }),
    ]);
    expect([x.statusCode, y.statusCode].sort()).toEqual([200, 409]);
  });
});

describe('soft delete', () => {
  it('deletes (204, audited), after which the item is 404 on every route and listed nowhere', async () => {
    const item = await createItem(t, owner.auth, agent.id, { content: { title: 'Zanzibar ferry timetable' } });
    ok(await c.post(`/v1/knowledge/${item.id}/transfers`, owner.auth, { targetAgentId: other.id }), 201);
    expect((await c.del(`/v1/knowledge/${item.id}`, owner.auth)).statusCode).toBe(204);
    for (const res of [
      await c.get(`/v1/knowledge/${item.id}`, owner.auth),
      await c.patch(`/v1/knowledge/${item.id}`, owner.auth, { version: 2, domain: 'x' }),
      await c.del(`/v1/knowledge/${item.id}`, owner.auth),
      await c.post(`/v1/knowledge/${item.id}/transfers`, owner.auth, { targetAgentId: other.id }),
      await c.get(`/v1/knowledge/${item.id}/transfers`, owner.auth),
      await c.get(`/v1/knowledge/${item.id}/metrics`, owner.auth),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(ok(await c.get('/v1/knowledge?limit=100', owner.auth)).data.map((i: Body) => i.id)).not.toContain(item.id);
    for (const mode of ['text', 'hybrid', 'vector']) {
      const found = ok(await c.post('/v1/knowledge/search', owner.auth, { query: 'Zanzibar ferry timetable', mode }));
      expect(found.items.map((i: Body) => i.id)).not.toContain(item.id);
    }
    const transfers = ok(await c.get(`/v1/knowledge-transfers?targetAgentId=${other.id}`, owner.auth));
    expect(transfers.data.map((x: Body) => x.knowledgeId)).not.toContain(item.id);
    expect(await auditActions(t, owner.orgId, item.id)).toEqual(['knowledge.created', 'knowledge.deleted']);
    const row = await t.db.admin.query<{ deleted: boolean }>(`SELECT deleted_at IS NOT NULL AS deleted FROM knowledge_items WHERE id = $1`, [item.id]);
    expect(row.rows[0]!.deleted).toBe(true);
  });
});
