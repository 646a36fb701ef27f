/**
 * Workflows on the real runtime: a tool step calls a stored http tool on a
 * loopback API, an agent step runs a scripted agent (which itself calls
 * another agent), all driven by a Worker given the service's own job handlers
 * — the wiring `agentbase start` uses. Also async agent runs on those handlers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../src/jobs/index.js';
import { call, ok, runtimeApp, scriptedAgent, startToolApi, type RuntimeTest } from '../runtime/run-fixtures.js';
import { until } from './fixtures.js';

let rt: RuntimeTest;
let api: Awaited<ReturnType<typeof startToolApi>>;
let worker: Worker;
const errors: unknown[] = [];

beforeAll(async () => {
  rt = await runtimeApp({ AGENTBASE_EGRESS_ALLOW_PRIVATE: 'true' });
  api = await startToolApi((req, _body, res) => {
    const city = new URL(req.url ?? '/', 'http://x').searchParams.get('city');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ city, temperatureC: 21 }));
  });
  worker = new Worker({
    db: rt.t.db,
    handlers: rt.t.service.jobHandlers,
    pollIntervalMs: 20,
    prefetch: 0,
    concurrency: 4,
    retryDelayMs: () => 10,
    onError: (err) => errors.push(err),
  });
  worker.start();
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 5000 });
  await api?.close();
  await rt?.close();
});

describe('a workflow whose steps run on the agent runtime', () => {
  it('runs a tool step and an agent step (with an agent-to-agent call) and records the agent step as executions', async () => {
    const auth = rt.owner.auth;
    ok(await call(rt.t, 'POST', '/v1/tools', auth, {
      name: 'forecast',
      description: 'Weather for a city',
      toolType: 'api',
      config: { url: `${api.url}/weather`, method: 'GET', query: { city: '{city}' } },
      inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    }), 201);
    rt.scripts.write('critic', [{ content: 'Looks right.', usage: { promptTokens: 20, completionTokens: 3 } }]);
    const critic = await scriptedAgent(rt.t, auth, 'critic');
    rt.scripts.write('writer', [
      {
        toolCalls: [{ id: 'c1', name: 'call_agent', arguments: { agent: critic.slug, input: 'check: 21C in Oslo' } }],
        usage: { promptTokens: 40, completionTokens: 8 },
        expect: { lastContains: 'temperatureC' },
      },
      { content: '{"headline":"Mild in Oslo","checked":true}', usage: { promptTokens: 60, completionTokens: 9 }, expect: { lastRole: 'tool' } },
    ]);
    const writer = await scriptedAgent(rt.t, auth, 'writer', { tools: ['call_agent'] });

    const wf = ok(await call(rt.t, 'POST', '/v1/workflows', auth, {
      name: 'weather-report',
      status: 'active',
      steps: [
        { key: 'weather', type: 'tool', tool: 'forecast', input: { city: '$.input.city' } },
        { key: 'write', type: 'agent', agent: writer.slug, dependsOn: ['weather'], input: '$.steps.weather.output' },
      ],
    }), 201);
    const run = ok(await call(rt.t, 'POST', `/v1/workflows/${wf.id}/executions`, auth, { input: { city: 'Oslo' } }), 202);
    const done = await until(async () => {
      const r = ok(await call(rt.t, 'GET', `/v1/workflow-executions/${run.id}`, auth));
      return ['completed', 'failed', 'cancelled'].includes(r.status) ? r : null;
    }, 'the workflow run to finish');
    expect(done.status, JSON.stringify(done)).toBe('completed');
    const step = (k: string) => done.steps.find((s: { stepKey: string }) => s.stepKey === k);
    expect(step('weather').output).toMatchObject({ status: 200, body: { city: 'Oslo', temperatureC: 21 } });
    // The agent's JSON answer is structured for later steps.
    expect(step('write').output).toEqual({ headline: 'Mild in Oslo', checked: true });
    expect(api.seen.map((s) => s.url)).toEqual(['/weather?city=Oslo']);

    // The agent step is an execution with its child (the critic), tokens and cost recorded.
    const execId = step('write').executionId;
    const e = ok(await call(rt.t, 'GET', `/v1/executions/${execId}`, auth));
    expect(e).toMatchObject({ status: 'completed', promptTokens: 100, completionTokens: 17 });
    expect(e.costUsd).toBeGreaterThan(0);
    const child = await rt.t.db.admin.query<{ status: string; agent_id: string }>(
      `SELECT status, agent_id FROM executions WHERE parent_execution_id = $1`, [execId],
    );
    expect(child.rows).toEqual([{ status: 'completed', agent_id: critic.id }]);
    expect(errors).toEqual([]);
  });

  it('runs async agent executions with the same handlers', async () => {
    rt.scripts.write('quick', [{ content: 'done', usage: { promptTokens: 5, completionTokens: 1 } }]);
    const agent = await scriptedAgent(rt.t, rt.owner.auth, 'quick');
    const r = ok(await call(rt.t, 'POST', `/v1/agents/${agent.id}/executions`, rt.owner.auth, { input: 'go', mode: 'async' }), 202);
    const e = await until(async () => {
      const x = ok(await call(rt.t, 'GET', `/v1/executions/${r.executionId}`, rt.owner.auth));
      return x.status === 'completed' ? x : null;
    }, 'the async execution to complete');
    expect(e.output).toEqual({ content: 'done' });
  });
});
