/**
 * The organization's monthly cost budget bounds a run while it runs, not only
 * when it starts: the run tree's maxCostUsd is at most what was left of the
 * budget (when the run was recorded, or for a queued run when it starts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKeys } from '../../src/identity/index.js';
import { createRuntime, runQueued } from '../../src/runtime/index.js';
import { TEST_SECRET, type SignedUp } from '../helpers/app.js';
import { call, ok, runAgent, runtimeApp, scriptedAgent, type RuntimeTest } from './run-fixtures.js';

let rt: RuntimeTest;
let owner: SignedUp;

beforeAll(async () => {
  rt = await runtimeApp();
  owner = rt.owner;
});
afterAll(async () => rt?.close());

async function setBudget(usd: number | null): Promise<void> {
  const org = ok(await call(rt.t, 'GET', '/v1/org', owner.auth));
  ok(await call(rt.t, 'PATCH', '/v1/org', owner.auth, { version: org.version, monthlyCostBudgetUsd: usd }));
}

/** Each model call: 100,000 prompt tokens of gpt-4o-mini, $0.015; it keeps asking for a tool five times. */
function costlyLoop(): void {
  const turn = { toolCalls: [{ name: 'context_get', arguments: {} }], usage: { promptTokens: 100_000, completionTokens: 0 } };
  rt.scripts.write('costly-loop', [turn, turn, turn, turn, turn, { content: 'finished', usage: { promptTokens: 100_000, completionTokens: 0 } }]);
}

describe('the monthly cost budget during a run', () => {
  it('a lower request limit stays the limit', async () => {
    costlyLoop();
    const agent = await scriptedAgent(rt.t, owner.auth, 'costly-loop', { tools: ['context_get'] });
    await setBudget(1);
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go', limits: { maxCostUsd: 0.01 } }));
    expect(e).toMatchObject({ status: 'failed', errorCode: 'cost_limit_exceeded' });
    expect(e.errorMessage).toContain('(limits.maxCostUsd)');
    expect(e.costUsd).toBeCloseTo(0.015, 9);
  });

  it('a sync run stops once it has spent what was left of the budget when it started', async () => {
    costlyLoop();
    const agent = await scriptedAgent(rt.t, owner.auth, 'costly-loop', { tools: ['context_get'] });
    // $0.015 spent above; $0.025 left: the second call (to $0.03) reaches it.
    await setBudget(0.04);
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go' }));
    expect(e).toMatchObject({ status: 'failed', errorCode: 'cost_limit_exceeded' });
    expect(e.errorMessage).toContain("the organization's monthly cost budget when it started, $0.025");
    expect(e.costUsd).toBeCloseTo(0.03, 9);
    expect(e.spans.filter((s: { kind: string }) => s.kind === 'llm_call')).toHaveLength(2);
  });

  it('a queued run gets what is left when it starts', async () => {
    costlyLoop();
    const agent = await scriptedAgent(rt.t, owner.auth, 'costly-loop', { tools: ['context_get'] });
    // $0.045 spent; $0.025 left.
    await setBudget(0.07);
    const { executionId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go', mode: 'async' }), 202);
    const runtime = createRuntime({ db: rt.t.db, config: rt.t.config.runtime, keys: deriveKeys(TEST_SECRET) });
    expect(await runQueued(runtime, owner.orgId, executionId)).toEqual({ status: 'failed' });
    const e = ok(await call(rt.t, 'GET', `/v1/executions/${executionId}`, owner.auth));
    expect(e).toMatchObject({ status: 'failed', errorCode: 'cost_limit_exceeded' });
    expect(e.errorMessage).toContain('$0.025');
  });

  it('without a budget, a run is not held to one', async () => {
    costlyLoop();
    const agent = await scriptedAgent(rt.t, owner.auth, 'costly-loop', { tools: ['context_get'] });
    await setBudget(null);
    expect(ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go' }))).toMatchObject({ status: 'completed', output: { content: 'finished' } });
  });
});
