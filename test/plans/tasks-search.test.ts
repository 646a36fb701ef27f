import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/db/index.js';
import { TASK_RANK_MAX } from '../../src/plans/index.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { client, createList, createTask, ok, type Body } from './tasks-fixtures.js';

/**
 * Task full text under row-level security (migration 0019): task_text_hits,
 * a SECURITY DEFINER function, matches through the GIN index the app role
 * cannot use, confined to the transaction's tenant.
 */
let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let c: ReturnType<typeof client>;
const search = async (who: SignedUp, qs: string) => ok(await c.get(`/v1/tasks?${qs}`, who.auth));

beforeAll(async () => {
  t = await createTestApp();
  c = client(t);
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  for (const who of [a, b]) await createTask(t, who.auth, { title: 'Paint the zebra crossing', description: `kept by ${who.orgId}` });
  const n = TASK_RANK_MAX + 5;
  await t.db.admin.query(
    `INSERT INTO tasks (id, org_id, user_id, title, description)
     SELECT x, $1, $3, 'A ubiquitous chore number ' || i, 'filler' FROM unnest($2::uuid[]) WITH ORDINALITY AS u(x, i)`,
    [a.orgId, Array.from({ length: n }, () => uuidv7()), a.userId],
  );
});
afterAll(async () => t?.close());

describe('task search', () => {
  it('ranks the best match first, with a score, and applies the filters', async () => {
    const l = await createList(t, a.auth);
    const best = await createTask(t, a.auth, { title: 'Invoice invoice for the invoice run', listId: l.id });
    const weak = await createTask(t, a.auth, { title: 'Send report', description: 'attach the invoice' });
    const r = await search(a, 'q=invoice');
    expect(r.data.map((x: Body) => x.id)).toEqual([best.id, weak.id]);
    expect(r.data[0].score).toBeGreaterThan(r.data[1].score);
    expect(r.partial).toBe(false);
    expect((await search(a, `q=invoice&listId=${l.id}`)).data.map((x: Body) => x.id)).toEqual([best.id]);
    expect((await search(a, 'q=invoice -report')).data.map((x: Body) => x.id)).toEqual([best.id]);
    expect((await search(a, 'q=invoice&status=completed')).data).toEqual([]);
  });

  it("returns the transaction's tenant's tasks only, and nothing without a tenant", async () => {
    const hits = async (orgId: string | null) => {
      const q = `SELECT t.description AS d FROM task_text_hits('zebra', NULL, NULL, NULL, NULL, NULL, false, 10, 100) h JOIN tasks t ON t.id = h.id`;
      const r = orgId ? await t.db.tenant(orgId, (sql) => sql.query<{ d: string }>(q)) : await t.db.admin.query<{ d: string }>(q);
      return r.rows.map((x) => x.d);
    };
    expect(await hits(a.orgId)).toEqual([`kept by ${a.orgId}`]);
    expect(await hits(b.orgId)).toEqual([`kept by ${b.orgId}`]);
    expect(await hits(null)).toEqual([]);
    expect((await search(b, 'q=zebra')).data.map((x: Body) => x.description)).toEqual([`kept by ${b.orgId}`]);
  });

  it('finds the words through the GIN index as its owner, which the app role cannot', async () => {
    // Words only: in this small table the planner may rightly prefer an org_id
    // btree to the GIN index for `org_id = …` (org A holds nearly every row);
    // what matters is that @@ can be an index condition for one role only.
    await t.db.admin.query('ANALYZE tasks');
    const plan = async (role: string) => t.db.admin.transaction(async (sql) => {
      await sql.query(`SELECT set_config('role', $1, true), set_config('app.org_id', $2, true), set_config('enable_seqscan', 'off', true)`, [role, a.orgId]);
      const r = await sql.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT t.id FROM tasks t WHERE t.deleted_at IS NULL AND t.search_vector @@ websearch_to_tsquery('english', 'zebra')`);
      return r.rows.map((x) => x['QUERY PLAN']).join('\n');
    });
    expect(await plan('agentbase_auth')).toMatch(/idx_tasks_search_text/);
    expect(await plan('agentbase_app')).not.toMatch(/idx_tasks_search_text/);
  });

  it('ranks at most TASK_RANK_MAX matches and says when the ranking was partial; pages through the ranked matches', async () => {
    const broad = await search(a, 'q=ubiquitous&limit=5');
    expect(broad.partial).toBe(true);
    expect(broad.data).toHaveLength(5);
    const next = await search(a, `q=ubiquitous&limit=5&cursor=${broad.nextCursor}`);
    expect(next.data).toHaveLength(5);
    expect(next.data.map((x: Body) => x.id)).not.toContain(broad.data[0].id);
    const narrow = await search(a, 'q=ubiquitous "number 7"&limit=5');
    expect(narrow.partial).toBe(false);
    expect(narrow.data.length).toBeGreaterThan(0);
    expect(await search(b, 'q=ubiquitous')).toMatchObject({ partial: false, data: [], nextCursor: null });
  });
});
