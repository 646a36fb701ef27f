/**
 * Issue 4's "done when", end to end over HTTP: an agent with a stored http
 * tool (a loopback API reached with a stored secret) and an agent-to-agent
 * call runs to its answer — once on the offline scripted provider, once on a
 * real OpenAI-compatible server on loopback — and every step, token and cost
 * is recorded: spans, the child execution, the inter-agent message, the
 * ledger and the cost roll-up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completion, json, startFakeOpenAI, type FakeServer } from '../runtime/providers/fake-openai-server.js';
import { call, ok, readyAgent, runAgent, runtimeApp, startToolApi, type Body, type RuntimeTest } from '../runtime/run-fixtures.js';

const API_KEY = 'wx-key-5d1e9a77';
let rt: RuntimeTest;
let fake: FakeServer;
let api: Awaited<ReturnType<typeof startToolApi>>;
let weatherToolId: string;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  rt = await runtimeApp({ AGENTBASE_LLM_BASE_URL: fake.baseUrl, AGENTBASE_EGRESS_ALLOW_PRIVATE: 'true' });
  api = await startToolApi((req, _body, res) => {
    if (req.headers['x-api-key'] !== API_KEY) {
      res.writeHead(401).end();
      return;
    }
    const city = new URL(req.url ?? '/', 'http://x').searchParams.get('city');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ city, temperatureC: 4, sky: 'snow' }));
  });
  const auth = rt.owner.auth;
  ok(await call(rt.t, 'POST', '/v1/secrets', auth, { name: 'WEATHER_API_KEY', value: API_KEY, allowedHosts: ['127.0.0.1'] }), 201);
  weatherToolId = ok(await call(rt.t, 'POST', '/v1/tools', auth, {
    name: 'get_weather',
    description: 'Current weather for a city',
    toolType: 'api',
    config: { url: `${api.url}/weather`, method: 'GET', query: { city: '{city}' }, headers: { 'x-api-key': { secret: 'WEATHER_API_KEY' } } },
    inputSchema: { type: 'object', properties: { city: { type: 'string', minLength: 1 } }, required: ['city'] },
  }), 201).id;
});

afterAll(async () => {
  await api?.close();
  await rt?.close();
  await fake?.close();
});

const flat = (spans: Body[]): Body[] => spans.flatMap((s) => [s, ...flat(s.children ?? [])]);
// gpt-4o-mini's shipped price (migration 0006), per token.
const price = (prompt: number, completion: number) => prompt * 0.00000015 + completion * 0.0000006;

/** Everything the run left behind, checked the same way for both providers. */
async function expectFullyRecorded(executionId: string, childAgentId: string, tokens: { parent: [number, number][]; child: [number, number] }) {
  const auth = rt.owner.auth;
  const e = ok(await call(rt.t, 'GET', `/v1/executions/${executionId}`, auth));
  const spans = flat(e.spans);
  const llm = spans.filter((s) => s.kind === 'llm_call');
  expect(llm.map((s) => [s.promptTokens, s.completionTokens])).toEqual(tokens.parent);
  // Costs are stored to the micro-dollar per span; totals are sums of those.
  for (const s of llm) expect(s.costUsd).toBeCloseTo(price(s.promptTokens, s.completionTokens), 5);

  const tool = spans.filter((s) => s.kind === 'tool_call');
  expect(tool).toHaveLength(1); // call_agent is recorded as an agent_call span
  const weather = tool[0];
  expect(weather.toolName).toBe('get_weather');
  expect(weather).toMatchObject({ status: 'ok' });
  expect(JSON.stringify(weather.output)).toContain('snow');
  // The secret reached the API and nothing recorded it.
  expect(api.seen.at(-1)?.headers['x-api-key']).toBe(API_KEY);
  expect(JSON.stringify(e)).not.toContain(API_KEY);

  const agentCall = spans.find((s) => s.kind === 'agent_call');
  expect(agentCall).toBeDefined();

  const sumParent = tokens.parent.reduce((a, [p, c]) => a + price(p, c), 0);
  expect(e.promptTokens).toBe(tokens.parent.reduce((a, [p]) => a + p, 0));
  expect(e.costUsd).toBeCloseTo(sumParent, 5);

  const children = ok(await call(rt.t, 'GET', `/v1/executions?agentId=${childAgentId}`, auth)).data;
  const child = children.find((c: Body) => c.parentExecutionId === executionId);
  expect(child).toMatchObject({ status: 'completed', promptTokens: tokens.child[0], completionTokens: tokens.child[1] });
  expect(child.costUsd).toBeCloseTo(price(...tokens.child), 5);

  const messages = ok(await call(rt.t, 'GET', `/v1/messages?executionId=${executionId}`, auth)).data;
  expect(messages).toHaveLength(1);
  expect(messages[0]).toMatchObject({ status: 'processed', toAgentId: childAgentId });
  expect(messages[0].responseTimeMs).toBeGreaterThanOrEqual(0);

  const ledger = await rt.t.db.admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM cost_ledger WHERE execution_id = ANY($1::uuid[])`, [[executionId, child.id]],
  );
  expect(ledger.rows[0]!.n).toBe(tokens.parent.length + 1);
  return { e, child };
}

describe('an agent with an http tool and an agent-to-agent call, end to end', () => {
  it('on the scripted provider', async () => {
    const auth = rt.owner.auth;
    rt.scripts.write('e2e-child', [{ content: 'Wrap up warm.', usage: { promptTokens: 30, completionTokens: 4 } }]);
    const child = await readyAgent(rt.t, auth, { modelSettings: { provider: 'scripted', script: 'e2e-child' } });
    rt.scripts.write('e2e-parent', [
      { toolCalls: [{ id: 't1', name: 'get_weather', arguments: { city: 'Oslo' } }], usage: { promptTokens: 100, completionTokens: 12 }, expect: { tools: ['get_weather', 'call_agent'] } },
      { toolCalls: [{ id: 't2', name: 'call_agent', arguments: { agent: child.slug, input: 'Advice for 4C and snow?' } }], usage: { promptTokens: 140, completionTokens: 15 }, expect: { lastContains: 'snow' } },
      { content: 'Oslo: 4C and snow. Wrap up warm.', usage: { promptTokens: 170, completionTokens: 11 }, expect: { lastContains: 'Wrap up warm' } },
    ]);
    const parent = await readyAgent(rt.t, auth, { modelSettings: { provider: 'scripted', script: 'e2e-parent' }, tools: [weatherToolId, 'call_agent'] });
    const e = ok(await runAgent(rt.t, auth, parent.id, { input: 'Weather in Oslo, and what should I wear?' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'Oslo: 4C and snow. Wrap up warm.' } });
    await expectFullyRecorded(e.id, child.id, { parent: [[100, 12], [140, 15], [170, 11]], child: [30, 4] });
  });

  it('on an OpenAI-compatible server on loopback', async () => {
    const auth = rt.owner.auth;
    const child = await readyAgent(rt.t, auth);
    const parent = await readyAgent(rt.t, auth, { tools: [weatherToolId, 'call_agent'] });
    const toolCall = (id: string, name: string, args: object) => ({ id, type: 'function', function: { name, arguments: JSON.stringify(args) } });
    const usage = (p: number, c: number) => ({ usage: { prompt_tokens: p, completion_tokens: c, total_tokens: p + c } });
    fake.requests.length = 0;
    fake.enqueue(
      json(200, completion({ content: null, tool_calls: [toolCall('c1', 'get_weather', { city: 'Oslo' })] }, usage(110, 13))),
      json(200, completion({ content: null, tool_calls: [toolCall('c2', 'call_agent', { agent: child.slug, input: 'Advice for 4C and snow?' })] }, usage(150, 16))),
      json(200, completion({ content: 'Wrap up warm.' }, usage(31, 4))), // the child's one call
      json(200, completion({ content: 'Oslo: 4C and snow. Wrap up warm.' }, usage(180, 12))),
    );
    const e = ok(await runAgent(rt.t, auth, parent.id, { input: 'Weather in Oslo, and what should I wear?' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'Oslo: 4C and snow. Wrap up warm.' } });
    expect(fake.requests).toHaveLength(4);
    // The model saw the tool's real answer and the child's answer.
    expect(JSON.stringify((fake.requests[1] as Body).body.messages.at(-1))).toContain('snow');
    expect(JSON.stringify((fake.requests[3] as Body).body.messages.at(-1))).toContain('Wrap up warm');
    await expectFullyRecorded(e.id, child.id, { parent: [[110, 13], [150, 16], [180, 12]], child: [31, 4] });

    // The cost roll-up sees both agents.
    const byAgent = ok(await call(rt.t, 'GET', '/v1/costs?groupBy=agent', auth)).data as Body[];
    const keys = byAgent.map((r) => r.agentId ?? r.key);
    expect(keys).toEqual(expect.arrayContaining([parent.id, child.id]));
  });
});
