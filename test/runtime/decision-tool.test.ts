import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ok, runAgent, runtimeApp, scriptedAgent, type RuntimeTest } from './run-fixtures.js';

/**
 * record_decision: a decision the model records becomes a decision of the
 * run's execution (with its session), recorded as a reasoning_step span of
 * the trace; bad arguments are an error the model sees, and nothing is written.
 */
let rt: RuntimeTest;
beforeAll(async () => {
  rt = await runtimeApp();
});
afterAll(async () => rt?.close());

const chain = [
  { action: 'analyze_market_signals', reasoning: 'Three high-impact signals point at remote work security', confidence: 0.85 },
  { action: 'generate_ideas', reasoning: 'A zero-trust angle fits the signals', confidence: 0.78 },
];

describe('record_decision', () => {
  it('records the decision on the execution and shows it as a reasoning step in the trace', async () => {
    rt.scripts.write('decider', [
      { expect: { tools: ['record_decision'] }, toolCalls: [{ name: 'record_decision', arguments: { decisionType: 'idea_generation', choice: { theme: 'Zero trust for hybrid teams' }, reasoningChain: chain, confidence: 0.8, dataSources: ['market_signals'] } }] },
      { expect: { lastRole: 'tool', lastContains: 'recorded' }, content: 'Chose: Zero trust for hybrid teams' },
    ]);
    const agent = await scriptedAgent(rt.t, rt.owner.auth, 'decider', { tools: ['record_decision'] });
    const run = ok(await runAgent(rt.t, rt.owner.auth, agent.id, { input: 'Pick a theme', sessionToken: 'campaign-chat' }));
    expect(run.status).toBe('completed');
    const decisions = ok(await call(rt.t, 'GET', `/v1/decisions?executionId=${run.id}`, rt.owner.auth)).data;
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      decisionType: 'idea_generation', confidenceScore: 0.8, executionId: run.id, agentId: agent.id, modelUsed: 'gpt-4o-mini',
      reasoningChain: [{ step: 1, action: 'analyze_market_signals' }, { step: 2, action: 'generate_ideas' }],
      dataSources: ['market_signals'],
    });
    expect(decisions[0].sessionId).toBeTruthy();
    const detail = ok(await call(rt.t, 'GET', `/v1/executions/${run.id}`, rt.owner.auth));
    const kinds = detail.spans.map((s: { kind: string; name: string }) => `${s.kind}:${s.name}`);
    expect(kinds).toContain('reasoning_step:record_decision');
  });

  it('answers bad arguments with an error the model sees and records nothing', async () => {
    rt.scripts.write('bad-decider', [
      { toolCalls: [{ name: 'record_decision', arguments: { decisionType: 'x', choice: 1, reasoningChain: [], confidence: 2 } }] },
      { expect: { lastRole: 'tool', lastContains: 'not valid' }, content: 'ok' },
    ]);
    const agent = await scriptedAgent(rt.t, rt.owner.auth, 'bad-decider', { tools: ['record_decision'] });
    const run = ok(await runAgent(rt.t, rt.owner.auth, agent.id, { input: 'Decide' }));
    expect(run.status).toBe('completed');
    expect(ok(await call(rt.t, 'GET', `/v1/decisions?executionId=${run.id}`, rt.owner.auth)).data).toEqual([]);
  });
});
