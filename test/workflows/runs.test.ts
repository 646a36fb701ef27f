import { describe, expect, it } from 'vitest';
import { enqueue, getJob } from '../../src/jobs/index.js';
import { createAgent } from '../agents/fixtures.js';
import { errorOf, signupUser } from '../helpers/app.js';
import { client, createWorkflow, getRun, ok, runReaches, startRun, stepOf, until, type Body } from './fixtures.js';
import { useEngine } from './harness.js';

const h = useEngine();
const c = () => client(h.t);

describe('running workflows', () => {
  it('runs a DAG step by step, mapping inputs from the run input and earlier outputs', async () => {
    const agent = await createAgent(h.t, h.a.auth, { name: 'Researcher', slug: 'researcher' });
    const [search, rank] = await h.tools('search', 'rank');
    h.routes.set(search!, (call) => ({ body: { output: { items: [`${(call.input as { q: string }).q}-1`, 'other'] } } }));
    h.routes.set(agent.id, (call) => ({ body: { output: { query: `best ${(call.input as { city: string }).city}` } } }));
    const w = await createWorkflow(h.t, h.a.auth, [
      { key: 'plan', type: 'agent', agent: 'researcher', input: { city: '$.input.city' } },
      { key: 'search', type: 'tool', tool: search, dependsOn: ['plan'], input: { q: '$.steps.plan.output.query' } },
      { key: 'rank', type: 'tool', tool: rank, dependsOn: ['search'], input: { first: '$.steps.search.output.items[0]', city: '$.input.city', literal: '$$5', n: 3 } },
    ]);
    const started = await startRun(h.t, h.a.auth, w.id, { city: 'Lisbon' });
    expect(started).toMatchObject({ workflowId: w.id, workflowVersion: 1, status: 'running', input: { city: 'Lisbon' }, createdBy: h.a.userId });
    const run = await runReaches(h.t, h.a.auth, started.id, 'completed', 'failed');
    expect(run.status, JSON.stringify(run)).toBe('completed');
    expect(stepOf(run, 'plan')).toMatchObject({ status: 'completed', attempts: 1, input: { city: 'Lisbon' }, output: { query: 'best Lisbon' } });
    expect(stepOf(run, 'search')).toMatchObject({ status: 'completed', input: { q: 'best Lisbon' } });
    const rankInput = { first: 'best Lisbon-1', city: 'Lisbon', literal: '$5', n: 3 };
    expect(stepOf(run, 'rank')).toMatchObject({ status: 'completed', input: rankInput, output: { step: 'rank', input: rankInput } });
    // The run's output: the outputs of its sink steps.
    expect(run.output).toEqual({ rank: { step: 'rank', input: rankInput } });
    expect(run.completedAt).not.toBeNull();
    // The agent step asked for the agent named by slug, by its id.
    expect(h.peer.calls.filter((x) => x.runId === run.id).map((x) => `${x.kind}:${x.name}`)).toEqual([`agent:${agent.id}`, `tool:${search}`, `tool:${rank}`]);
  });

  it('fans out one item step per element and fans in their outputs in order', async () => {
    const [prep, visit, sum] = await h.tools('prep', 'visit', 'sum');
    h.routes.set(prep!, (call) => ({ body: { output: { cities: (call.input as { list: string[] }).list } } }));
    h.routes.set(visit!, (call) => ({ body: { output: `${(call.input as { city: string; i: number }).city}#${(call.input as { i: number }).i}` } }));
    const w = await createWorkflow(h.t, h.a.auth, [
      { key: 'prep', type: 'tool', tool: prep, input: { list: '$.input.cities' } },
      { key: 'fan', type: 'fan_out', dependsOn: ['prep'], over: '$.steps.prep.output.cities', step: { type: 'tool', tool: visit, input: { city: '$.item', i: '$.index' } } },
      { key: 'join', type: 'fan_in', from: 'fan' },
      { key: 'sum', type: 'tool', tool: sum, dependsOn: ['join'], input: { all: '$.steps.join.output' } },
    ]);
    const cities = ['Porto', 'Faro', 'Braga', 'Evora'];
    const run = await runReaches(h.t, h.a.auth, (await startRun(h.t, h.a.auth, w.id, { cities })).id, 'completed', 'failed');
    expect(run.status).toBe('completed');
    const expected = cities.map((x, i) => `${x}#${i}`);
    expect(stepOf(run, 'fan')).toMatchObject({ status: 'completed', output: { count: 4 } });
    cities.forEach((x, i) => expect(stepOf(run, `fan.${i}`)).toMatchObject({ stepType: 'tool', status: 'completed', input: { city: x, i }, output: `${x}#${i}` }));
    expect(stepOf(run, 'join').output).toEqual(expected);
    expect(stepOf(run, 'sum').input).toEqual({ all: expected });
    expect(h.peer.calls.filter((x) => x.runId === run.id && x.name === visit).length).toBe(4);

    const empty = await runReaches(h.t, h.a.auth, (await startRun(h.t, h.a.auth, w.id, { cities: [] })).id, 'completed', 'failed');
    expect(empty.status).toBe('completed');
    expect(stepOf(empty, 'join').output).toEqual([]);
    const notArray = await runReaches(h.t, h.a.auth, (await startRun(h.t, h.a.auth, w.id, { cities: 'Porto' })).id, 'completed', 'failed');
    expect(notArray).toMatchObject({ status: 'failed', errorMessage: expect.stringMatching(/step "fan" failed: over gave string, not an array/) });
  });

  it('retries a failing step with back-off, then succeeds', async () => {
    const [flaky, after] = await h.tools('flaky', 'after');
    h.routes.set(flaky!, (_call, k) => (k === 1 ? { status: 503, body: {} } : k === 2 ? { body: { isError: true, output: 'rate limited' } } : { body: { output: 'third time' } }));
    const w = await createWorkflow(h.t, h.a.auth, [
      { key: 'flaky', type: 'tool', tool: flaky, retries: 2, backoffMs: 5 },
      { key: 'after', type: 'tool', tool: after, dependsOn: ['flaky'], input: '$.steps.flaky.output' },
    ]);
    const run = await runReaches(h.t, h.a.auth, (await startRun(h.t, h.a.auth, w.id)).id, 'completed', 'failed');
    expect(run.status).toBe('completed');
    expect(stepOf(run, 'flaky')).toMatchObject({ status: 'completed', attempts: 3, output: 'third time', errorMessage: null });
    expect(stepOf(run, 'after')).toMatchObject({ status: 'completed', attempts: 1, input: 'third time' });
    expect(h.peer.count(run.id, 'flaky')).toBe(3);
    expect(h.peer.count(run.id, 'after')).toBe(1);
  });

  it('fails the run when retries are exhausted, cancels the rest, and tells the starter', async () => {
    const [bad, slow, never] = await h.tools('bad', 'slow', 'never');
    h.routes.set(bad!, () => ({ body: { isError: true, output: { message: 'no such city' } } }));
    const gate = h.held();
    h.routes.set(slow!, gate.handler);
    const w = await createWorkflow(h.t, h.member.auth, [
      { key: 'bad', type: 'tool', tool: bad, retries: 1, backoffMs: 1 },
      { key: 'slow', type: 'tool', tool: slow },
      { key: 'never', type: 'tool', tool: never, dependsOn: ['bad', 'slow'] },
    ]);
    const id = (await startRun(h.t, h.member.auth, w.id)).id;
    const run = await runReaches(h.t, h.a.auth, id, 'failed', 'completed');
    expect(run.errorMessage).toMatch(/^step "bad" failed: the tool reported an error: \{"message":"no such city"\}/);
    expect(stepOf(run, 'bad')).toMatchObject({ status: 'failed', attempts: 2 });
    expect(h.peer.count(id, 'bad')).toBe(2);
    await until(async () => gate.reached(), 'the slow step to start');
    expect(stepOf(await getRun(h.t, h.a.auth, id), 'slow')).toMatchObject({ status: 'cancelled' });
    gate.release();
    // The slow step's late result is discarded: it stays cancelled and nothing after it runs.
    await until(async () => h.peer.calls.some((x) => x.runId === id && x.stepKey === 'slow'), 'the slow call');
    await until(async () => h.worker.active === 0, 'the slow step to return');
    const after = await getRun(h.t, h.a.auth, id);
    expect(stepOf(after, 'slow').status).toBe('cancelled');
    expect(after.steps.map((s: Body) => s.stepKey)).not.toContain('never');
    expect(h.peer.count(id, 'never')).toBe(0);
    const told = (await h.notifications(h.member.auth)).filter((x) => x.resourceId === id);
    expect(told).toEqual([expect.objectContaining({ kind: 'workflow.failed', resourceType: 'workflow_execution', data: expect.objectContaining({ stepKey: 'bad' }) })]);
  });

  it('fails an attempt that runs past its timeout, and retries it', async () => {
    const [sleepy] = await h.tools('sleepy');
    const gate = h.held();
    h.routes.set(sleepy!, (call, k) => (k === 1 ? gate.handler(call, k) : { body: { output: 'awake' } }));
    const w = await createWorkflow(h.t, h.a.auth, [{ key: 'sleepy', type: 'tool', tool: sleepy, timeoutMs: 150, retries: 1, backoffMs: 1 }]);
    const run = await runReaches(h.t, h.a.auth, (await startRun(h.t, h.a.auth, w.id)).id, 'completed', 'failed');
    gate.release();
    expect(run.status).toBe('completed');
    expect(stepOf(run, 'sleepy')).toMatchObject({ attempts: 2, output: 'awake' });

    const once = await createWorkflow(h.t, h.a.auth, [{ key: 'sleepy', type: 'tool', tool: sleepy, timeoutMs: 100 }]);
    h.routes.set(sleepy!, h.held().handler);
    const failed = await runReaches(h.t, h.a.auth, (await startRun(h.t, h.a.auth, once.id)).id, 'completed', 'failed');
    expect(failed.errorMessage).toBe('step "sleepy" failed: timed out after 100 ms');
  });

  it('a repeated delivery of a completed step does nothing', async () => {
    const [once, hold] = await h.tools('once', 'hold');
    const gate = h.held();
    h.routes.set(hold!, gate.handler);
    const w = await createWorkflow(h.t, h.a.auth, [
      { key: 'once', type: 'tool', tool: once },
      { key: 'hold', type: 'tool', tool: hold, dependsOn: ['once'] },
    ]);
    const id = (await startRun(h.t, h.a.auth, w.id)).id;
    await until(async () => gate.reached(), 'the second step to start');
    const mid = await getRun(h.t, h.a.auth, id);
    // Deliver the first step's job again, as a worker would after losing the acknowledgement.
    const redeliver = async () => {
      const payload = { runId: id, startedAt: mid.startedAt, stepKey: 'once' };
      const job = (await enqueue({ db: h.t.db }, h.a.orgId, { queue: 'workflows', task: 'workflow.step', payload })).job;
      return until(async () => {
        const j = await getJob({ db: h.t.db }, h.a.orgId, job.id);
        return j.status === 'succeeded' ? j.result : null;
      }, 'the repeated job to finish');
    };
    expect(await redeliver()).toEqual({ step: 'once', outcome: 'the step is completed' });
    gate.release();
    const run = await runReaches(h.t, h.a.auth, id, 'completed', 'failed');
    expect(await redeliver()).toEqual({ step: 'once', outcome: 'the run is completed' });
    expect(h.peer.count(id, 'once')).toBe(1);
    expect(stepOf(run, 'once')).toMatchObject({ attempts: 1, output: stepOf(mid, 'once').output });
  });

  it('an agent execution that does not complete fails the step', async () => {
    const other = await createAgent(h.t, h.a.auth, { name: 'Grumpy', slug: 'grumpy' });
    h.routes.set(other.id, () => ({ body: { status: 'failed', error: 'model refused' } }));
    const w = await createWorkflow(h.t, h.a.auth, [{ key: 'ask', type: 'agent', agent: other.id }]);
    const run = await runReaches(h.t, h.a.auth, (await startRun(h.t, h.a.auth, w.id)).id, 'completed', 'failed');
    expect(run.errorMessage).toBe('step "ask" failed: model refused');
  });
});

describe('runs: starting, listing, bad input', () => {
  it('only an active workflow starts; runs keep the version they started on', async () => {
    const [x, y] = await h.tools('x', 'y');
    const draft = await createWorkflow(h.t, h.a.auth, [{ key: 'x', type: 'tool', tool: x }], { status: 'draft' });
    const refused = await c().post(`/v1/workflows/${draft.id}/executions`, h.a.auth, { input: {} });
    expect(refused.statusCode).toBe(409);
    expect(errorOf(refused).message).toMatch(/is draft; only an active workflow can be started/);
    ok(await c().patch(`/v1/workflows/${draft.id}`, h.a.auth, { version: 1, status: 'active' }));
    const first = await startRun(h.t, h.a.auth, draft.id);
    expect(first.workflowVersion).toBe(2);
    ok(await c().patch(`/v1/workflows/${draft.id}`, h.a.auth, { version: 2, steps: [{ key: 'y', type: 'tool', tool: y }] }));
    const second = await c().post(`/v1/workflows/${draft.id}/executions`, h.a.auth);
    expect(second.statusCode).toBe(202);
    const r1 = await runReaches(h.t, h.a.auth, first.id, 'completed');
    const r2 = await runReaches(h.t, h.a.auth, second.json().id, 'completed');
    expect(r1.steps.map((s: Body) => s.stepKey)).toEqual(['x']);
    expect(r2.steps.map((s: Body) => s.stepKey)).toEqual(['y']);
    expect(r2.workflowVersion).toBe(3);

    const listed = ok(await c().get(`/v1/workflow-executions?workflowId=${draft.id}`, h.a.auth)).data;
    expect(listed.map((r: Body) => r.id)).toEqual([r2.id, r1.id]);
    const p1 = ok(await c().get(`/v1/workflow-executions?workflowId=${draft.id}&limit=1`, h.a.auth));
    expect(ok(await c().get(`/v1/workflow-executions?workflowId=${draft.id}&limit=1&cursor=${p1.nextCursor}`, h.a.auth)).data.map((r: Body) => r.id)).toEqual([r1.id]);
    expect(ok(await c().get(`/v1/workflow-executions?workflowId=${draft.id}&status=failed`, h.a.auth)).data).toEqual([]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(ok(await c().get(`/v1/workflow-executions?workflowId=${draft.id}&from=${future}`, h.a.auth)).data).toEqual([]);
    expect(ok(await c().get(`/v1/workflow-executions?workflowId=${draft.id}&to=${future}`, h.viewer.auth)).data).toHaveLength(2);
    const other = await signupUser(h.t.app);
    expect(ok(await c().get('/v1/workflow-executions', other.auth)).data).toEqual([]);
    expect((await c().get(`/v1/workflow-executions/${r1.id}`, other.auth)).statusCode).toBe(404);
  });

  const id = '00000000-0000-4000-8000-000000000000';
  it.each([
    ['POST', '/v1/workflows/not-a-uuid/executions', { input: {} }],
    ['POST', `/v1/workflows/${id}/executions`, { input: [1, 2] }],
    ['POST', `/v1/workflows/${id}/executions`, { input: 'text' }],
    ['POST', `/v1/workflows/${id}/executions`, { input: {}, extra: true }],
    ['POST', `/v1/workflows/${id}/executions`, { input: { s: 'nul\u0000' } }],
    ['GET', '/v1/workflow-executions?status=done', undefined],
    ['GET', '/v1/workflow-executions?workflowId=x', undefined],
    ['GET', '/v1/workflow-executions?from=yesterday', undefined],
    ['GET', '/v1/workflow-executions?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', undefined],
    ['GET', '/v1/workflow-executions?cursor=abc', undefined],
    ['GET', '/v1/workflow-executions?limit=101', undefined],
    ['GET', '/v1/workflow-executions/not-a-uuid', undefined],
    ['POST', '/v1/workflow-executions/not-a-uuid/cancel', undefined],
    ['POST', `/v1/workflow-executions/${id}/events`, {}],
    ['POST', `/v1/workflow-executions/${id}/events`, { name: '' }],
    ['POST', `/v1/workflow-executions/${id}/events`, { name: 'has space' }],
    ['POST', `/v1/workflow-executions/${id}/events`, { name: 'x', other: 1 }],
    ['POST', '/v1/workflow-executions/not-a-uuid/events', { name: 'x' }],
    ['POST', `/v1/workflow-executions/${id}/steps/bad.key/approve`, {}],
    ['POST', `/v1/workflow-executions/${id}/steps/ok/approve`, { comment: 5 }],
    ['POST', `/v1/workflow-executions/${id}/steps/ok/reject`, { comment: 'x'.repeat(2001) }],
    ['POST', `/v1/workflow-executions/${id}/steps/ok/reject`, { reason: 'x' }],
    ['POST', '/v1/workflow-executions/not-a-uuid/steps/ok/reject', {}],
  ])('%s %s (case %#) → 400', async (method, url, payload) => {
    const res = await h.t.app.inject({ method: method as 'GET', url, headers: h.a.auth, ...(payload === undefined ? {} : { payload }) });
    expect(res.statusCode, res.body).toBe(400);
    expect(['validation_failed', 'bad_request']).toContain(errorOf(res).code);
  });

  it('404 for runs and workflows that do not exist; 403 for a viewer starting a run', async () => {
    expect((await c().post(`/v1/workflows/${id}/executions`, h.a.auth, { input: {} })).statusCode).toBe(404);
    expect((await c().get(`/v1/workflow-executions/${id}`, h.a.auth)).statusCode).toBe(404);
    expect((await c().post(`/v1/workflow-executions/${id}/cancel`, h.a.auth)).statusCode).toBe(404);
    expect((await c().post(`/v1/workflow-executions/${id}/events`, h.a.auth, { name: 'x' })).statusCode).toBe(404);
    expect((await c().post(`/v1/workflow-executions/${id}/steps/ok/approve`, h.a.auth)).statusCode).toBe(404);
    const [x] = await h.tools('x');
    const w = await createWorkflow(h.t, h.a.auth, [{ key: 'x', type: 'tool', tool: x }]);
    expect((await c().post(`/v1/workflows/${w.id}/executions`, h.viewer.auth, { input: {} })).statusCode).toBe(403);
  });
});
