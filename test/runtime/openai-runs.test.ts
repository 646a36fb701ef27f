import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SignedUp } from '../helpers/app.js';
import { chunk, completion, json, sse, startFakeOpenAI, type FakeServer, type Handler } from './providers/fake-openai-server.js';
import { call, ok, parseSse, readyAgent, runAgent, runtimeApp, type Body, type RuntimeTest } from './run-fixtures.js';

const KEY = 'sk-service-key-7788';
let fake: FakeServer;
let rt: RuntimeTest;
let owner: SignedUp;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  rt = await runtimeApp({ AGENTBASE_LLM_BASE_URL: fake.baseUrl, AGENTBASE_LLM_API_KEY: KEY, AGENTBASE_EGRESS_ALLOW_PRIVATE: 'true' });
  owner = rt.owner;
});
afterAll(async () => {
  await rt?.close();
  await fake?.close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

const spansOf = (e: { spans: Body[] }): Body[] => e.spans.flatMap(function flat(s: Body): Body[] { return [s, ...s.children.flatMap(flat)]; });
const toolCall = (id: string, name: string, args: Record<string, unknown>) => ({ id, type: 'function', function: { name, arguments: JSON.stringify(args) } });
const usage = (prompt: number, completion: number) => ({ usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } });
// gpt-4o-mini's shipped price (migration 0006).
const cost = (prompt: number, completion: number) => Math.round((prompt * 0.00000015 + completion * 0.0000006) * 1e6) / 1e6;

/** A model call the server holds until the test lets it go (never, here): the test learns when it arrived. */
function held(): { handler: Handler; arrived: Promise<void> } {
  let arrived!: () => void;
  const p = new Promise<void>((resolve) => (arrived = resolve));
  return { handler: () => arrived(), arrived: p };
}

describe('runs against a real OpenAI-compatible server on loopback', () => {
  it('uses the service endpoint: calls a tool, sends its result back, answers; tokens and cost recorded', async () => {
    fake.enqueue(
      json(200, completion({ content: null, tool_calls: [toolCall('call_1', 'context_get', {})] }, usage(200, 30))),
      json(200, completion({ content: 'Done.' }, usage(260, 5))),
    );
    // Memory off: the wire format of the tools it names, without the memory tools memory-enabled agents are offered.
    const agent = await readyAgent(rt.t, owner.auth, { tools: ['context_get'], temperature: 0.2, maxTokens: 512, memoryEnabled: false });
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'Done.' }, modelProvider: 'openai-compatible', promptTokens: 460, completionTokens: 35 });
    expect(e.costUsd).toBeCloseTo(cost(460, 35), 9);

    expect(fake.requests).toHaveLength(2);
    const [first, second] = fake.requests as [Body, Body];
    expect(first.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(first.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.2, max_tokens: 512 });
    expect(first.body.messages).toEqual([
      { role: 'system', content: 'You help.' },
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
    expect(first.body.tools.map((t: Body) => t.function.name)).toEqual(['context_get']);
    expect(second.body.messages.at(-2)).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_1', function: { name: 'context_get' } }] });
    expect(second.body.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_1' });
    expect(JSON.parse(second.body.messages.at(-1).content).error).toContain('no conversation session');

    const llm = spansOf(e).filter((s) => s.kind === 'llm_call');
    expect(llm.map((s) => [s.promptTokens, s.completionTokens, s.provider])).toEqual([[200, 30, 'openai'], [260, 5, 'openai']]);
    expect(llm[0].attributes).toMatchObject({ responseModel: 'served-model-2024', finishReason: 'stop', attempts: 1, runtimeProvider: 'openai-compatible' });
  });

  it('an agent calls another agent: a child execution and a processed message', async () => {
    const child = await readyAgent(rt.t, owner.auth);
    const parent = await readyAgent(rt.t, owner.auth, { tools: ['call_agent'] });
    fake.enqueue(
      json(200, completion({ content: null, tool_calls: [toolCall('c1', 'call_agent', { agent: child.slug, input: 'Find a hotel' })] }, usage(50, 10))),
      json(200, completion({ content: 'Hotel Roma' }, usage(20, 3))),
      json(200, completion({ content: 'Book Hotel Roma.' }, usage(80, 6))),
    );
    const e = ok(await runAgent(rt.t, owner.auth, parent.id, { input: 'Plan my stay' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'Book Hotel Roma.' }, promptTokens: 130, completionTokens: 16 });
    expect((fake.requests[1]!.body.messages as Body[]).at(-1)).toEqual({ role: 'user', content: 'Find a hotel' });
    const childId = e.toolCalls[0].childExecutionId;
    const c = ok(await call(rt.t, 'GET', `/v1/executions/${childId}`, owner.auth));
    expect(c).toMatchObject({ parentExecutionId: e.id, agentId: child.id, status: 'completed', promptTokens: 20, completionTokens: 3 });
    const m = ok(await call(rt.t, 'GET', `/v1/messages?executionId=${e.id}`, owner.auth)).data;
    expect(m).toMatchObject([{ fromAgentId: parent.id, toAgentId: child.id, status: 'processed', responseData: { output: 'Hotel Roma' } }]);
  });

  it('streams the server\'s deltas as server-sent events', async () => {
    fake.enqueue(
      sse([
        chunk({ role: 'assistant', content: 'Bon' }),
        chunk({ content: 'jour' }),
        chunk({}, 'stop'),
        { id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'served-model-2024', choices: [], usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 } },
      ]),
    );
    const agent = await readyAgent(rt.t, owner.auth);
    const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'Say hello in French', mode: 'stream' });
    expect(res.statusCode).toBe(200);
    expect(fake.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const events = parseSse(res.body);
    expect(events.map((x) => x.event)).toEqual(['execution', 'step', 'delta', 'delta', 'done']);
    expect(events.filter((x) => x.event === 'delta').map((x) => x.data.text)).toEqual(['Bon', 'jour']);
    expect(events.at(-1)!.data.execution).toMatchObject({ status: 'completed', output: { content: 'Bonjour' }, promptTokens: 12, completionTokens: 2 });
  });

  it('a provider error: the execution is failed with provider_error, a sync request gets 502, a stream an error event', async () => {
    fake.enqueue(json(400, { error: { message: 'model gpt-4o-mini does not exist here', code: 'model_not_found' } }));
    const agent = await readyAgent(rt.t, owner.auth);
    const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'hi' });
    expect(res.statusCode).toBe(502);
    const err = res.json().error;
    expect(err.code).toBe('provider_error');
    expect(err.message).toContain('HTTP 400');
    expect(err.message).toContain('does not exist here');
    expect(err.message).not.toContain(KEY);
    expect(err.details.provider).toMatchObject({ kind: 'bad_request', status: 400, attempts: 1 });
    const e = ok(await call(rt.t, 'GET', `/v1/executions/${err.details.executionId}`, owner.auth));
    expect(e).toMatchObject({ status: 'failed', errorCode: 'provider_error' });
    expect(e.errorMessage).toContain('HTTP 400');

    fake.enqueue(json(401, { error: { message: 'bad key' } }));
    const events = parseSse((await runAgent(rt.t, owner.auth, agent.id, { input: 'hi', mode: 'stream' })).body);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'provider_error', status: 'failed' } });
  });

  it('cancels a run while its model call is in flight; a finished execution cannot be cancelled (409)', async () => {
    const agent = await readyAgent(rt.t, owner.auth);
    const h = held();
    fake.enqueue(h.handler);
    const running = runAgent(rt.t, owner.auth, agent.id, { input: 'think hard' });
    await h.arrived;
    const list = ok(await call(rt.t, 'GET', `/v1/executions?agentId=${agent.id}&status=running`, owner.auth)).data;
    expect(list).toHaveLength(1);
    const cancelled = ok(await call(rt.t, 'POST', `/v1/executions/${list[0].id}/cancel`, owner.auth));
    expect(cancelled).toMatchObject({ status: 'cancelled', errorCode: 'cancelled' });

    const e = ok(await running);
    expect(e).toMatchObject({ id: list[0].id, status: 'cancelled', errorCode: 'cancelled' });
    expect(spansOf(e)).toMatchObject([{ kind: 'llm_call', status: 'error' }]);

    const again = await call(rt.t, 'POST', `/v1/executions/${e.id}/cancel`, owner.auth);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toContain('is cancelled');

    fake.enqueue(json(200, completion({ content: 'ok' })));
    const done = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'quick' }));
    const late = await call(rt.t, 'POST', `/v1/executions/${done.id}/cancel`, owner.auth);
    expect(late.statusCode).toBe(409);
    expect(late.json().error.message).toContain('is completed');
  });

  it('a model that never answers ends the run at its time limit: timeout', async () => {
    const agent = await readyAgent(rt.t, owner.auth);
    fake.enqueue(held().handler);
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'hi', limits: { timeoutMs: 300 } }));
    expect(e).toMatchObject({ status: 'timeout', errorCode: 'timeout' });
    expect(e.errorMessage).toContain('300 ms');
  });

  it('an agent with its own endpoint sends its stored secret as the key; a missing secret is 422', async () => {
    ok(await call(rt.t, 'POST', '/v1/secrets', owner.auth, { name: 'AGENT_LLM_KEY', value: 'sk-agent-own-key-1', allowedHosts: ['127.0.0.1'] }), 201);
    const agent = await readyAgent(rt.t, owner.auth, { modelSettings: { provider: 'openai-compatible', baseUrl: fake.baseUrl, apiKeySecret: 'AGENT_LLM_KEY' } });
    fake.enqueue(json(200, completion({ content: 'mine' })));
    expect(ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'hi' })).output.content).toBe('mine');
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer sk-agent-own-key-1');

    const noSecret = await readyAgent(rt.t, owner.auth, { modelSettings: { provider: 'openai-compatible', baseUrl: fake.baseUrl, apiKeySecret: 'NOT_STORED' } });
    const res = await runAgent(rt.t, owner.auth, noSecret.id, { input: 'hi' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.message).toContain('NOT_STORED');
    expect(fake.requests).toHaveLength(1);
  });

  it('a secret not bound to the endpoint\'s host is not sent: 422 not_configured saying how to allow it', async () => {
    const key = 'sk-bound-elsewhere-7f3a';
    ok(await call(rt.t, 'POST', '/v1/secrets', owner.auth, { name: 'ELSEWHERE_KEY', value: key, allowedHosts: ['api.openai.com'] }), 201);
    const agent = await readyAgent(rt.t, owner.auth, { modelSettings: { provider: 'openai-compatible', baseUrl: fake.baseUrl, apiKeySecret: 'ELSEWHERE_KEY' } });
    const before = fake.requests.length;
    const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'hi' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({
      code: 'not_configured',
      message: expect.stringContaining('secret ELSEWHERE_KEY may not be sent to host 127.0.0.1; add 127.0.0.1 to its allowedHosts (PUT /v1/secrets/ELSEWHERE_KEY)'),
      details: { field: 'modelSettings.apiKeySecret', secret: 'ELSEWHERE_KEY', host: '127.0.0.1' },
    });
    expect(res.body).not.toContain(key);
    // The loopback endpoint got nothing, with or without the key.
    expect(fake.requests.length).toBe(before);
    expect(fake.requests.some((r) => JSON.stringify(r.headers).includes(key))).toBe(false);
  });
});

describe('egress of an agent\'s own endpoint', () => {
  it('refuses a loopback baseUrl unless AGENTBASE_EGRESS_ALLOW_PRIVATE is set', async () => {
    const strict = await runtimeApp({});
    try {
      const agent = await readyAgent(strict.t, strict.owner.auth, { modelSettings: { provider: 'openai-compatible', baseUrl: fake.baseUrl } });
      const res = await runAgent(strict.t, strict.owner.auth, agent.id, { input: 'hi' });
      expect(res.statusCode).toBe(422);
      expect(res.json().error).toMatchObject({ code: 'not_configured' });
      expect(res.json().error.message).toContain('modelSettings.baseUrl');
      expect(fake.requests).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });
});
