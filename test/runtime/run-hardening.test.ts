/**
 * What a run must withstand: data from models and tools that ingestion would
 * refuse, more tool calls than an execution lists, a tenant trying to rewrite
 * a queued run through ingestion, a job delivered twice or after its worker
 * gave it back, and a model endpoint URL that carries a password.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deriveKeys } from '../../src/identity/index.js';
import { createRuntime, runQueued, type RuntimeDeps } from '../../src/runtime/index.js';
import { zeroUsage } from '../../src/runtime/providers/types.js';
import type { RunFrame } from '../../src/runtime/run-frame.js';
import { recordOutcomeOrFail } from '../../src/runtime/run-recorder.js';
import { startQueuedExecution } from '../../src/runtime/run-start-repo.js';
import { TEST_SECRET, type SignedUp } from '../helpers/app.js';
import { completion, json, startFakeOpenAI, type FakeServer, type Handler } from './providers/fake-openai-server.js';
import { call, ok, parseSse, readyAgent, rowCounts, runAgent, runtimeApp, scriptedAgent, startToolApi, type Body, type RuntimeTest } from './run-fixtures.js';

let rt: RuntimeTest;
let owner: SignedUp;
let fake: FakeServer;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  // A service that allows at most 3 model calls per execution.
  rt = await runtimeApp({ AGENTBASE_EGRESS_ALLOW_PRIVATE: 'true', AGENTBASE_RUN_MAX_STEPS: '3' });
  owner = rt.owner;
});
afterAll(async () => {
  await rt?.close();
  await fake?.close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

/** A runtime of its own, as another process (a worker) would have. */
const runtime = (): RuntimeDeps => createRuntime({ db: rt.t.db, config: rt.t.config.runtime, keys: deriveKeys(TEST_SECRET) });
const spansOf = (e: { spans: Body[] }): Body[] => e.spans.flatMap(function flat(s: Body): Body[] { return [s, ...s.children.flatMap(flat)]; });
const execution = async (id: string): Promise<Body> => ok(await call(rt.t, 'GET', `/v1/executions/${id}`, owner.auth));
const ingest = (body: Record<string, unknown>) => call(rt.t, 'POST', '/v1/ingest/batch', owner.auth, body);

function held(): { handler: Handler; arrived: Promise<void> } {
  let arrived!: () => void;
  const p = new Promise<void>((resolve) => (arrived = resolve));
  return { handler: () => arrived(), arrived: p };
}

describe('a model endpoint URL with credentials', () => {
  it('is refused with 422 pointing to apiKeySecret, without echoing the password, writing nothing', async () => {
    const agent = await readyAgent(rt.t, owner.auth, { modelSettings: { provider: 'openai-compatible', baseUrl: 'https://bob:hunter2-pw@api.example.com/v1' } });
    const before = await rowCounts(rt.t);
    const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'hi' });
    expect(res.statusCode).toBe(422);
    const err = res.json().error;
    expect(err).toMatchObject({ code: 'not_configured', details: { field: 'modelSettings.baseUrl' } });
    expect(err.message).toContain('apiKeySecret');
    expect(res.body).not.toContain('hunter2-pw');
    expect(await rowCounts(rt.t)).toEqual(before);
  });
});

describe('the run: clientIds are the runtime\'s', () => {
  it('ingestion refuses to update a run\'s execution, add spans to it, or create an item with the prefix', async () => {
    rt.scripts.write('plain', [{ content: 'hello' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'plain');
    const { executionId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', mode: 'async' }), 202);
    const queued = await execution(executionId);
    expect(queued.clientId).toMatch(/^run:/);

    const r = ok(await ingest({
      executions: [
        { clientId: queued.clientId, agentId: agent.id, status: 'queued', input: { input: 'something else' }, metadata: { runtime: { limits: { maxSteps: 1000 } } } },
        { clientId: 'run:my-own', agentId: agent.id, status: 'completed' },
      ],
      spans: [
        { clientId: 'mine-1', executionClientId: queued.clientId, kind: 'llm_call', model: 'gpt-4o-mini', name: 'x', startedAt: new Date().toISOString() },
        { clientId: `${queued.clientId}/llm/1`, executionClientId: 'elsewhere', kind: 'other', name: 'x', startedAt: new Date().toISOString() },
      ],
    }));
    expect(r).toMatchObject({ accepted: 0, updated: 0, rejected: 4 });
    const errors = r.results.map((x: Body) => x.error as string);
    expect(errors[0]).toContain('the prefix run: is reserved for what the agent runtime records');
    expect(errors[1]).toContain('the prefix run: is reserved');
    expect(errors[2]).toContain('is an execution of the agent runtime, which records its spans itself');
    expect(errors[3]).toContain('the prefix run: is reserved');
    expect(await execution(executionId)).toMatchObject({ status: 'queued', input: { input: 'x' }, metadata: queued.metadata });

    // The runtime's own writes still go through.
    expect(await runQueued(runtime(), owner.orgId, executionId)).toEqual({ status: 'completed' });
    expect(await execution(executionId)).toMatchObject({ status: 'completed', output: { content: 'hello' } });
  });

  it('a queued run\'s stored limits are checked again when it starts: held to what the service allows', async () => {
    const turn = { toolCalls: [{ name: 'context_get', arguments: {} }] };
    rt.scripts.write('loop', [turn, turn, turn, turn, turn, { content: 'after five tool rounds' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'loop', { tools: ['context_get'] });
    const { executionId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', mode: 'async' }), 202);
    // What a rewrite of the stored metadata would leave (no route can do it any more).
    await rt.t.db.admin.query(
      `UPDATE executions SET metadata = jsonb_set(metadata, '{runtime,limits}', '{"maxSteps": 50, "timeoutMs": 999999999, "maxTokens": "lots"}') WHERE id = $1`,
      [executionId],
    );
    expect(await runQueued(runtime(), owner.orgId, executionId)).toEqual({ status: 'failed' });
    const e = await execution(executionId);
    expect(e).toMatchObject({ status: 'failed', errorCode: 'max_steps_exceeded' });
    expect(e.errorMessage).toContain('limits.maxSteps 3');
  });

  it('runQueued refuses an execution the runtime did not record', async () => {
    rt.scripts.write('plain', [{ content: 'hello' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'plain');
    const r = ok(await ingest({ executions: [{ clientId: 'client-queued-1', agentId: agent.id, status: 'queued', input: { input: 'x' } }] }));
    const id = r.results[0].id as string;
    await expect(runQueued(runtime(), owner.orgId, id)).rejects.toMatchObject({ status: 409 });
    expect(await execution(id)).toMatchObject({ status: 'queued' });
  });
});

describe('one run per queued execution', () => {
  it('a delivery whose signal was aborted before it started leaves the run queued, for the next delivery', async () => {
    rt.scripts.write('once', [{ content: 'ran once' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'once');
    const { executionId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', mode: 'async' }), 202);
    const given = new AbortController();
    given.abort(new Error('the worker gave the job back'));
    expect(await runQueued(runtime(), owner.orgId, executionId, { signal: given.signal })).toEqual({ status: 'queued' });
    expect(await execution(executionId)).toMatchObject({ status: 'queued', startedAt: null, spans: [] });
    expect(await runQueued(runtime(), owner.orgId, executionId)).toEqual({ status: 'completed' });
  });

  it('starting is a compare-and-set: only the first start of a queued execution wins', async () => {
    rt.scripts.write('once', [{ content: 'ran once' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'once');
    const { executionId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', mode: 'async' }), 202);
    const row = await execution(executionId);
    const start = () => rt.t.db.tenant(owner.orgId, (sql) =>
      startQueuedExecution(sql, owner.orgId, { id: executionId, createdAt: new Date(row.createdAt), startedAt: new Date(), queueTimeMs: 5 }));
    expect(await start()).toBe(true);
    expect(await start()).toBe(false);
    expect(await execution(executionId)).toMatchObject({ status: 'running', queueTimeMs: 5 });
  });

  it('a second delivery does not run the loop: left alone while its attempt runs here, marked interrupted from elsewhere', async () => {
    const agent = await readyAgent(rt.t, owner.auth, { modelSettings: { provider: 'openai-compatible', baseUrl: fake.baseUrl } });
    const { executionId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', mode: 'async' }), 202);
    const model = held();
    fake.enqueue(model.handler);
    const here = runtime();
    const first = runQueued(here, owner.orgId, executionId);
    await model.arrived;

    // The same process: its first attempt is still registered, and records its own outcome.
    expect(await runQueued(here, owner.orgId, executionId)).toEqual({ status: 'running' });
    expect(await execution(executionId)).toMatchObject({ status: 'running' });
    // Another process: the job came back because the first attempt's lease expired, so that attempt is stopping.
    expect(await runQueued(runtime(), owner.orgId, executionId)).toEqual({ status: 'failed' });
    expect(await execution(executionId)).toMatchObject({ status: 'failed', errorCode: 'interrupted' });
    expect(fake.requests).toHaveLength(1);

    // The first attempt, stopped, keeps the interrupted outcome.
    here.running.cancel(executionId, 'test over');
    expect(await first).toEqual({ status: 'failed' });
    expect(fake.requests).toHaveLength(1);
  });
});

describe('recording what models and tools send', () => {
  it('an execution with more tool calls than ingestion lists completes, listing the first 500 and a count of the rest', async () => {
    const calls = Array.from({ length: 1001 }, (_, i) => ({ id: `c${i}`, name: 'no_such_tool', arguments: {} }));
    rt.scripts.write('many-calls', [{ toolCalls: calls }, { content: 'done after 1001 calls' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'many-calls');
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'done after 1001 calls' } });
    expect(e.toolCalls).toHaveLength(501);
    expect(e.toolCalls[0]).toMatchObject({ step: 1, id: 'c0', name: 'no_such_tool', isError: true });
    expect(e.toolCalls[500]).toEqual({ omitted: 501, total: 1001 });
  });

  it('when the outcome cannot be recorded, the execution is still marked failed (internal), and the error goes up', async () => {
    rt.scripts.write('once', [{ content: 'ran once' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'once');
    const { executionId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', mode: 'async' }), 202);
    const row = await execution(executionId);
    await rt.t.db.tenant(owner.orgId, (sql) =>
      startQueuedExecution(sql, owner.orgId, { id: executionId, createdAt: new Date(row.createdAt), startedAt: new Date(row.createdAt), queueTimeMs: 0 }));
    const frame = {
      orgId: owner.orgId, actor: { orgId: owner.orgId, actorType: 'system', userId: null }, executionId, clientId: row.clientId,
      usage: zeroUsage(), toolCalls: [], startedAt: new Date(row.createdAt),
    } as unknown as RunFrame;
    // An outcome ingestion refuses (no such status).
    await expect(recordOutcomeOrFail(runtime(), frame, { status: 'exploded', errorCode: 'x', errorMessage: 'y' } as never, new Date())).rejects.toThrow(/refused by ingestion/);
    expect(await execution(executionId)).toMatchObject({ status: 'failed', errorCode: 'internal' });
  });

  it('NUL characters and JSON nested past 32 levels from a tool and a model are recorded, not fatal to the run', async () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const api = await startToolApi((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ note: 'a\u0000b', [`k\u0000`]: 1, deep }));
    });
    try {
      const tool = ok(await call(rt.t, 'POST', '/v1/tools', owner.auth, {
        name: 'odd_api', description: 'Odd', toolType: 'api', config: { url: `${api.url}/odd`, method: 'GET' },
        inputSchema: { type: 'object', properties: {} },
      }), 201);
      rt.scripts.write('odd', [
        { content: 'thinking\u0000', toolCalls: [{ id: 'o1', name: 'odd_api', arguments: {} }, { id: 'o2', name: 'bad\u0000name', arguments: { s: 'x\u0000y' } }] },
        { content: 'done\u0000!' },
      ]);
      const agent = await scriptedAgent(rt.t, owner.auth, 'odd', { tools: [tool.id] });
      const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'go' }));
      expect(e).toMatchObject({ status: 'completed', output: { content: 'done\uFFFD!' } });
      const spans = spansOf(e);
      const odd = spans.find((s) => s.name === 'odd_api')!;
      expect(odd.output.body).toMatchObject({ note: 'a\uFFFDb', 'k\uFFFD': 1 });
      // Depth 1 is the output, 2 its body, 3 deep: containers from level 32 on are kept as their JSON text.
      let node = odd.output.body.deep;
      for (let level = 3; level < 32; level++) node = node.d;
      expect(typeof node).toBe('string');
      expect(JSON.parse(node)).toHaveProperty('d');
      const bad = spans.find((s) => s.kind === 'tool_call' && s.name !== 'odd_api')!;
      expect(bad).toMatchObject({ name: 'bad\uFFFDname', toolName: 'bad\uFFFDname', input: { s: 'x\uFFFDy' }, status: 'error' });
      const llm = spans.find((s) => s.kind === 'llm_call' && s.stepNumber === 1)!;
      expect(llm.output.content).toBe('thinking\uFFFD');
    } finally {
      await api.close();
    }
  });
});

describe('limits passed on to the model', () => {
  it('max_tokens is the version\'s, and no more than the run has left of limits.maxTokens', async () => {
    const agent = await readyAgent(rt.t, owner.auth, { maxTokens: 512, tools: ['context_get'], modelSettings: { provider: 'openai-compatible', baseUrl: fake.baseUrl } });
    fake.enqueue(
      json(200, completion({ content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'context_get', arguments: '{}' } }] }, { usage: { prompt_tokens: 40, completion_tokens: 20, total_tokens: 60 } })),
      json(200, completion({ content: 'ok' }, { usage: { prompt_tokens: 30, completion_tokens: 5, total_tokens: 35 } })),
      json(200, completion({ content: 'plain' })),
    );
    ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', limits: { maxTokens: 100 } }));
    expect(fake.requests.map((r) => r.body.max_tokens)).toEqual([100, 40]);
    ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x' }));
    expect(fake.requests[2]!.body.max_tokens).toBe(512);
  });
});

describe('streamed runs', () => {
  it('a bulky tool result is cut short in its event; the span keeps all of it', async () => {
    const big = 'q'.repeat(100_000);
    const api = await startToolApi((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ big }));
    });
    try {
      const tool = ok(await call(rt.t, 'POST', '/v1/tools', owner.auth, {
        name: 'big_api', description: 'Big', toolType: 'api', config: { url: `${api.url}/big`, method: 'GET' },
        inputSchema: { type: 'object', properties: {} },
      }), 201);
      rt.scripts.write('big', [{ toolCalls: [{ id: 'b1', name: 'big_api', arguments: {} }] }, { content: 'read it' }]);
      const agent = await scriptedAgent(rt.t, owner.auth, 'big', { tools: [tool.id] });
      const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'go', mode: 'stream' });
      const events = parseSse(res.body);
      const result = events.find((e) => e.event === 'tool_result')!.data;
      expect(result.output).toMatchObject({ truncated: true });
      expect(result.output.chars).toBeGreaterThan(100_000);
      expect(result.output.preview).toHaveLength(16 * 1024);
      const done = events.find((e) => e.event === 'done')!.data;
      const e = await execution(done.execution.id);
      const span = spansOf(e).find((s) => s.name === 'big_api')!;
      expect(span.output.body.big).toBe(big);
    } finally {
      await api.close();
    }
  });
});
