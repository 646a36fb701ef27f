import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

/**
 * GET /v1/traces/{traceId} answers the trace as one tree: executions hold
 * their span trees, a child execution hangs under the span that called it,
 * every node has its duration, own figures and subtree totals, and the
 * trace's totals are the ledger's.
 */

let t: TestApp;
let a: SignedUp;
let planner: string;
let booker: string;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  planner = await makeAgent(t.app, a.auth, 'planner');
  booker = await makeAgent(t.app, a.auth, 'booker');
});
afterAll(async () => t?.close());

const base = Date.now() - 60 * 60_000;
const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();

interface Result { kind: string; clientId: string; status: string; id: string }

async function ingest(payload: object): Promise<Record<string, string>> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/ingest/batch', headers: a.auth, payload });
  expect(res.statusCode, res.body).toBe(200);
  const results = res.json().results as Result[];
  expect(results.filter((r) => r.status !== 'accepted')).toEqual([]);
  return Object.fromEntries(results.map((r) => [r.clientId, r.id]));
}

async function get(url: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: a.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function ledger(ids: string[]) {
  return t.db.tenant(a.orgId, async (sql) => (await sql.query<{ cost: string; total: number }>(
    `SELECT coalesce(sum(total_cost_usd), 0)::text AS cost, coalesce(sum(total_tokens), 0)::float8 AS total
     FROM cost_ledger WHERE execution_id = ANY($1::uuid[])`, [ids])).rows[0]!);
}

interface Node {
  type: 'execution' | 'span';
  id: string;
  name?: string;
  clientId?: string;
  durationMs: number | null;
  costUsd: number;
  totalTokens: number;
  subtree: { executions: number; spans: number; costUsd: number; totalTokens: number };
  children: Node[];
}
const label = (n: Node): string => (n.type === 'execution' ? `exec:${n.clientId}` : `span:${n.name}`);
const shape = (n: Node): unknown => (n.children.length ? { [label(n)]: n.children.map(shape) } : label(n));

const trace = 'd'.repeat(32);
const llm = (clientId: string, executionClientId: string, spanId: string, parentSpanId: string | undefined, startS: number, over: object = {}) => ({
  clientId, executionClientId, kind: 'llm_call', name: clientId, model: 'gpt-4o', provider: 'openai', promptTokens: 1000,
  completionTokens: 200, traceId: trace, spanId, parentSpanId, startedAt: at(startS), endedAt: at(startS + 2), ...over,
});

describe('GET /v1/traces/{traceId} as a tree', () => {
  let ids: Record<string, string>;

  beforeAll(async () => {
    // The parent, its spans (a plan span with an llm call and an agent call under it).
    ids = await ingest({
      executions: [{ clientId: 'root', agentId: planner, status: 'completed', traceId: trace, spanId: 'a000000000000000', startedAt: at(0), completedAt: at(60), createdAt: at(0) }],
      spans: [
        { clientId: 'plan', executionClientId: 'root', kind: 'agent_call', name: 'plan', traceId: trace, spanId: '1000000000000000', startedAt: at(0), endedAt: at(59) },
        llm('think', 'root', '2000000000000000', '1000000000000000', 1),
        { clientId: 'call-booker', executionClientId: 'root', kind: 'agent_call', name: 'call-booker', traceId: trace, spanId: '3000000000000000', parentSpanId: '1000000000000000', startedAt: at(10), endedAt: at(40) },
      ],
    });
    // A child called from the call span, one attached to the parent alone, and a grandchild.
    Object.assign(ids, await ingest({
      executions: [
        { clientId: 'child', agentId: booker, status: 'completed', parentExecutionId: ids.root, traceId: trace, parentSpanId: '3000000000000000', startedAt: at(11), executionTimeMs: 25_000, createdAt: at(11) },
        { clientId: 'side', agentId: booker, status: 'failed', parentExecutionId: ids.root, traceId: trace, startedAt: at(45), completedAt: at(50), createdAt: at(45) },
      ],
      spans: [
        llm('book', 'child', '4000000000000000', undefined, 12, { model: 'gpt-4o-mini', promptTokens: 5000 }),
        { clientId: 'lookup', executionClientId: 'child', kind: 'tool_call', name: 'lookup', toolName: 'lookup', traceId: trace, spanId: '5000000000000000', parentSpanId: '4000000000000000', startedAt: at(13), durationMs: 1500 },
        llm('retry', 'side', '6000000000000000', undefined, 46),
      ],
    }));
    Object.assign(ids, await ingest({
      executions: [{ clientId: 'grandchild', agentId: planner, status: 'running', parentExecutionId: ids.child, traceId: trace, startedAt: at(20), createdAt: at(20) }],
      spans: [llm('deep', 'grandchild', '7000000000000000', undefined, 21, { completionTokens: 900 })],
    }));
  });

  it('nests child executions under the span that called them, or under their parent execution', async () => {
    const tr = await get(`/v1/traces/${trace}`);
    expect(tr.tree.map(shape)).toEqual([{
      'exec:root': [
        { 'span:plan': ['span:think', { 'span:call-booker': [{ 'exec:child': [{ 'span:book': ['span:lookup'] }, { 'exec:grandchild': ['span:deep'] }] }] }] },
        { 'exec:side': ['span:retry'] },
      ],
    }]);
    const root = tr.tree[0];
    expect(root).toMatchObject({ type: 'execution', id: ids.root, agentId: planner, agentSlug: 'planner', agentName: 'planner', status: 'completed' });
  });

  it('gives every node its duration, own figures and subtree totals, equal to the ledger', async () => {
    const tr = await get(`/v1/traces/${trace}`);
    const [root] = tr.tree as Node[];
    const [plan, side] = root!.children;
    const callSpan = plan!.children[1]!;
    const child = callSpan.children[0]!;
    const grandchild = child.children[1]!;

    // Durations: stored (executionTimeMs, durationMs) or from start and end.
    expect(root!.durationMs).toBe(60_000);
    expect(child.durationMs).toBe(25_000);
    expect(side!.durationMs).toBe(5_000);
    expect(grandchild.durationMs).toBeNull();
    expect(plan!.durationMs).toBe(59_000);
    expect(child.children[0]!.children[0]!.durationMs).toBe(1_500);

    const check = async (n: Node, own: string[], under: string[]) => {
      const mine = await ledger(own);
      const all = await ledger(under);
      expect(n.costUsd).toBeCloseTo(Number(mine.cost), 6);
      expect(n.subtree.costUsd).toBeCloseTo(Number(all.cost), 6);
      expect(Math.round(n.subtree.costUsd * 100)).toBe(Math.round(Number(all.cost) * 100));
      expect(n.subtree.totalTokens).toBe(all.total);
    };
    await check(root!, [ids.root!], [ids.root!, ids.child!, ids.side!, ids.grandchild!]);
    await check(child, [ids.child!], [ids.child!, ids.grandchild!]);
    await check(grandchild, [ids.grandchild!], [ids.grandchild!]);
    expect(root!.subtree).toMatchObject({ executions: 4, spans: 7 });
    expect(child.subtree).toMatchObject({ executions: 2, spans: 3 });

    // A span's subtree: its own figures and everything under it, the executions it called included.
    expect(callSpan.costUsd).toBe(0);
    expect(callSpan.subtree).toEqual({ ...child.subtree, spans: child.subtree.spans + 1 });
    const think = plan!.children[0]!;
    expect(plan!.subtree.costUsd).toBeCloseTo(think.costUsd + callSpan.subtree.costUsd, 9);
    expect(plan!.subtree).toMatchObject({ executions: 2, spans: 6 });
  });

  it('has the trace totals, span and execution counts, start, end and duration, and keeps the flat lists', async () => {
    const tr = await get(`/v1/traces/${trace}`);
    const all = await ledger([ids.root!, ids.child!, ids.side!, ids.grandchild!]);
    expect(tr.totalCostUsd).toBeCloseTo(Number(all.cost), 6);
    expect(tr.totalTokens).toBe(all.total);
    expect(tr).toMatchObject({
      traceId: trace, executionCount: 4, spanCount: 7, truncated: false,
      startedAt: at(0), endedAt: at(60), durationMs: 60_000,
    });
    // As before: the executions, oldest first, and the span forest.
    expect(tr.executions.map((e: { clientId: string }) => e.clientId)).toEqual(['root', 'child', 'grandchild', 'side']);
    expect(tr.spans.map((s: { name: string }) => s.name)).toEqual(['plan', 'book', 'deep', 'retry']);
    expect(tr.spans[0].children.map((s: { name: string }) => s.name)).toEqual(['think', 'call-booker']);
  });

  it('keeps spans whose execution is in another trace as roots of their own', async () => {
    const other = 'e'.repeat(32);
    await ingest({
      executions: [{ clientId: 'elsewhere', agentId: planner, traceId: other, createdAt: at(100) }],
      spans: [llm('stray', 'elsewhere', '8000000000000000', undefined, 101, { traceId: trace })],
    });
    const tr = await get(`/v1/traces/${trace}`);
    expect(tr.tree.map(shape)).toEqual([expect.objectContaining({}), 'span:stray']);
    expect(tr.spanCount).toBe(8);
    expect(tr.totalCostUsd).toBeCloseTo(tr.tree[0].subtree.costUsd + tr.tree[1].costUsd, 9);
    expect(tr.endedAt).toBe(at(103));
  });
});

describe('cycles', () => {
  it('spans that name each other as parents answer 200 (execution and trace), each span once', async () => {
    const loop = 'f'.repeat(32);
    const ids = await ingest({
      executions: [{ clientId: 'loop', agentId: planner, traceId: loop, createdAt: at(200) }],
      spans: [
        { clientId: 'l1', executionClientId: 'loop', kind: 'other', name: 'l1', traceId: loop, spanId: '1111111111111111', parentSpanId: '2222222222222222', startedAt: at(200) },
        { clientId: 'l2', executionClientId: 'loop', kind: 'other', name: 'l2', traceId: loop, spanId: '2222222222222222', parentSpanId: '1111111111111111', startedAt: at(201) },
        { clientId: 'l3', executionClientId: 'loop', kind: 'other', name: 'l3', traceId: loop, spanId: '3333333333333333', parentSpanId: '3333333333333333', startedAt: at(202) },
      ],
    });
    const e = await get(`/v1/executions/${ids.loop}`);
    const names = (nodes: { name: string; children: unknown[] }[]): string[] =>
      nodes.flatMap((n) => [n.name, ...names(n.children as never)]);
    expect(names(e.spans).sort()).toEqual(['l1', 'l2', 'l3']);
    const tr = await get(`/v1/traces/${loop}`);
    expect(tr.spanCount).toBe(3);
    expect(tr.tree[0].subtree).toMatchObject({ executions: 1, spans: 3 });
  });

  it('executions that hang under each other\'s spans answer 200, each once', async () => {
    const loop = '9'.repeat(32);
    const first = await ingest({
      executions: [{ clientId: 'x', agentId: planner, traceId: loop, parentSpanId: 'bbbbbbbbbbbbbbbb', createdAt: at(300) }],
      spans: [{ clientId: 'xs', executionClientId: 'x', kind: 'agent_call', name: 'xs', traceId: loop, spanId: 'aaaaaaaaaaaaaaaa', startedAt: at(300) }],
    });
    await ingest({
      executions: [{ clientId: 'y', agentId: planner, traceId: loop, parentExecutionId: first.x, parentSpanId: 'aaaaaaaaaaaaaaaa', createdAt: at(301) }],
      spans: [{ clientId: 'ys', executionClientId: 'y', kind: 'agent_call', name: 'ys', traceId: loop, spanId: 'bbbbbbbbbbbbbbbb', startedAt: at(301) }],
    });
    const tr = await get(`/v1/traces/${loop}`);
    expect(tr.tree).toHaveLength(1);
    expect(tr.tree[0].subtree).toMatchObject({ executions: 2, spans: 2 });
  });
});

describe('bounds', () => {
  it('a chain of 3000 nested spans answers 200 (execution and trace): below 100 levels they are listed flat', async () => {
    const deep = '5'.repeat(32);
    const hex = (i: number) => (i + 1).toString(16).padStart(16, '0');
    const spans = Array.from({ length: 3000 }, (_, i) => ({
      clientId: `deep-${i}`, executionClientId: 'deep', kind: 'other', name: `s${i}`, traceId: deep, spanId: hex(i),
      parentSpanId: i ? hex(i - 1) : undefined, startedAt: at(500 + i / 1000),
    }));
    const ids = await ingest({ executions: [{ clientId: 'deep', agentId: planner, traceId: deep, createdAt: at(500) }], spans });
    const e = await get(`/v1/executions/${ids.deep}`);
    expect(e.spans).toHaveLength(1);
    const tr = await get(`/v1/traces/${deep}`);
    expect(tr).toMatchObject({ spanCount: 3000, truncated: false });
    expect(tr.tree[0].subtree.spans).toBe(3000);
  });

  it('says truncated past 1000 executions, and answers the first 1000', async () => {
    const wide = '7'.repeat(32);
    const executions = Array.from({ length: 1001 }, (_, i) => ({ clientId: `w-${i}`, agentId: planner, traceId: wide, createdAt: at(400 + i) }));
    await ingest({ executions });
    const tr = await get(`/v1/traces/${wide}`);
    expect(tr).toMatchObject({ truncated: true, executionCount: 1000, spanCount: 0 });
    expect(tr.executions).toHaveLength(1000);
    expect(tr.tree).toHaveLength(1000);
  });
});
