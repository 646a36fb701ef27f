import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedUp } from '../helpers/app.js';
import { call, ok, parseSse, readyAgent, rowCounts, runAgent, runtimeApp, scriptedAgent, startToolApi, type RuntimeTest } from './run-fixtures.js';

// gpt-4o-mini's shipped price (migration 0006): $0.15 / M input tokens, $0.60 / M output tokens.
const MINI = { input: 0.00000015, output: 0.0000006 };
const cost = (prompt: number, completion: number) => Math.round((prompt * MINI.input + completion * MINI.output) * 1e6) / 1e6;

let rt: RuntimeTest;
let owner: SignedUp;
let api: Awaited<ReturnType<typeof startToolApi>>;

beforeAll(async () => {
  // Depth 1: an agent may call another, which may not call a third (tested below).
  rt = await runtimeApp({ AGENTBASE_EGRESS_ALLOW_PRIVATE: 'true', AGENTBASE_RUN_MAX_DEPTH: '1' });
  owner = rt.owner;
  api = await startToolApi((req, _body, res) => {
    const city = new URL(req.url ?? '/', 'http://x').searchParams.get('city');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ city, temperatureC: 21 }));
  });
});
afterAll(async () => {
  await api?.close();
  await rt?.close();
});

const spansOf = (e: { spans: Body[] }): Body[] => e.spans.flatMap(function flat(s: Body): Body[] { return [s, ...s.children.flatMap(flat)]; });
type Body = ReturnType<typeof JSON.parse>;

describe('a run on the scripted provider', () => {
  it('answers, and records the execution, one priced llm_call span and the totals', async () => {
    rt.scripts.write('hello', [{ content: 'Hello! Where to?', usage: { promptTokens: 100, completionTokens: 20 }, expect: { lastRole: 'user', lastContains: 'trip' } }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'hello');
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Plan a trip' }));
    expect(e).toMatchObject({
      agentId: agent.id, status: 'completed', output: { content: 'Hello! Where to?' }, input: { input: 'Plan a trip' },
      modelProvider: 'scripted', modelName: 'gpt-4o-mini', promptTokens: 100, completionTokens: 20, totalTokens: 120,
      userId: owner.userId, parentExecutionId: null, errorCode: null,
    });
    expect(e.costUsd).toBeCloseTo(cost(100, 20), 9);
    expect(e.startedAt).not.toBeNull();
    expect(e.completedAt).not.toBeNull();
    const spans = spansOf(e);
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({
      kind: 'llm_call', model: 'gpt-4o-mini', provider: 'openai', promptTokens: 100, completionTokens: 20, totalTokens: 120,
      stepNumber: 1, status: 'ok', traceId: e.traceId, parentSpanId: e.spanId, output: { content: 'Hello! Where to?' },
    });
    expect(spans[0].costUsd).toBeCloseTo(cost(100, 20), 9);
    expect(spans[0].attributes).toMatchObject({ runtimeProvider: 'scripted', finishReason: 'stop' });
    // The cost roll-up the runs module keeps counted it.
    const day = new Date().toISOString().slice(0, 10);
    const c = ok(await call(rt.t, 'GET', `/v1/costs?groupBy=agent&from=${day}&to=${day}`, owner.auth));
    expect(JSON.stringify(c)).toContain(agent.id);
  });

  it('calls tools (a stored http tool and a built-in) and records a tool_call span for each', async () => {
    ok(await call(rt.t, 'POST', '/v1/secrets', owner.auth, { name: 'WEATHER_KEY', value: 'wk-secret-value-99', allowedHosts: ['127.0.0.1'] }), 201);
    const tool = ok(await call(rt.t, 'POST', '/v1/tools', owner.auth, {
      name: 'get_weather',
      description: 'Weather for a city',
      toolType: 'api',
      config: { url: `${api.url}/weather`, method: 'GET', query: { city: '{city}' }, headers: { 'x-api-key': { secret: 'WEATHER_KEY' } } },
      inputSchema: { type: 'object', properties: { city: { type: 'string', minLength: 1 } }, required: ['city'], additionalProperties: false },
    }), 201);
    rt.scripts.write('weather', [
      { toolCalls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Paris' } }], usage: { promptTokens: 50, completionTokens: 10 }, expect: { tools: ['get_weather', 'context_get'] } },
      { toolCalls: [{ id: 'c2', name: 'get_weather', arguments: {} }, { id: 'c3', name: 'context_get', arguments: {} }], usage: { promptTokens: 80, completionTokens: 10 }, expect: { lastRole: 'tool', lastContains: 'temperatureC' } },
      { content: 'It is 21°C in Paris.', usage: { promptTokens: 120, completionTokens: 12 }, expect: { lastContains: 'no conversation session' } },
    ]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'weather', { tools: [tool.id, 'context_get'] });
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Weather in Paris?' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'It is 21°C in Paris.' }, promptTokens: 250, completionTokens: 32 });
    expect(e.costUsd).toBeCloseTo(cost(250, 32), 9);
    expect(api.seen.map((s) => s.url)).toEqual(['/weather?city=Paris']);
    expect(api.seen[0]!.headers['x-api-key']).toBe('wk-secret-value-99');
    expect(JSON.stringify(e)).not.toContain('wk-secret-value-99');

    const spans = spansOf(e);
    expect(spans.filter((s) => s.kind === 'llm_call').map((s) => s.stepNumber)).toEqual([1, 2, 3]);
    const tools = spans.filter((s) => s.kind === 'tool_call');
    expect(tools).toHaveLength(3);
    const paris = tools.find((s) => s.name === 'get_weather' && s.stepNumber === 1);
    const missing = tools.find((s) => s.name === 'get_weather' && s.stepNumber === 2);
    const ctx = tools.find((s) => s.name === 'context_get');
    expect(ctx).toMatchObject({ name: 'context_get', toolName: 'context_get', toolStatus: 'error', status: 'error', stepNumber: 2 });
    expect(paris).toMatchObject({ toolName: 'get_weather', toolStatus: 'success', status: 'ok', stepNumber: 1, input: { city: 'Paris' }, output: { status: 200, body: { city: 'Paris', temperatureC: 21 } } });
    expect(paris.durationMs).toBeGreaterThanOrEqual(0);
    expect(paris.attributes).toMatchObject({ status: 200, method: 'GET' });
    expect(missing).toMatchObject({ toolStatus: 'error', status: 'error', stepNumber: 2, input: {} });
    expect(missing.errorMessage).toContain('city');
    expect(e.toolCalls).toEqual([
      expect.objectContaining({ step: 1, id: 'c1', name: 'get_weather', isError: false }),
      expect.objectContaining({ step: 2, id: 'c2', name: 'get_weather', isError: true }),
      expect.objectContaining({ step: 2, id: 'c3', name: 'context_get', isError: true }),
    ]);
  });

  it('answers a call of a tool the agent does not have, or with broken arguments, with an error the model sees', async () => {
    rt.scripts.write('unknown-tool', [
      { toolCalls: [{ id: 'x', name: 'launch_rocket', arguments: {} }] },
      { content: 'Sorry.', expect: { lastRole: 'tool', lastContains: 'there is no tool named launch_rocket' } },
    ]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'unknown-tool');
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Go' }));
    expect(e.status).toBe('completed');
    expect(spansOf(e).find((s) => s.kind === 'tool_call')).toMatchObject({ name: 'launch_rocket', status: 'error' });
  });

  it('streams a run as server-sent events: execution, step, delta, tool_call, tool_result, done', async () => {
    rt.scripts.write('stream', [
      { toolCalls: [{ id: 's1', name: 'context_set', arguments: { key: 'k', value: 1 } }] },
      { content: 'All done here' },
    ]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'stream', { tools: ['context_set'] });
    const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'Go', mode: 'stream' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const events = parseSse(res.body);
    expect(events.map((e) => e.event)).toEqual(['execution', 'step', 'tool_call', 'tool_result', 'step', 'delta', 'delta', 'delta', 'done']);
    const executionId = events[0]!.data.executionId;
    expect(events[2]!.data).toMatchObject({ name: 'context_set', arguments: { key: 'k', value: 1 }, executionId });
    expect(events[3]!.data).toMatchObject({ name: 'context_set', isError: true });
    expect(events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('')).toBe('All done here');
    expect(events.at(-1)!.data.execution).toMatchObject({ id: executionId, status: 'completed', output: { content: 'All done here' } });
  });
});

describe('agent-to-agent calls', () => {
  it('run the other agent as a child execution, recorded as a message and an agent_call span', async () => {
    rt.scripts.write('child', [{ content: 'Rome is lovely in May', usage: { promptTokens: 30, completionTokens: 6 }, expect: { lastContains: 'Suggest a city' } }]);
    const child = await scriptedAgent(rt.t, owner.auth, 'child');
    rt.scripts.write('parent', [
      { toolCalls: [{ id: 'a1', name: 'call_agent', arguments: { agent: child.slug, input: 'Suggest a city' } }], usage: { promptTokens: 40, completionTokens: 8 }, expect: { tools: ['call_agent'] } },
      { content: 'Go to Rome.', usage: { promptTokens: 60, completionTokens: 4 }, expect: { lastRole: 'tool', lastContains: 'Rome is lovely in May' } },
    ]);
    const parent = await scriptedAgent(rt.t, owner.auth, 'parent', { tools: ['call_agent'] });
    const e = ok(await runAgent(rt.t, owner.auth, parent.id, { input: 'Where should I go?' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'Go to Rome.' }, promptTokens: 100, completionTokens: 12 });
    expect(e.costUsd).toBeCloseTo(cost(100, 12), 9);

    const callSpan = spansOf(e).find((s) => s.kind === 'agent_call');
    expect(callSpan).toMatchObject({ name: 'call_agent', toolName: 'call_agent', status: 'ok', input: { agent: child.slug, input: 'Suggest a city' } });
    const childId = callSpan.attributes.childExecutionId as string;
    expect(e.toolCalls[0]).toMatchObject({ name: 'call_agent', childExecutionId: childId });

    const c = ok(await call(rt.t, 'GET', `/v1/executions/${childId}`, owner.auth));
    expect(c).toMatchObject({
      agentId: child.id, parentExecutionId: e.id, status: 'completed', output: { content: 'Rome is lovely in May' },
      traceId: e.traceId, parentSpanId: callSpan.spanId, promptTokens: 30, completionTokens: 6, input: { input: 'Suggest a city' },
    });
    expect(c.costUsd).toBeCloseTo(cost(30, 6), 9);
    expect(spansOf(c).map((s) => s.kind)).toEqual(['llm_call']);

    const messages = ok(await call(rt.t, 'GET', `/v1/messages?executionId=${e.id}`, owner.auth)).data;
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      fromAgentId: parent.id, toAgentId: child.id, fromAgent: parent.slug, toAgent: child.slug, messageType: 'agent_call',
      messageData: { input: 'Suggest a city' }, status: 'processed', traceId: e.traceId,
      responseData: { executionId: childId, status: 'completed', output: 'Rome is lovely in May' },
    });
    expect(messages[0].responseTimeMs).toBeGreaterThanOrEqual(0);
    expect(messages[0].processedAt).not.toBeNull();
    // The whole tree is one trace.
    const trace = ok(await call(rt.t, 'GET', `/v1/traces/${e.traceId}`, owner.auth));
    expect(trace.executions.map((x: Body) => x.id).sort()).toEqual([e.id, childId].sort());
  });

  it('refuses a cycle, a call deeper than the limit, a callee not in callableAgents, and an unknown agent — as tool errors', async () => {
    const leaf = await readyAgent(rt.t, owner.auth, { modelSettings: { provider: 'scripted', script: 'never-called' } });
    // middle (depth 1) may not call leaf: depth 2 > AGENTBASE_RUN_MAX_DEPTH 1.
    rt.scripts.write('middle', [
      { toolCalls: [{ name: 'call_agent', arguments: { agent: leaf.slug, input: 'hi' } }] },
      { content: 'middle done', expect: { lastContains: 'at most 1 deep' } },
    ]);
    const middle = await scriptedAgent(rt.t, owner.auth, 'middle', { tools: ['call_agent'] });
    const selfSlug = `${middle.slug}-top`;
    rt.scripts.write('top', [
      { toolCalls: [{ name: 'call_agent', arguments: { agent: selfSlug, input: 'me again' } }] },
      { toolCalls: [{ name: 'call_agent', arguments: { agent: 'nobody-here', input: 'hi' } }], expect: { lastContains: 'would make a cycle' } },
      { toolCalls: [{ name: 'call_agent', arguments: { agent: middle.slug, input: 'hi' } }], expect: { lastContains: 'no agent with slug nobody-here' } },
      { content: 'top done', expect: { lastContains: 'middle done' } },
    ]);
    const top = await scriptedAgent(rt.t, owner.auth, 'top', { slug: selfSlug, tools: ['call_agent'] });
    const e = ok(await runAgent(rt.t, owner.auth, top.id, { input: 'go' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'top done' } });
    const calls = spansOf(e).filter((s) => s.kind === 'agent_call');
    expect(calls.map((s) => s.status)).toEqual(['error', 'error', 'ok']);

    rt.scripts.write('picky', [
      { toolCalls: [{ name: 'call_agent', arguments: { agent: leaf.slug, input: 'hi' } }] },
      { content: 'ok', expect: { lastContains: 'may call only these agents: someone-else' } },
    ]);
    const picky = await scriptedAgent(rt.t, owner.auth, 'picky', {
      tools: ['call_agent'], modelSettings: { provider: 'scripted', script: 'picky', callableAgents: ['someone-else'] },
    });
    expect(ok(await runAgent(rt.t, owner.auth, picky.id, { input: 'go' })).status).toBe('completed');
  });

  it('a child that fails is a tool error for the parent, and its message is marked failed', async () => {
    rt.scripts.write('broken-child', []);
    const child = await scriptedAgent(rt.t, owner.auth, 'broken-child');
    rt.scripts.write('caller', [
      { toolCalls: [{ name: 'call_agent', arguments: { agent: child.slug, input: 'help' } }] },
      { content: 'I could not get help.', expect: { lastContains: 'did not answer (failed)' } },
    ]);
    const parent = await scriptedAgent(rt.t, owner.auth, 'caller', { tools: ['call_agent'] });
    const e = ok(await runAgent(rt.t, owner.auth, parent.id, { input: 'go' }));
    expect(e.status).toBe('completed');
    const m = ok(await call(rt.t, 'GET', `/v1/messages?executionId=${e.id}`, owner.auth)).data[0];
    expect(m).toMatchObject({ status: 'failed', responseData: { status: 'failed' } });
    const c = ok(await call(rt.t, 'GET', `/v1/executions/${m.responseData.executionId}`, owner.auth));
    expect(c).toMatchObject({ status: 'failed', errorCode: 'provider_error', parentExecutionId: e.id });
  });
});

describe('limits', () => {
  it('ends a run that keeps asking for tools after maxSteps model calls: failed, max_steps_exceeded', async () => {
    const loop = Array.from({ length: 5 }, (_, i) => ({ toolCalls: [{ id: `l${i}`, name: 'context_get', arguments: {} }], usage: { promptTokens: 10, completionTokens: 1 } }));
    rt.scripts.write('loop', loop);
    const agent = await scriptedAgent(rt.t, owner.auth, 'loop', { tools: ['context_get'] });
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go', limits: { maxSteps: 2 } }));
    expect(e).toMatchObject({ status: 'failed', errorCode: 'max_steps_exceeded', promptTokens: 20, completionTokens: 2 });
    expect(e.errorMessage).toContain('limits.maxSteps 2');
    const spans = spansOf(e);
    expect(spans.filter((s) => s.kind === 'llm_call')).toHaveLength(2);
    // The second step's tool calls are not run: no step is left to show their results to the model.
    expect(spans.filter((s) => s.kind === 'tool_call')).toHaveLength(1);
  });

  it('ends a run at maxTokens and at maxCostUsd (as the runs module priced it)', async () => {
    const turns = [
      { toolCalls: [{ name: 'context_get', arguments: {} }], usage: { promptTokens: 100, completionTokens: 20 } },
      { content: 'never reached' },
    ];
    rt.scripts.write('spender', turns);
    const agent = await scriptedAgent(rt.t, owner.auth, 'spender', { tools: ['context_get'] });
    const byTokens = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go', limits: { maxTokens: 100 } }));
    expect(byTokens).toMatchObject({ status: 'failed', errorCode: 'max_tokens_exceeded', totalTokens: 120 });
    const byCost = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go', limits: { maxCostUsd: 0.00002 } }));
    expect(byCost).toMatchObject({ status: 'failed', errorCode: 'cost_limit_exceeded' });
    expect(byCost.costUsd).toBeCloseTo(cost(100, 20), 9);
    const generous = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go', limits: { maxTokens: 1000, maxCostUsd: 1 } }));
    expect(generous).toMatchObject({ status: 'completed', output: { content: 'never reached' } });
  });

  it('refuses limits above what the service allows (400)', async () => {
    const agent = await scriptedAgent(rt.t, owner.auth, 'hello');
    const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'go', limits: { maxSteps: 999 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('AGENTBASE_RUN_MAX_STEPS');
  });
});

describe('what a run needs', () => {
  it('a provider error is recorded on the execution and answered 502 provider_error', async () => {
    rt.scripts.write('empty', []);
    const agent = await scriptedAgent(rt.t, owner.auth, 'empty');
    const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'go' });
    expect(res.statusCode).toBe(502);
    const err = res.json().error;
    expect(err.code).toBe('provider_error');
    expect(err.message).toContain('all were used');
    const e = ok(await call(rt.t, 'GET', `/v1/executions/${err.details.executionId}`, owner.auth));
    expect(e).toMatchObject({ status: 'failed', errorCode: 'provider_error' });
    expect(spansOf(e)[0]).toMatchObject({ kind: 'llm_call', status: 'error' });
  });

  it('refuses, writing nothing, an agent with no endpoint, a missing script, an agent not active, unknown agents and versions', async () => {
    const before = await rowCounts(rt.t);
    const noEndpoint = await readyAgent(rt.t, owner.auth);
    const afterSetup = await rowCounts(rt.t);
    let res = await runAgent(rt.t, owner.auth, noEndpoint.id, { input: 'go' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'not_configured' });
    expect(res.json().error.message).toContain('AGENTBASE_LLM_BASE_URL');

    const missing = await scriptedAgent(rt.t, owner.auth, 'no-such-script');
    res = await runAgent(rt.t, owner.auth, missing.id, { input: 'go' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.message).toContain('no-such-script.json');
    expect(res.json().error.message).not.toContain(rt.scripts.dir);

    const sneaky = await scriptedAgent(rt.t, owner.auth, '../etc/passwd');
    res = await runAgent(rt.t, owner.auth, sneaky.id, { input: 'go' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.message).toContain('modelSettings.script');

    const draft = ok(await call(rt.t, 'POST', '/v1/agents', owner.auth, { name: 'Draft', modelSettings: { provider: 'scripted', script: 'hello' } }), 201);
    res = await runAgent(rt.t, owner.auth, draft.id, { input: 'go' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toContain('is draft');

    res = await runAgent(rt.t, owner.auth, '00000000-0000-4000-8000-000000000000', { input: 'go' });
    expect(res.statusCode).toBe(404);
    const hello = await scriptedAgent(rt.t, owner.auth, 'hello');
    res = await runAgent(rt.t, owner.auth, hello.id, { input: 'go', version: '9.9.9' });
    expect(res.statusCode).toBe(404);

    const after = await rowCounts(rt.t);
    for (const table of ['executions', 'spans', 'cost_ledger', 'agent_communications', 'user_sessions', 'background_jobs']) {
      expect(after[table], table).toBe(afterSetup[table]);
    }
    expect(before.executions).toBe(after.executions);
  });

  it('runs a given version, by semver or by id', async () => {
    rt.scripts.write('v1', [{ content: 'one' }]);
    rt.scripts.write('v2', [{ content: 'two' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'v1');
    const a = ok(await call(rt.t, 'GET', `/v1/agents/${agent.id}`, owner.auth));
    ok(await call(rt.t, 'PATCH', `/v1/agents/${agent.id}`, owner.auth, { version: a.version, modelSettings: { provider: 'scripted', script: 'v2' } }));
    const v2 = ok(await call(rt.t, 'POST', `/v1/agents/${agent.id}/versions`, owner.auth, { version: '2.0.0' }), 201);
    expect(ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go' })).output.content).toBe('two');
    const old = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go', version: '1.0.0' }));
    expect(old.output.content).toBe('one');
    expect(ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go', version: v2.id })).agentVersionId).toBe(v2.id);
  });

  it('an agent lists built-ins by name; an unknown built-in is refused when the agent is saved', async () => {
    const res = await call(rt.t, 'POST', '/v1/agents', owner.auth, { name: 'x', tools: ['call_agent', 'teleport'] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('teleport');
    expect(res.json().error.message).toContain('call_agent, context_get, context_set');
  });
});
