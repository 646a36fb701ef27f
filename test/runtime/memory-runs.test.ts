/**
 * Memory in runs: the memory tools (offered to agents with memory enabled
 * only), recall before the model call by memory type within the token budget,
 * memory_access spans in the trace, and tenant isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECALL_HEADER, estimateTokens } from '../../src/runtime/index.js';
import { signupUser, type SignedUp } from '../helpers/app.js';
import { call, ok, runAgent, runtimeApp, scriptedAgent, type Auth, type Body, type RuntimeTest } from './run-fixtures.js';

let rt: RuntimeTest;
let owner: SignedUp;

beforeAll(async () => {
  rt = await runtimeApp();
  owner = rt.owner;
});
afterAll(async () => {
  await rt?.close();
});

const spansOf = (e: { spans: Body[] }): Body[] => e.spans.flatMap(function flat(s: Body): Body[] { return [s, ...s.children.flatMap(flat)]; });
/** The whole prompt of the run's first model call (its llm span's input). */
const firstPrompt = (e: Body): string => JSON.stringify(spansOf(e).find((s) => s.kind === 'llm_call' && s.stepNumber === 1).input);

/** Every object of a JSON document with this kind, by id. */
function objectsOfKind(doc: unknown, kind: string): Body[] {
  const out = new Map<string, Body>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Body;
      if (o.kind === kind && typeof o.id === 'string') out.set(o.id, o);
      Object.values(o).forEach(walk);
    }
  };
  walk(doc);
  return [...out.values()];
}

async function remember(auth: Auth, agentId: string, items: Record<string, unknown>[]) {
  for (const item of items) ok(await call(rt.t, 'POST', `/v1/agents/${agentId}/memories`, auth, item), 201);
}

const memoriesOf = async (auth: Auth, agentId: string, query = '') =>
  ok(await call(rt.t, 'GET', `/v1/agents/${agentId}/memories${query}`, auth)).data as Body[];

describe('memory tools', () => {
  it('a fact saved with memory_save in one session is recalled in another, injected and with memory_search; all are memory_access spans in the trace', async () => {
    // Rules, not ordered turns: each run replays the script afresh, and the two runs say different things.
    rt.scripts.write('remembers', [
      { when: { lastContains: 'Remember that' }, toolCalls: [{ id: 's1', name: 'memory_save', arguments: { content: 'The user is allergic to peanuts', memoryType: 'fact', importance: 0.9, tags: ['health'] } }] },
      { when: { lastContains: '"saved":true' }, content: 'Noted.' },
      { when: { lastContains: 'What am I allergic to' }, toolCalls: [{ id: 'q1', name: 'memory_search', arguments: { query: 'allergic peanuts', limit: 3 } }] },
      { when: { lastContains: '"memories"' }, content: 'You are allergic to peanuts.' },
    ]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'remembers', { memoryType: 'hybrid' });

    const a = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Remember that I am allergic to peanuts', sessionToken: 'mem-session-a' }));
    expect(a).toMatchObject({ status: 'completed', output: { content: 'Noted.' } });
    const saved = await memoriesOf(owner.auth, agent.id);
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({
      content: 'The user is allergic to peanuts', memoryType: 'fact', importance: 0.9, tags: ['health'], sessionId: a.sessionId, executionId: a.id,
    });
    const saveSpan = spansOf(a).find((s) => s.name === 'memory_save');
    expect(saveSpan).toMatchObject({ kind: 'memory_access', status: 'ok', toolName: 'memory_save', output: { saved: true, id: saved[0]!.id } });
    expect(saveSpan.attributes).toMatchObject({ operation: 'save', hits: [{ id: saved[0]!.id, score: null }] });
    expect(saveSpan.attributes.latencyMs).toBeGreaterThanOrEqual(0);

    const b = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'What am I allergic to?', sessionToken: 'mem-session-b' }));
    expect(b).toMatchObject({ status: 'completed', output: { content: 'You are allergic to peanuts.' } });
    expect(b.sessionId).not.toBe(a.sessionId);
    // Injected before the first model call (hybrid recalls long-term memories) …
    const prompt = firstPrompt(b);
    expect(prompt).toContain(RECALL_HEADER);
    expect(prompt).toContain('- [fact] The user is allergic to peanuts');
    const recall = spansOf(b).find((s) => s.name === 'memory_recall');
    expect(recall.attributes).toMatchObject({ query: 'What am I allergic to?', injected: [saved[0]!.id] });
    // … and found by the model's own search.
    const searchSpan = spansOf(b).find((s) => s.name === 'memory_search');
    expect(searchSpan).toMatchObject({ kind: 'memory_access', status: 'ok', input: { query: 'allergic peanuts', limit: 3 } });
    expect(searchSpan.output.memories[0]).toMatchObject({ id: saved[0]!.id, content: 'The user is allergic to peanuts', memoryType: 'fact' });
    expect(searchSpan.attributes).toMatchObject({ operation: 'search', query: 'allergic peanuts', hits: [{ id: saved[0]!.id }] });
    expect(searchSpan.attributes.hits[0].score).toBeGreaterThan(0);

    // GET /v1/traces shows them like any other span.
    const trace = ok(await call(rt.t, 'GET', `/v1/traces/${b.traceId}`, owner.auth));
    const inTrace = objectsOfKind(trace, 'memory_access');
    expect(inTrace.map((s) => s.id)).toContain(searchSpan.id);
    expect(inTrace.find((s) => s.id === searchSpan.id).attributes).toMatchObject({ query: 'allergic peanuts', hits: [{ id: saved[0]!.id }] });
  });

  it('bad arguments are error outcomes the model sees, not failed runs', async () => {
    rt.scripts.write('bad-memory-args', [
      {
        toolCalls: [
          { id: 'b1', name: 'memory_search', arguments: {} },
          { id: 'b2', name: 'memory_search', arguments: { query: 'x', limit: 50 } },
          { id: 'b3', name: 'memory_save', arguments: { content: 'ok', importance: 5 } },
          { id: 'b4', name: 'memory_save', arguments: { content: 'ok', memoryType: 'gossip' } },
          { id: 'b5', name: 'memory_save', arguments: { content: '   ' } },
        ],
        expect: { tools: ['memory_search', 'memory_save'] },
      },
      { content: 'Sorry.', expect: { lastRole: 'tool', lastContains: 'the arguments are not valid' } },
    ]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'bad-memory-args');
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Go' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'Sorry.' } });
    expect(e.toolCalls.map((c: Body) => c.isError)).toEqual([true, true, true, true, true]);
    const spans = spansOf(e).filter((s) => s.kind === 'memory_access');
    expect(spans).toHaveLength(5);
    for (const s of spans) {
      expect(s.status).toBe('error');
      expect(s.errorMessage).toContain('the arguments are not valid');
    }
    expect(spans.find((s) => s.input.limit === 50).errorMessage).toContain('limit');
    expect(spans.find((s) => s.input.importance === 5).errorMessage).toContain('importance');
    expect(await memoriesOf(owner.auth, agent.id)).toEqual([]);
  });

  it('an agent with memory off is offered no memory tools and recalls nothing', async () => {
    rt.scripts.write('no-memory', [
      { toolCalls: [{ id: 'n1', name: 'memory_search', arguments: { query: 'anything' } }], expect: { noneContains: RECALL_HEADER } },
      { content: 'Fine.', expect: { lastContains: 'there is no tool named memory_search; the tools are: context_get' } },
    ]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'no-memory', { memoryEnabled: false, memoryType: 'hybrid', tools: ['context_get'] });
    await remember(owner.auth, agent.id, [{ content: 'anything at all', memoryType: 'fact' }]);
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'anything' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'Fine.' } });
    expect(spansOf(e).filter((s) => s.kind === 'memory_access')).toEqual([]);
    expect(spansOf(e).find((s) => s.name === 'memory_search')).toMatchObject({ kind: 'tool_call', status: 'error' });
  });
});

describe('what each memory type injects', () => {
  const seed = [
    { content: 'The user favourite city is Paris', memoryType: 'preference', importance: 0.9 },
    { content: 'The user travels with a dog named Rex', memoryType: 'fact' },
  ];

  async function twoRuns(memoryType: string) {
    rt.scripts.write(`answers-${memoryType}`, [{ content: 'ok' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, `answers-${memoryType}`, { memoryType });
    await remember(owner.auth, agent.id, seed);
    const token = `types-${memoryType}`;
    ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'I like night trains', sessionToken: token }));
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Which city is my favourite?', sessionToken: token }));
    return { e, prompt: firstPrompt(e), recall: spansOf(e).find((s) => s.name === 'memory_recall') };
  }

  it('conversation: the session turns, no recalled memories', async () => {
    const { prompt, recall } = await twoRuns('conversation');
    expect(prompt).toContain('I like night trains');
    expect(prompt).not.toContain(RECALL_HEADER);
    expect(recall).toBeUndefined();
  });

  it('long_term: the memories recalled for the user message as one system message, not the session turns', async () => {
    const { e, prompt, recall } = await twoRuns('long_term');
    expect(prompt).not.toContain('I like night trains');
    const messages = spansOf(e).find((s) => s.kind === 'llm_call' && s.stepNumber === 1).input as Body[];
    const system = messages.find((m) => m.role === 'system' && m.content.startsWith(RECALL_HEADER));
    expect(system.content).toContain('- [preference] The user favourite city is Paris');
    // The recalled message sits before the input, the input is last.
    expect(messages.at(-1)).toMatchObject({ role: 'user', content: 'Which city is my favourite?' });
    expect(recall).toMatchObject({ kind: 'memory_access', status: 'ok', stepNumber: 0, input: { query: 'Which city is my favourite?' } });
    expect(recall.attributes).toMatchObject({ operation: 'recall', query: 'Which city is my favourite?', tokenBudget: 1000 });
    expect(recall.attributes.hits.length).toBeGreaterThan(0);
    expect(recall.attributes.injected).toEqual(recall.attributes.hits.map((h: Body) => h.id));
  });

  it('hybrid: both', async () => {
    const { prompt, recall } = await twoRuns('hybrid');
    expect(prompt).toContain('I like night trains');
    expect(prompt).toContain(RECALL_HEADER);
    expect(prompt).toContain('The user favourite city is Paris');
    expect(recall.attributes.injected.length).toBeGreaterThan(0);
  });

  it('recalled memories stay within injectTokenBudget, best first; a budget of 0 injects nothing', async () => {
    rt.scripts.write('budget', [{ content: 'ok' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'budget', { memoryType: 'long_term' });
    const filler = 'with a long explanation of the reasons and the circumstances that made it so, kept for later';
    await remember(owner.auth, agent.id, ['Lisbon', 'Porto', 'Madrid', 'Seville', 'Granada'].map((c) => ({ content: `The user visited ${c} by train ${filler}`, memoryType: 'fact' })));
    const budget = 120;
    ok(await call(rt.t, 'PUT', `/v1/agents/${agent.id}/memory/config`, owner.auth, { injectTokenBudget: budget }));
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Which cities did I visit by train?' }));
    const recall = spansOf(e).find((s) => s.name === 'memory_recall');
    expect(recall.attributes.hits).toHaveLength(5);
    const injected = recall.attributes.injected as string[];
    expect(injected.length).toBeGreaterThan(0);
    expect(injected.length).toBeLessThan(5);
    // Best first: the injected ones are the top of the ranking.
    expect(injected).toEqual(recall.attributes.hits.slice(0, injected.length).map((h: Body) => h.id));
    const messages = spansOf(e).find((s) => s.kind === 'llm_call').input as Body[];
    const system = messages.find((m) => m.role === 'system' && m.content.startsWith(RECALL_HEADER));
    expect(estimateTokens(system.content)).toBeLessThanOrEqual(budget);
    expect(recall.attributes.estimatedTokens).toBeLessThanOrEqual(budget);
    expect(system.content.split('\n- ')).toHaveLength(injected.length + 1);

    ok(await call(rt.t, 'PUT', `/v1/agents/${agent.id}/memory/config`, owner.auth, { injectTokenBudget: 0 }));
    const none = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Which cities did I visit by train?' }));
    expect(firstPrompt(none)).not.toContain(RECALL_HEADER);
    expect(spansOf(none).filter((s) => s.kind === 'memory_access')).toEqual([]);
  });
});

describe('tenants', () => {
  it("another organization's memories are never recalled or found", async () => {
    rt.scripts.write('tenant-a', [{ content: 'ok' }]);
    const a = await scriptedAgent(rt.t, owner.auth, 'tenant-a', { memoryType: 'long_term' });
    await remember(owner.auth, a.id, [{ content: 'The secret launch code is zebra-42', memoryType: 'fact', importance: 1 }]);

    const other = await signupUser(rt.t.app, { organizationName: 'Other Org' });
    rt.scripts.write('tenant-b', [
      { toolCalls: [{ id: 't1', name: 'memory_search', arguments: { query: 'secret launch code zebra', limit: 20 } }], expect: { noneContains: 'zebra-42' } },
      { content: 'I know nothing.', expect: { lastContains: '"memories":[]' } },
    ]);
    const b = await scriptedAgent(rt.t, other.auth, 'tenant-b', { memoryType: 'hybrid' });
    const e = ok(await runAgent(rt.t, other.auth, b.id, { input: 'What is the secret launch code zebra?' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'I know nothing.' } });
    expect(JSON.stringify(e)).not.toContain('zebra-42');
    const recall = spansOf(e).find((s) => s.name === 'memory_recall');
    expect(recall.attributes).toMatchObject({ hits: [], injected: [] });
  });
});
