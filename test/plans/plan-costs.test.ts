import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, ok } from '../agents/fixtures.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from '../runs/fixtures.js';

/**
 * A plan's cost and tokens come from the ledger's daily roll-up (no trigger
 * per ledger row): they agree with the ledger's own rows for the plan exactly,
 * across batches, days and models, and count only the plan's executions.
 */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let c: ReturnType<typeof client>;
let agent: string;
beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  c = client(t);
  agent = await makeAgent(t.app, a.auth, 'planner');
});
afterAll(async () => t?.close());

const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000 - 60_000).toISOString();
let n = 0;
const llm = (executionClientId: string, d: number, over: Record<string, unknown> = {}) => ({
  clientId: `span-${++n}`, executionClientId, kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai',
  promptTokens: 1357 + n, completionTokens: 246, startedAt: daysAgo(d), ...over,
});
async function ingest(who: SignedUp, payload: object) {
  const res = await c.post('/v1/ingest/batch', who.auth, payload);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().rejected, res.body).toBe(0);
}
async function ledger(planId: string): Promise<{ cost: string; tokens: number; spans: number }> {
  return (await t.db.admin.query<{ cost: string; tokens: number; spans: number }>(
    `SELECT coalesce(sum(total_cost_usd), 0)::text AS cost, coalesce(sum(total_tokens), 0)::float8 AS tokens, count(*)::float8 AS spans
     FROM cost_ledger WHERE plan_id = $1`, [planId])).rows[0]!;
}

describe('plan costs', () => {
  it('agree with the ledger to the cent (and beyond) across batches, days and models', async () => {
    const p = ok(await c.post('/v1/plans', a.auth, { kind: 'generic', title: 'Q3 offsite' }), 201);
    const q = ok(await c.post('/v1/plans', a.auth, { kind: 'generic', title: 'Another' }), 201);
    await ingest(a, {
      executions: [
        { clientId: 'e1', agentId: agent, planId: p.id, createdAt: daysAgo(3) },
        { clientId: 'e2', agentId: agent, planId: p.id, createdAt: daysAgo(0) },
        { clientId: 'e3', agentId: agent, planId: q.id, createdAt: daysAgo(0) },
        { clientId: 'e4', agentId: agent, createdAt: daysAgo(0) },
      ],
      spans: [llm('e1', 3), llm('e1', 3, { model: 'gpt-4o-mini' }), llm('e3', 0), llm('e4', 0)],
    });
    await ingest(a, { spans: [llm('e2', 0, { model: 'claude-3-5-haiku-20241022', provider: 'anthropic' }), llm('e2', 0, { costUsd: 0.123457, model: 'acme-1', provider: 'acme' })] });

    const got = ok(await c.get(`/v1/plans/${p.id}`, a.auth));
    const truth = await ledger(p.id);
    expect(truth.spans).toBe(4);
    expect(got.costs.costUsd).toBe(Number(truth.cost));
    expect(got.costs).toMatchObject({ totalTokens: truth.tokens, spans: 4, executions: 2 });
    expect(Math.round(got.costs.costUsd * 100)).toBe(Math.round(Number(truth.cost) * 100));
    const other = ok(await c.get(`/v1/plans/${q.id}`, a.auth));
    expect(other.costs).toMatchObject({ costUsd: Number((await ledger(q.id)).cost), executions: 1, spans: 1 });

    // The list shows the same figures.
    const listed = ok(await c.get('/v1/plans', a.auth)).data.find((x: { id: string }) => x.id === p.id);
    expect(listed.costs).toEqual(got.costs);
    // The seed's view agrees too.
    const view = await t.db.tenant(a.orgId, async (sql) => (await sql.query<{ cost: string; n: string }>(
      `SELECT total_cost_calculated::text AS cost, agent_execution_count::text AS n FROM v_active_plans_with_costs WHERE id = $1`, [p.id])).rows[0]!);
    expect(view).toEqual({ cost: truth.cost, n: '4' });
  });

  it('shows decisions, messages and sessions that name the plan, and none of another organization', async () => {
    const p = ok(await c.post('/v1/plans', a.auth, { kind: 'generic', title: 'Linked' }), 201);
    await ingest(a, {
      executions: [{ clientId: 'l1', agentId: agent, planId: p.id, sessionId: 'chat-1' }],
      messages: [{ clientId: 'm1', executionClientId: 'l1', messageType: 'request', messageData: { q: 1 }, sentAt: new Date().toISOString() }],
    });
    const got = ok(await c.get(`/v1/plans/${p.id}`, a.auth));
    expect(got.activity.messages).toBe(1);
    expect(got.activity.sessions).toHaveLength(1);
    expect((await c.get(`/v1/plans/${p.id}`, b.auth)).statusCode).toBe(404);
    // Another organization cannot name this plan in its telemetry (it reads as no plan), and this plan's figures do not move.
    const theirs = await makeAgent(t.app, b.auth, 'x');
    const res = ok(await c.post('/v1/ingest/batch', b.auth, { executions: [{ clientId: 'x1', agentId: theirs, planId: p.id }] }));
    expect(res.results[0]).toMatchObject({ status: 'rejected', code: 'unknown_reference', field: 'planId' });
    expect(ok(await c.get(`/v1/plans/${p.id}`, a.auth)).costs).toEqual(got.costs);
  });
});
