import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deriveKeys } from '../../src/identity/index.js';
import { Worker } from '../../src/jobs/index.js';
import { AGENT_RUN_TASK, agentRunHandler, createRuntime } from '../../src/runtime/index.js';
import { TEST_SECRET, type SignedUp } from '../helpers/app.js';
import { call, ok, runAgent, runtimeApp, scriptedAgent, startToolApi, type Body, type RuntimeTest } from './run-fixtures.js';

let rt: RuntimeTest;
let owner: SignedUp;
let worker: Worker | undefined;

beforeAll(async () => {
  rt = await runtimeApp({ AGENTBASE_EGRESS_ALLOW_PRIVATE: 'true' });
  owner = rt.owner;
});
afterEach(async () => {
  await worker?.stop({ timeoutMs: 5000 });
  worker = undefined;
});
afterAll(async () => rt?.close());

/** A worker like the service's: the agent.run handler over a runtime of its own (as another process would have). */
function startWorker(): Worker {
  const runtime = createRuntime({ db: rt.t.db, config: rt.t.config.runtime, keys: deriveKeys(TEST_SECRET) });
  worker = new Worker({ db: rt.t.db, handlers: { [AGENT_RUN_TASK]: agentRunHandler(runtime) }, pollIntervalMs: 20, prefetch: 0 });
  worker.start();
  return worker;
}

/** Waits (no deadline of its own: the test timeout bounds it) until the execution has finished. */
async function finished(id: string): Promise<Body> {
  for (;;) {
    const e = ok(await call(rt.t, 'GET', `/v1/executions/${id}`, owner.auth));
    if (!['queued', 'running', 'pending'].includes(e.status)) return e;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function jobDone(id: string): Promise<Body> {
  for (;;) {
    const j = ok(await call(rt.t, 'GET', `/v1/jobs/${id}`, owner.auth));
    if (!['queued', 'running'].includes(j.status)) return j;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('async runs on the job queue', () => {
  it('answer 202 with the queued execution and its job (written together); a worker runs it to the end', async () => {
    rt.scripts.write('later', [
      { toolCalls: [{ name: 'context_set', arguments: { key: 'seen', value: true } }], usage: { promptTokens: 10, completionTokens: 2 } },
      { content: 'Done in the background.', usage: { promptTokens: 20, completionTokens: 5 } },
    ]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'later', { tools: ['context_set'] });
    const res = await runAgent(rt.t, owner.auth, agent.id, { input: 'Do it later', mode: 'async', sessionToken: 'bg-1', limits: { maxSteps: 5 } });
    expect(res.statusCode).toBe(202);
    const { executionId, jobId, status } = res.json();
    expect(status).toBe('queued');
    const queued = ok(await call(rt.t, 'GET', `/v1/executions/${executionId}`, owner.auth));
    expect(queued).toMatchObject({ status: 'queued', startedAt: null, input: { input: 'Do it later' }, metadata: { runtime: { mode: 'async', limits: { maxSteps: 5 } } } });
    expect(ok(await call(rt.t, 'GET', `/v1/jobs/${jobId}`, owner.auth))).toMatchObject({ task: 'agent.run', queue: 'agent-runs', status: 'queued', payload: { executionId } });

    startWorker();
    const e = await finished(executionId);
    expect(e).toMatchObject({ status: 'completed', output: { content: 'Done in the background.' }, promptTokens: 30, completionTokens: 7 });
    expect(e.queueTimeMs).toBeGreaterThanOrEqual(0);
    expect(e.startedAt).not.toBeNull();
    expect(e.spans.map((s: Body) => s.kind).sort()).toEqual(['llm_call', 'llm_call', 'tool_call']);
    expect(await jobDone(jobId)).toMatchObject({ status: 'succeeded', result: { executionId, status: 'completed' } });
    const session = ok(await call(rt.t, 'GET', `/v1/sessions?limit=1`, owner.auth)).data[0];
    expect(session).toMatchObject({ sessionToken: 'bg-1', executionCount: 1, contextData: { seen: true } });
    expect(session.conversationHistory.map((h: Body) => h.content)).toEqual(['Do it later', 'Done in the background.']);
  });

  it('a queued execution cancelled before a worker takes it is not run', async () => {
    rt.scripts.write('never', [{ content: 'should not run' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'never');
    const { executionId, jobId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', mode: 'async' }), 202);
    expect(ok(await call(rt.t, 'POST', `/v1/executions/${executionId}/cancel`, owner.auth))).toMatchObject({ status: 'cancelled' });
    startWorker();
    expect(await jobDone(jobId)).toMatchObject({ status: 'succeeded', result: { executionId, status: 'cancelled' } });
    const e = ok(await call(rt.t, 'GET', `/v1/executions/${executionId}`, owner.auth));
    expect(e).toMatchObject({ status: 'cancelled', spans: [] });
  });

  it('a cancel from another process stops the run at its next step', async () => {
    let arrived!: () => void;
    const toolCalled = new Promise<void>((resolve) => (arrived = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const api = await startToolApi((_req, _body, res) => {
      arrived();
      void released.then(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    try {
      const tool = ok(await call(rt.t, 'POST', '/v1/tools', owner.auth, {
        name: 'slow_lookup', description: 'Slow', toolType: 'api', config: { url: `${api.url}/slow`, method: 'GET' },
        inputSchema: { type: 'object', properties: {} },
      }), 201);
      rt.scripts.write('slow', [
        { toolCalls: [{ name: 'slow_lookup', arguments: {} }] },
        { content: 'must not be reached' },
      ]);
      const agent = await scriptedAgent(rt.t, owner.auth, 'slow', { tools: [tool.id] });
      const { executionId, jobId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', mode: 'async' }), 202);
      startWorker();
      await toolCalled;
      // The worker's runtime is not the app's: this cancel reaches it only through the stored status.
      expect(ok(await call(rt.t, 'POST', `/v1/executions/${executionId}/cancel`, owner.auth)).status).toBe('cancelled');
      release();
      expect(await jobDone(jobId)).toMatchObject({ status: 'succeeded', result: { status: 'cancelled' } });
      const e = ok(await call(rt.t, 'GET', `/v1/executions/${executionId}`, owner.auth));
      expect(e).toMatchObject({ status: 'cancelled', errorCode: 'cancelled' });
      expect(e.spans.map((s: Body) => s.kind).sort()).toEqual(['llm_call', 'tool_call']);
    } finally {
      release();
      await api.close();
    }
  });

  it('an execution found running (its worker died mid-run) is marked interrupted, not run twice', async () => {
    rt.scripts.write('twice', [{ content: 'once' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'twice');
    const { executionId, jobId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', mode: 'async' }), 202);
    // What a worker that died after starting the run leaves behind.
    await rt.t.db.admin.query(`UPDATE executions SET status = 'running', started_at = now() WHERE id = $1`, [executionId]);
    startWorker();
    expect(await jobDone(jobId)).toMatchObject({ status: 'succeeded', result: { status: 'failed' } });
    const e = ok(await call(rt.t, 'GET', `/v1/executions/${executionId}`, owner.auth));
    expect(e).toMatchObject({ status: 'failed', errorCode: 'interrupted', spans: [] });
  });

  it('a run whose agent cannot run any more when the worker takes it fails with the reason', async () => {
    rt.scripts.write('soon-gone', [{ content: 'x' }]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'soon-gone');
    const { executionId, jobId } = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'x', mode: 'async' }), 202);
    rt.scripts.write('soon-gone', [{ not: 'a turn' } as never]);
    startWorker();
    await jobDone(jobId);
    const e = ok(await call(rt.t, 'GET', `/v1/executions/${executionId}`, owner.auth));
    expect(e).toMatchObject({ status: 'failed', errorCode: 'not_configured' });
    expect(e.errorMessage).toContain('soon-gone');
  });
});
