/**
 * Progress and cancel: an agent whose http tool answers only when the test
 * releases it keeps a case running, so the run's progress and a cancel in the
 * middle are observed at known points (no timing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVAL_CASE_TASK } from '../../../src/platform/index.js';
import { scriptedAgent, startToolApi } from '../../runtime/run-fixtures.js';
import { addCase, auditActions, call, createSuite, ok, startRun, until, useEvals, type Body } from './fixtures.js';

const h = useEvals({ worker: true, env: { AGENTBASE_EGRESS_ALLOW_PRIVATE: 'true' } });
let api: Awaited<ReturnType<typeof startToolApi>>;
let release: () => void = () => {};
const gate = new Promise<void>((r) => {
  release = r;
});

beforeAll(async () => {
  api = await startToolApi((_req, _body, res) => {
    void gate.then(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
});
afterAll(async () => {
  release();
  await api?.close();
});

const jobsOf = async (runId: string) =>
  (await h.rt.t.db.admin.query<{ status: string }>(`SELECT status FROM background_jobs WHERE task = $1 AND payload->>'runId' = $2`, [EVAL_CASE_TASK, runId])).rows;

describe('a run in progress', () => {
  it('shows done/total and results as they arrive; cancel skips pending cases, the running one finishes and counts', async () => {
    const tool = ok(await call(h.rt.t, 'POST', '/v1/tools', h.owner, {
      name: 'hold', description: 'answers when released', toolType: 'api', config: { url: `${api.url}/hold`, method: 'GET' }, inputSchema: { type: 'object' },
    }), 201);
    h.rt.scripts.write('slow', [{ toolCalls: [{ id: 'c1', name: 'hold', arguments: {} }] }, { content: 'done', expect: { lastRole: 'tool' } }]);
    const agent = await scriptedAgent(h.rt.t, h.owner, 'slow', { tools: [tool.id] });
    const suite = await createSuite(h, agent.id);
    for (let i = 0; i < 3; i++) await addCase(h, suite.id, { name: `case ${i}`, input: `task ${i}`, expectedOutput: 'done', scorer: { type: 'exact' } });
    const run = await startRun(h, suite.id, { concurrency: 1 });

    // Concurrency 1: one case runs, held by the tool; the others wait.
    await until(() => api.seen.length === 1, 'the first case to call the tool');
    const during = await until(async () => {
      const r = ok(await call(h.rt.t, 'GET', `/v1/eval-runs/${run.id}`, h.viewer.auth));
      return r.status === 'running' && r.progress.running === 1 ? r : null;
    }, 'the run to show a running case');
    expect(during.progress).toMatchObject({ total: 3, done: 0, running: 1, pending: 2 });
    expect(during.results.map((r: Body) => r.status)).toEqual(['running', 'pending', 'pending']);

    const cancelled = ok(await call(h.rt.t, 'POST', `/v1/eval-runs/${run.id}/cancel`, h.member.auth));
    expect(cancelled).toMatchObject({ status: 'cancelled', progress: { total: 3, done: 2, running: 1, pending: 0, cancelled: 2 } });
    expect(cancelled.completedAt).not.toBeNull();
    const again = await call(h.rt.t, 'POST', `/v1/eval-runs/${run.id}/cancel`, h.owner);
    expect(again.statusCode).toBe(409);

    release();
    const after = await until(async () => {
      const r = ok(await call(h.rt.t, 'GET', `/v1/eval-runs/${run.id}`, h.owner));
      return r.results[0].status === 'passed' && r.passedTests === 1 ? r : null;
    }, 'the running case to be recorded');
    expect(after).toMatchObject({ status: 'cancelled', passedTests: 1, failedTests: 0, passRate: 1, progress: { done: 3, passed: 1, cancelled: 2 } });
    expect(after.results[0].executionId).toBeTruthy();
    // Nothing else runs: the chain stopped at the cancel, and the tool was called once.
    await until(async () => (await jobsOf(run.id)).every((j) => j.status === 'succeeded'), 'the run\'s jobs to finish');
    expect(api.seen).toHaveLength(1);
    expect(after.results.slice(1).map((r: Body) => [r.status, r.executionId])).toEqual([['cancelled', null], ['cancelled', null]]);
    expect((await auditActions(h, run.id)).map((a) => a.action)).toEqual(['eval_run.started', 'eval_run.cancelled']);
    // The cancelled run is no evidence for the gate.
    const gate = ok(await call(h.rt.t, 'GET', `/v1/agents/${agent.id}/versions/1.0.0/gate`, h.owner));
    expect(gate).toMatchObject({ passed: false, suites: [{ runId: null, passed: false }] });
  });

  it('a job delivered again after its case was recorded does nothing', async () => {
    h.rt.scripts.write('quick', [{ when: { anyContains: 'ping' }, content: 'pong' }]);
    const agent = await scriptedAgent(h.rt.t, h.owner, 'quick');
    const suite = await createSuite(h, agent.id);
    await addCase(h, suite.id, { input: 'ping', expectedOutput: 'pong', scorer: { type: 'exact' } });
    const run = await startRun(h, suite.id);
    await until(async () => ok(await call(h.rt.t, 'GET', `/v1/eval-runs/${run.id}`, h.owner)).status === 'completed', 'the run');
    const job = (await h.rt.t.db.admin.query<Body>(
      `SELECT id, org_id AS "orgId", payload, attempts, max_attempts AS "maxAttempts" FROM background_jobs WHERE task = $1 AND payload->>'runId' = $2`,
      [EVAL_CASE_TASK, run.id],
    )).rows[0];
    const out = await h.rt.t.service.jobHandlers[EVAL_CASE_TASK]!(job, { signal: new AbortController().signal, workerId: 'test' });
    expect(out).toEqual({ runId: run.id, ran: null });
    const r = ok(await call(h.rt.t, 'GET', `/v1/eval-runs/${run.id}`, h.owner));
    expect(r).toMatchObject({ status: 'completed', passedTests: 1, totalTests: 1 });
  });
});
