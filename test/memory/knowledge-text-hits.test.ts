import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/db/index.js';
import { TEXT_RANK_MAX } from '../../src/memory/knowledge-search-repo.js';
import { createTestApp, type SignedUp, type TestApp } from '../helpers/app.js';
import { signupBuilder } from '../agents/fixtures.js';
import { client, createAgent, createItem, ok, type Body } from './knowledge-fixtures.js';

/**
 * Knowledge full text under row-level security (migration 0016): the words are
 * matched by knowledge_text_hits, a SECURITY DEFINER function, because for the
 * app role RLS keeps the GIN index out of reach (@@ is not leakproof). The
 * function must confine itself to the transaction's tenant, and a query that
 * matches more than TEXT_RANK_MAX items is ranked partially and says so.
 */
let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let c: ReturnType<typeof client>;
const search = async (auth: SignedUp['auth'], body: Record<string, unknown>) => ok(await c.post('/v1/knowledge/search', auth, body));

beforeAll(async () => {
  t = await createTestApp();
  c = client(t);
  a = await signupBuilder(t);
  b = await signupBuilder(t);
  let agentOfA = '';
  for (const who of [a, b]) {
    const agent = (await createAgent(t, who.auth, { name: 'Librarian' })) as Body;
    if (who === a) agentOfA = agent.id;
    await createItem(t, who.auth, agent.id, { content: { title: 'Zebra crossings in Lisbon', description: `kept by ${who.orgId}` } });
  }
  // More items matching "ubiquitous" than are ranked, written directly: the API would take minutes for this many.
  const n = TEXT_RANK_MAX + 5;
  await t.db.admin.query(
    `INSERT INTO knowledge_items (id, org_id, domain, content, source_agent_id)
     SELECT x, $1, 'bulk', jsonb_build_object('title', 'A ubiquitous word, item ' || i, 'description', 'filler'), $3
       FROM unnest($2::uuid[]) WITH ORDINALITY AS u(x, i)`,
    [a.orgId, Array.from({ length: n }, () => uuidv7()), agentOfA],
  );
});
afterAll(async () => t?.close());

describe('knowledge_text_hits', () => {
  it("returns the transaction's tenant's items only, and nothing without a tenant", async () => {
    const hits = async (orgId: string | null) => {
      const q = `SELECT h.id, k.content ->> 'description' AS d FROM knowledge_text_hits('zebra', NULL, NULL, NULL, 10, 100) h
                 JOIN knowledge_items k ON k.id = h.id`;
      const r = orgId ? await t.db.tenant(orgId, (sql) => sql.query<{ d: string }>(q)) : await t.db.admin.query<{ d: string }>(q);
      return r.rows.map((x) => x.d);
    };
    expect(await hits(a.orgId)).toEqual([`kept by ${a.orgId}`]);
    expect(await hits(b.orgId)).toEqual([`kept by ${b.orgId}`]);
    expect(await hits(null)).toEqual([]);
  });

  it('finds the words through the GIN index as its owner, which the app role cannot', async () => {
    const plan = async (role: string) => t.db.admin.transaction(async (sql) => {
      await sql.query(`SELECT set_config('role', $1, true), set_config('app.org_id', $2, true), set_config('enable_seqscan', 'off', true)`, [role, a.orgId]);
      const r = await sql.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT k.id FROM knowledge_items k WHERE k.org_id = $1 AND k.search_vector @@ websearch_to_tsquery('english', 'zebra')`, [a.orgId]);
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    });
    expect(await plan('agentbase_auth')).toMatch(/idx_knowledge_search/);
    expect(await plan('agentbase_app')).not.toMatch(/idx_knowledge_search/);
  });

  it('ranks at most TEXT_RANK_MAX matches and says when the ranking was partial', async () => {
    const broad = await search(a.auth, { query: 'ubiquitous', mode: 'text', limit: 5 });
    expect(broad.partial).toBe(true);
    expect(broad.items).toHaveLength(5);
    const narrow = await search(a.auth, { query: 'ubiquitous "item 7"', mode: 'text', limit: 5 });
    expect(narrow.partial).toBe(false);
    expect(narrow.items.length).toBeGreaterThan(0);
    const none = await search(b.auth, { query: 'ubiquitous', mode: 'text' });
    expect(none).toMatchObject({ partial: false, items: [] });
  });
});
