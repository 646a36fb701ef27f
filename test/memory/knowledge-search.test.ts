import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type SignedUp, type TestApp } from '../helpers/app.js';
import { signupBuilder } from '../agents/fixtures.js';
import { searchStatement } from '../../src/memory/knowledge-search-repo.js';
import { client, createAgent, createItem, ok, type Body } from './knowledge-fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
let agent: Body;
const planted: Record<string, Body> = {};

const search = async (body: Record<string, unknown>, auth = owner.auth) => ok(await c.post('/v1/knowledge/search', auth, body));
const idsOf = (r: Body): string[] => r.items.map((i: Body) => i.id);

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
  agent = await createAgent(t, owner.auth, { name: 'Librarian' });
  const add = async (key: string, domain: string, title: string, description: string, extra: Record<string, unknown> = {}) => {
    planted[key] = await createItem(t, owner.auth, agent.id, { domain, content: { title, description }, ...extra });
  };
  await add('penguins', 'nature', 'Emperor penguins huddle through the Antarctic winter', 'Males incubate eggs on their feet for two months.', { tags: ['birds', 'antarctica'], confidence: 0.95 });
  await add('puffins', 'nature', 'Atlantic puffins nest in burrows on sea cliffs', 'Puffins carry up to ten fish crosswise in their beaks.', { tags: ['birds'], confidence: 0.6 });
  await add('glaciers', 'geography', 'Antarctic glaciers are retreating', 'Warm ocean water melts ice shelves from below.', { tags: ['antarctica', 'climate'], confidence: 0.8 });
  await add('sourdough', 'cooking', 'Sourdough starter feeding schedule', 'Feed the starter flour and water every twelve hours.', { tags: ['bread'] });
  await add('ramen', 'cooking', 'Tonkotsu ramen broth', 'Pork bones simmered for twelve hours make a milky broth.', { tags: ['soup', 'japan'], confidence: 0.7 });
  // Noise: many items of one domain, so filtered vector searches need the iterative scan to fill a page.
  for (let i = 0; i < 60; i++) {
    await createItem(t, owner.auth, agent.id, {
      domain: 'noise',
      content: { title: `Penguin colony census number ${i}`, description: `Counting penguins on island ${i} of the archipelago.` },
      tags: ['census'],
      confidence: 0.1,
    });
  }
});
afterAll(async () => t?.close());

describe('text mode', () => {
  it('finds a planted item by its words, scores descending, with no vectors involved', async () => {
    const r = await search({ query: 'puffins burrows', mode: 'text' });
    expect(r.mode).toBe('text');
    expect(r.space).toBeNull();
    expect(idsOf(r)).toEqual([planted.puffins!.id]);
    expect(r.items[0]).toMatchObject({ domain: 'nature', content: { title: planted.puffins!.content.title }, tags: ['birds'], confidence: 0.6 });
    expect(r.items[0].score).toBeGreaterThan(0);
    expect(r.items[0]).not.toHaveProperty('explain');
  });

  it('reads web-search syntax: quoted phrases, or, and -excluded words (english stemming)', async () => {
    expect(idsOf(await search({ query: '"twelve hours" -pork', mode: 'text' }))).toEqual([planted.sourdough!.id]);
    expect(idsOf(await search({ query: 'sourdough or tonkotsu', mode: 'text' })).sort()).toEqual([planted.sourdough!.id, planted.ramen!.id].sort());
    // "retreat" stems like "retreating"
    expect(idsOf(await search({ query: 'retreat', mode: 'text' }))).toEqual([planted.glaciers!.id]);
  });

  it('answers no items for a query of stop words only, or of words nothing has', async () => {
    expect((await search({ query: 'the of and', mode: 'text' })).items).toEqual([]);
    expect((await search({ query: 'zeppelin', mode: 'text' })).items).toEqual([]);
  });

  it('filters by domain, tags (all of them) and minimum confidence', async () => {
    expect(idsOf(await search({ query: 'antarctic', mode: 'text' })).sort()).toEqual([planted.penguins!.id, planted.glaciers!.id].sort());
    expect(idsOf(await search({ query: 'antarctic', mode: 'text', domain: 'geography' }))).toEqual([planted.glaciers!.id]);
    expect(idsOf(await search({ query: 'antarctic', mode: 'text', tags: ['antarctica', 'birds'] }))).toEqual([planted.penguins!.id]);
    expect(idsOf(await search({ query: 'antarctic', mode: 'text', minConfidence: 0.9 }))).toEqual([planted.penguins!.id]);
  });
});

describe('vector mode', () => {
  it('finds the nearest item in the org embedder space, similarity descending', async () => {
    const r = await search({ query: 'puffin nests on cliffs by the sea', mode: 'vector', limit: 3, explain: true });
    expect(r.mode).toBe('vector');
    expect(r.space).toEqual({ model: 'hashed-ngram-256', dims: 256 });
    expect(r.items[0].id).toBe(planted.puffins!.id);
    expect(r.items).toHaveLength(3);
    const scores = r.items.map((i: Body) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(r.items[0].explain).toMatchObject({ textRank: null, vectorRank: 1 });
    expect(r.items[0].explain.vectorDistance).toBeCloseTo(1 - r.items[0].score, 6);
  });

  it('fills the page through selective filters (iterative index scan)', async () => {
    // The 60 noise items are the nearest to a penguin query; the filters leave only the planted ones.
    const r = await search({ query: 'penguin colony census', mode: 'vector', domain: 'nature', limit: 5 });
    expect(idsOf(r).sort()).toEqual([planted.penguins!.id, planted.puffins!.id].sort());
    const tagged = await search({ query: 'penguin colony census', mode: 'vector', tags: ['antarctica'], limit: 2 });
    expect(idsOf(tagged).sort()).toEqual([planted.penguins!.id, planted.glaciers!.id].sort());
    const confident = await search({ query: 'penguin colony census', mode: 'vector', minConfidence: 0.5, limit: 10 });
    expect(confident.items).toHaveLength(4);
    expect(idsOf(confident)).toContain(planted.penguins!.id);
  });

  it('orders by the indexed expression of the space, so the partial HNSW index can answer', async () => {
    const vec = `[${Array.from({ length: 256 }, (_, i) => (i === 3 ? 1 : 0)).join(',')}]`;
    const { text, params } = searchStatement(owner.orgId, { mode: 'vector', vector: vec, space: { model: 'hashed-ngram-256', dims: 256 } }, { domain: 'nature' }, 5, 5);
    const plan = await t.db.tenant(owner.orgId, async (sql) => {
      await sql.query(`SELECT set_config('enable_seqscan', 'off', true)`);
      const r = await sql.query<Record<string, string>>(`EXPLAIN ${text}`, params);
      return r.rows.map((x) => Object.values(x)[0]).join('\n');
    });
    expect(plan).toMatch(/knowledge_items_hnsw_/);
  });
});

describe('hybrid mode (the default)', () => {
  it('fuses the text and vector lists by reciprocal rank', async () => {
    const r = await search({ query: 'emperor penguins winter', explain: true });
    expect(r.mode).toBe('hybrid');
    expect(r.space).toEqual({ model: 'hashed-ngram-256', dims: 256 });
    expect(r.items).toHaveLength(10);
    const top = r.items[0];
    expect(top.id).toBe(planted.penguins!.id);
    expect(top.explain.textRank).toBe(1);
    expect(top.explain.vectorRank).toEqual(expect.any(Number));
    expect(top.score).toBeCloseTo(1 / (60 + top.explain.textRank) + 1 / (60 + top.explain.vectorRank), 9);
    // Items only the vector list found carry no text rank.
    expect(r.items.some((i: Body) => i.explain.textRank === null && i.explain.vectorRank !== null)).toBe(true);
    const scores = r.items.map((i: Body) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('applies the filters to both lists', async () => {
    const r = await search({ query: 'penguins', domain: 'nature', limit: 100 });
    expect(r.items.every((i: Body) => i.domain === 'nature')).toBe(true);
    expect(idsOf(r)[0]).toBe(planted.penguins!.id);
    const tagged = await search({ query: 'twelve hours', tags: ['bread'] });
    expect(idsOf(tagged)).toEqual([planted.sourdough!.id]);
  });

  it('finds by vector what full text misses (a word piece)', async () => {
    // "puffin" and "puffins" share trigrams; with no stemmer match the text list is empty for "puffinz".
    const r = await search({ query: 'puffinz', limit: 1, explain: true });
    expect(r.items[0].id).toBe(planted.puffins!.id);
    expect(r.items[0].explain.textRank).toBeNull();
  });

  it('honours limit (default 10)', async () => {
    expect((await search({ query: 'penguin census' })).items).toHaveLength(10);
    expect((await search({ query: 'penguin census', limit: 3 })).items).toHaveLength(3);
    expect((await search({ query: 'penguin census', limit: 100 })).items.length).toBeGreaterThan(60);
  });
});

describe('search hits', () => {
  it('counts a hit per returned item, after answering', async () => {
    const count = async () => (await t.db.admin.query<{ n: number | null }>(
      `SELECT sum(count)::int AS n FROM knowledge_metrics WHERE knowledge_id = $1 AND event = 'search_hit'`, [planted.ramen!.id],
    )).rows[0]!.n ?? 0;
    const before = await count();
    const r = await search({ query: 'tonkotsu', mode: 'text' });
    expect(idsOf(r)).toEqual([planted.ramen!.id]);
    await vi.waitFor(async () => expect(await count()).toBe(before + 1), { timeout: 5000 });
    // A search that finds nothing writes nothing.
    const total = async () => (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM knowledge_metrics WHERE event = 'search_hit'`)).rows[0]!.n;
    // Earlier searches' counts may still be landing: wait until the total holds still.
    const settled = async () => {
      for (let last = await total(); ;) {
        await new Promise((r) => setTimeout(r, 150));
        const now = await total();
        if (now === last) return now;
        last = now;
      }
    };
    const all = await settled();
    await search({ query: 'zeppelin', mode: 'text' });
    expect(await settled()).toBe(all);
  });

  it('never answers a failed count as an error', async () => {
    const m = t.service.memory;
    const tenant = m.db.tenant.bind(m.db);
    let failed = 0;
    // Only the statement that writes the hits fails; the search itself runs as usual.
    const spy = vi.spyOn(m.db, 'tenant').mockImplementation((orgId, fn) =>
      tenant(orgId, (sql) => fn({
        query: (text: string, params?: readonly unknown[]) => {
          if (text.includes('INSERT INTO knowledge_metrics')) {
            failed++;
            return Promise.reject(new Error('database went away'));
          }
          return sql.query(text, params);
        },
      } as typeof sql)),
    );
    try {
      const r = await search({ query: 'tonkotsu', mode: 'text' });
      expect(idsOf(r)).toEqual([planted.ramen!.id]);
      await vi.waitFor(() => expect(failed).toBe(1));
    } finally {
      spy.mockRestore();
    }
  });
});
