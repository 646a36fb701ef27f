import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

/**
 * GET /v1/executions/{id} rolls up the execution's subtree (children,
 * grandchildren… through parentExecutionId): the figures must be the
 * ledger's, to the cent, through late spans, re-parenting and cycles.
 */

let t: TestApp;
let a: SignedUp;
let planner: string;
let booker: string;
let searcher: string;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  planner = await makeAgent(t.app, a.auth, 'planner');
  booker = await makeAgent(t.app, a.auth, 'booker');
  searcher = await makeAgent(t.app, a.auth, 'searcher');
});
afterAll(async () => t?.close());

let n = 0;
const cid = (tag: string) => `${tag}-${++n}`;
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

interface Result { kind: string; clientId: string; status: string; id: string; error?: string }

async function ingest(payload: object): Promise<Result[]> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/ingest/batch', headers: a.auth, payload });
  expect(res.statusCode, res.body).toBe(200);
  const results = res.json().results as Result[];
  expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  return results;
}

async function get(url: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: a.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const llm = (executionClientId: string, over: Record<string, unknown> = {}) => ({
  clientId: cid('span'), executionClientId, kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai',
  promptTokens: 1234, completionTokens: 567, startedAt: ago(5), ...over,
});

/** Ingests one execution (with priced spans) under a parent; returns its id. */
async function exec(agentId: string, parent: string | undefined, spans: Record<string, unknown>[], minutesAgo: number): Promise<string> {
  const clientId = cid('exec');
  const results = await ingest({
    executions: [{ clientId, agentId, parentExecutionId: parent, status: 'completed', createdAt: ago(minutesAgo) }],
    spans: spans.map((s) => llm(clientId, s)),
  });
  return results.find((r) => r.kind === 'execution')!.id;
}

/** The ground truth: the ledger's sums over these executions, read as the tenant. */
async function ledger(ids: string[]) {
  return t.db.tenant(a.orgId, async (sql) => (await sql.query<{ cost: string; prompt: number; completion: number; total: number }>(
    `SELECT coalesce(sum(total_cost_usd), 0)::text AS cost, coalesce(sum(prompt_tokens), 0)::float8 AS prompt,
       coalesce(sum(completion_tokens), 0)::float8 AS completion, coalesce(sum(total_tokens), 0)::float8 AS total
     FROM cost_ledger WHERE execution_id = ANY($1::uuid[])`, [ids])).rows[0]!);
}

/** Agrees with the ledger to the cent, and in fact to the micro-dollar it stores. */
async function expectLedger(subtree: { costUsd: number; promptTokens: number; completionTokens: number; totalTokens: number }, ids: string[]) {
  const l = await ledger(ids);
  expect(Number(l.cost)).toBeGreaterThan(0);
  expect(Math.round(subtree.costUsd * 100)).toBe(Math.round(Number(l.cost) * 100));
  expect(subtree.costUsd).toBeCloseTo(Number(l.cost), 6);
  expect(subtree).toMatchObject({ promptTokens: l.prompt, completionTokens: l.completion, totalTokens: l.total });
}

describe('subtree roll-ups on GET /v1/executions/{id}', () => {
  let root: string;
  let c1: string;
  let c2: string;
  let g1: string;
  let g2: string;
  let gg: string;

  beforeAll(async () => {
    root = await exec(planner, undefined, [{}, { model: 'gpt-4o-mini', promptTokens: 3000 }], 60);
    c1 = await exec(booker, root, [{ model: 'claude-sonnet-4-20250514', provider: 'anthropic', cachedTokens: 200 }], 50);
    c2 = await exec(searcher, root, [{ completionTokens: 99 }], 40);
    g1 = await exec(searcher, c1, [{ model: 'o3-mini', reasoningTokens: 100 }], 30);
    g2 = await exec(searcher, c1, [{}, {}], 20);
    gg = await exec(booker, g1, [{ promptTokens: 777 }], 10);
    // Unrelated: another root, and a span-less child that adds an execution but no cost.
    await exec(planner, undefined, [{}], 5);
  });

  it('rolls up itself, children, grandchildren and deeper, equal to the ledger', async () => {
    const e = await get(`/v1/executions/${root}`);
    // The execution's own figures are as before; the subtree is new.
    await expectLedger(e, [root]);
    expect(e.subtree).toMatchObject({ executions: 6, depth: 3, truncated: false });
    await expectLedger(e.subtree, [root, c1, c2, g1, g2, gg]);
    const l = await ledger([root, c1, c2, g1, g2, gg]);
    expect(e.subtree.cachedTokens).toBe(200);
    expect(e.subtree.reasoningTokens).toBe(100);
    expect(e.subtree.totalTokens).toBe(l.total);
  });

  it('lists the direct children with their agent, status, own cost and subtree cost, to walk down', async () => {
    const e = await get(`/v1/executions/${root}`);
    expect(e.children.map((c: { id: string }) => c.id)).toEqual([c1, c2]);
    const [first, second] = e.children;
    expect(first).toMatchObject({ id: c1, agentId: booker, agentSlug: 'booker', agentName: 'booker', status: 'completed' });
    expect(first.subtree).toMatchObject({ executions: 4, depth: 2 });
    await expectLedger(first, [c1]);
    await expectLedger(first.subtree, [c1, g1, g2, gg]);
    expect(second).toMatchObject({ id: c2, agentSlug: 'searcher', subtree: { executions: 1, depth: 0 } });
    await expectLedger(second.subtree, [c2]);

    // One level down, the same shape.
    const down = await get(`/v1/executions/${c1}`);
    expect(down.subtree).toMatchObject({ executions: 4, depth: 2, truncated: false });
    await expectLedger(down.subtree, [c1, g1, g2, gg]);
    expect(down.children.map((c: { id: string }) => c.id)).toEqual([g1, g2]);

    const leaf = await get(`/v1/executions/${gg}`);
    expect(leaf.children).toEqual([]);
    expect(leaf.subtree).toMatchObject({ executions: 1, depth: 0, costUsd: leaf.costUsd, totalTokens: leaf.totalTokens });
  });

  it('follows late spans of a descendant', async () => {
    const before = (await get(`/v1/executions/${root}`)).subtree.costUsd;
    const ggClient = (await get(`/v1/executions/${gg}`)).clientId as string;
    await ingest({ spans: [llm(ggClient, { model: 'gpt-4o', promptTokens: 10_000, completionTokens: 1000 })] });
    const after = await get(`/v1/executions/${root}`);
    expect(after.subtree.costUsd).toBeGreaterThan(before);
    await expectLedger(after.subtree, [root, c1, c2, g1, g2, gg]);
  });

  it('shows a deleted agent as null, not a stale name', async () => {
    const gone = await makeAgent(t.app, a.auth, 'gone');
    const parent = await exec(planner, undefined, [{}], 9);
    await exec(gone, parent, [{}], 8);
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/agents/${gone}`, headers: a.auth });
    expect(del.statusCode, del.body).toBeLessThan(300);
    const e = await get(`/v1/executions/${parent}`);
    expect(e.children).toEqual([expect.objectContaining({ agentId: gone, agentSlug: null, agentName: null })]);
  });

  it('ends at a cycle (an update re-parents an ancestor under its descendant), counting each execution once', async () => {
    const top = await exec(planner, undefined, [{}], 7);
    const mid = await exec(booker, top, [{}], 6);
    const low = await exec(searcher, mid, [{}], 5);
    const topClient = (await get(`/v1/executions/${top}`)).clientId as string;
    const up = await ingest({ executions: [{ clientId: topClient, parentExecutionId: low }] });
    expect(up[0]!.status).toBe('updated');
    for (const [id, children] of [[top, [mid]], [mid, [low]], [low, [top]]] as const) {
      const e = await get(`/v1/executions/${id}`);
      expect(e.subtree).toMatchObject({ executions: 3, depth: 2, truncated: false });
      await expectLedger(e.subtree, [top, mid, low]);
      expect(e.children.map((c: { id: string }) => c.id)).toEqual(children);
    }
  });
});

describe('bounds', () => {
  it('stops 32 levels down and says truncated', async () => {
    const chain = [await exec(planner, undefined, [{}], 120)];
    for (let i = 1; i <= 33; i++) chain.push(await exec(planner, chain[i - 1], [{}], 120 - i));
    const e = await get(`/v1/executions/${chain[0]}`);
    expect(e.subtree).toMatchObject({ executions: 33, depth: 32, truncated: true });
    await expectLedger(e.subtree, chain.slice(0, 33));
    // From one level lower, the whole rest of the chain fits.
    const next = await get(`/v1/executions/${chain[1]}`);
    expect(next.subtree).toMatchObject({ executions: 33, depth: 32, truncated: false });
  });

  it('stops at 1000 executions and says truncated', async () => {
    const parent = await exec(planner, undefined, [{}], 200);
    const executions = Array.from({ length: 1000 }, (_, i) => ({
      clientId: cid('wide'), agentId: planner, parentExecutionId: parent, createdAt: ago(199 - i / 100),
    }));
    await ingest({ executions });
    const e = await get(`/v1/executions/${parent}`);
    expect(e.subtree).toMatchObject({ executions: 1000, depth: 1, truncated: true });
    expect(e.children).toHaveLength(999);
  });
});
