import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../src/db/index.js';
import { hashedEmbedder } from '../../src/memory/embedders/hashed.js';
import { searchMemories, spaceRowsAtMost, type SearchQuery } from '../../src/memory/memories-search-repo.js';
import { spaceOf } from '../../src/memory/space.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from '../runs/fixtures.js';

/**
 * The vector list reads an agent's rows exactly while the agent holds few
 * rows of its space, and goes through the HNSW index otherwise (see
 * EXACT_SCAN_MAX_ROWS): both answer the same neighbours on a small set, and
 * the plans show which way each went.
 */
let t: TestApp;
let a: SignedUp;
let agent: string;
const embedder = hashedEmbedder(256);
const space = spaceOf(embedder);
const TOPICS = ['flights', 'hotels', 'trains', 'museums', 'restaurants', 'weather'];

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  agent = await makeAgent(t.app, a.auth, 'scanner');
  const items = Array.from({ length: 30 }, (_, i) => ({ content: `note ${i} about ${TOPICS[i % TOPICS.length]} and day ${i}` }));
  const r = await t.app.inject({ method: 'POST', url: '/v1/agents/scanner/memories/batch', headers: a.auth, payload: { items } });
  expect(r.statusCode, r.body).toBe(201);
});
afterAll(async () => t?.close());

async function queryFor(text: string, exact?: boolean, hybrid = false): Promise<SearchQuery> {
  const [values] = (await embedder.embed([text])).vectors;
  return {
    text: hybrid ? text : null,
    vector: { space, values: values!, ...(exact === undefined ? {} : { exact }) },
    filter: {},
    candidates: 40,
    limit: 10,
    halfLifeDays: 30,
  };
}

/** The plan of the statement searchMemories sends, with sequential scans and sorts discouraged (as on a large table). */
async function planOf(q: SearchQuery): Promise<string> {
  return t.db.tenant(a.orgId, async (sql) => {
    const statements: { text: string; params: unknown[] }[] = [];
    const spy = { query: (text: string, params?: unknown[]) => (statements.push({ text, params: params ?? [] }), sql.query(text, params)) } as unknown as Sql;
    await searchMemories(spy, a.orgId, agent, q);
    const search = statements.find((s) => /^WITH (vec|pass) AS/.test(s.text))!;
    await sql.query(`SELECT set_config('enable_seqscan', 'off', true), set_config('enable_sort', 'off', true)`);
    const r = await sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${search.text}`, search.params);
    return r.rows.map((row) => row['QUERY PLAN']).join('\n');
  });
}

describe('exact or HNSW vector scans', () => {
  it('counts the agent rows of a space up to a cap', async () => {
    await t.db.tenant(a.orgId, async (sql) => {
      expect(await spaceRowsAtMost(sql, a.orgId, agent, space, 30)).toBe(true);
      expect(await spaceRowsAtMost(sql, a.orgId, agent, space, 29)).toBe(false);
      expect(await spaceRowsAtMost(sql, a.orgId, agent, { model: 'other-model', dims: 256 }, 0)).toBe(true);
    });
  });

  it('scans a small agent exactly by default, and uses HNSW when told not to', async () => {
    expect(await planOf(await queryFor('flights and hotels'))).not.toMatch(/hnsw/);
    expect(await planOf(await queryFor('flights and hotels', true))).not.toMatch(/hnsw/);
    expect(await planOf(await queryFor('flights and hotels', false))).toMatch(/Index Scan using agent_memories_hnsw_/);
  });

  it('answers the same neighbours either way on a small set', async () => {
    for (const text of ['flights and hotels', 'museums on day 7', 'weather']) {
      const ids = async (exact: boolean) =>
        t.db.tenant(a.orgId, async (sql) => (await searchMemories(sql, a.orgId, agent, await queryFor(text, exact))).map((h) => h.id));
      expect(await ids(false)).toEqual(await ids(true));
    }
  });

  it('ranks hybrid over an exact scan in one pass exactly as the two separate lists do', async () => {
    const texts = ['flights and hotels', 'museums on day 7', 'weather', 'note about trains', 'nothing matches this'];
    for (const text of texts) {
      const hits = async (exact: boolean) =>
        t.db.tenant(a.orgId, async (sql) =>
          (await searchMemories(sql, a.orgId, agent, { ...(await queryFor(text, exact, true)), limit: 30 })).map((h) => ({
            id: h.id, vectorRank: h.vectorRank, textRank: h.textRank, score: h.score.toFixed(6), // recency moves with now() between the two calls
          })),
        );
      const onePass = await hits(true);
      expect(onePass.length).toBeGreaterThan(0);
      expect(onePass).toEqual(await hits(false));
    }
    const plan = await planOf(await queryFor('flights and hotels', undefined, true));
    expect(plan).toMatch(/CTE pass/);
    expect(plan).not.toMatch(/hnsw/);
  });
});
