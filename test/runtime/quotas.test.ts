import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedUp } from '../helpers/app.js';
import { call, ok, rowCounts, runAgent, runtimeApp, scriptedAgent, type RuntimeTest } from './run-fixtures.js';

let rt: RuntimeTest;
let owner: SignedUp;

beforeAll(async () => {
  rt = await runtimeApp();
  owner = rt.owner;
});
afterAll(async () => rt?.close());

async function setMaxExecutions(n: number) {
  const org = ok(await call(rt.t, 'GET', '/v1/org', owner.auth));
  ok(await call(rt.t, 'PATCH', '/v1/org', owner.auth, { version: org.version, maxExecutionsPerMonth: n }));
}

const nextMonth = () => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).toISOString();
};

describe('quotas before a run starts', () => {
  it('refuses a run over the monthly execution limit with 429, in every mode, writing nothing', async () => {
    rt.scripts.write('q', [{ content: 'fine' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'q');
    await setMaxExecutions(2);
    ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'one' }));
    ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'two' }));

    const before = await rowCounts(rt.t);
    for (const mode of ['sync', 'stream', 'async']) {
      const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'three', mode, sessionToken: `new-${mode}` });
      expect(res.statusCode, mode).toBe(429);
      const err = res.json().error;
      expect(err.code).toBe('quota_exceeded');
      expect(err.message).toContain('used 2 of its 2 runs');
      expect(err.message).toContain(nextMonth());
      expect(err.details).toMatchObject({ limit: 'runs_per_month', max: 2, used: 2, resetsAt: nextMonth() });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    // No execution, job, session, ingestion key or audit row.
    expect(await rowCounts(rt.t)).toEqual(before);

    await setMaxExecutions(1000);
    expect(ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'three' })).status).toBe('completed');
  });

  it('counts agent-to-agent calls: a child over the limit is a tool error, and its message failed', async () => {
    rt.scripts.write('leaf', [{ content: 'leaf' }]);
    const leaf = await scriptedAgent(rt.t, owner.auth, 'leaf');
    rt.scripts.write('root', [
      { toolCalls: [{ name: 'call_agent', arguments: { agent: leaf.slug, input: 'hi' } }] },
      { content: 'root done', expect: { lastContains: 'runs for' } },
    ]);
    const root = await scriptedAgent(rt.t, owner.auth, 'root', { tools: ['call_agent'] });
    const used = ok(await call(rt.t, 'GET', '/v1/usage', owner.auth)).runs.used as number;
    await setMaxExecutions(used + 1);
    const e = ok(await runAgent(rt.t, owner.auth, root.id, { input: 'go' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'root done' } });
    const m = ok(await call(rt.t, 'GET', `/v1/messages?executionId=${e.id}`, owner.auth)).data;
    expect(m).toMatchObject([{ status: 'failed' }]);
    expect(m[0].errorMessage).toContain('could not be called');
    await setMaxExecutions(1000);
  });

  it('refuses a run once the month\'s cost reaches the budget with 402 budget_exceeded, writing nothing', async () => {
    // 100,000 prompt tokens of gpt-4o-mini cost $0.015, over a $0.01 budget.
    rt.scripts.write('costly', [{ content: 'expensive', usage: { promptTokens: 100_000, completionTokens: 0 } }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'costly');
    const setBudget = async (usd: number | null) => {
      const org = ok(await call(rt.t, 'GET', '/v1/org', owner.auth));
      const patched = ok(await call(rt.t, 'PATCH', '/v1/org', owner.auth, { version: org.version, monthlyCostBudgetUsd: usd }));
      expect(patched.monthlyCostBudgetUsd).toBe(usd);
    };
    await setBudget(0.01);
    ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'spend' }));

    const before = await rowCounts(rt.t);
    const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'spend more', mode: 'async' });
    expect(res.statusCode).toBe(402);
    const err = res.json().error;
    expect(err.code).toBe('budget_exceeded');
    expect(err.message).toContain('of its monthly cost budget of $0.01');
    expect(err.message).toContain(nextMonth());
    expect(err.details).toMatchObject({ limit: 'monthly_cost_budget_usd', budgetUsd: 0.01, resetsAt: nextMonth() });
    expect(err.details.spentUsd).toBeGreaterThanOrEqual(0.015);
    expect(await rowCounts(rt.t)).toEqual(before);

    await setBudget(null);
    expect((await runAgent(rt.t, owner.auth, agent.id, { input: 'ok now' })).statusCode).toBe(200);
  });
});
