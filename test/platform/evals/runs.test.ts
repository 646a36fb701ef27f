/**
 * Eval runs on the real runtime and job queue: a Worker given the service's
 * own job handlers runs every case of a suite through scripted agents (one
 * answering by rules, a judge agent grading), scores them with each scorer,
 * and finishes the run with its totals. Then two versions compared, and the
 * promotion gate refusing, passing and being forced.
 */
import { describe, expect, it } from 'vitest';
import { errorOf, signupUser } from '../../helpers/app.js';
import { addCase, auditActions, call, createSuite, evalCounts, finished, ok, startRun, useEvals, type Body } from './fixtures.js';

const h = useEvals({ worker: true });

const ANSWERS: Array<[string, string]> = [
  ['Q-capital', 'Paris'],
  ['Q-rome', 'Milan'],
  ['Q-contains', 'The tallest mountain is Everest, in Nepal.'],
  ['Q-order', 'Your Order #12345 is confirmed'],
  ['Q-json', '{"city": "Oslo", "temp": 21}'],
  ['Q-math', 'The answer is 42.'],
  ['Q-weather', 'It is sunny and warm today'],
  ['Q-poem-good', 'Roses are red, violets are blue'],
  ['Q-poem-bad', 'Bad verse without rhyme'],
];

async function judge() {
  return h.agent([
    ['Roses are red', '{"score": 0.9, "reasoning": "it rhymes"}'],
    ['Bad verse', '{"score": 0.2, "reasoning": "no rhyme at all"}'],
  ]);
}

/** One case per scorer, passing and failing; the names say which. */
async function fullSuite(suiteId: string, judgeSlug: string) {
  const add = (name: string, body: Record<string, unknown>) => addCase(h, suiteId, { name, ...body });
  await add('exact passes', { input: 'Q-capital of France?', expectedOutput: 'Paris', scorer: { type: 'exact' } });
  await add('exact fails', { input: 'Q-rome: capital of Italy?', expectedOutput: 'Rome', scorer: { type: 'exact' } });
  await add('contains passes', { input: 'Q-contains', scorer: { type: 'contains', values: ['Everest', 'nepal'], caseSensitive: false } });
  await add('regex passes', { input: 'Q-order status', scorer: { type: 'regex', pattern: 'Order #\\d{5}' } });
  await add('json_schema passes', {
    input: 'Q-json weather', scorer: { type: 'json_schema', schema: { type: 'object', properties: { city: { type: 'string' }, temp: { type: 'number' } }, required: ['city', 'temp'] } },
  });
  await add('numeric passes', { input: 'Q-math', expectedOutput: 42, scorer: { type: 'numeric' } });
  await add('embedding passes', { input: 'Q-weather', expectedOutput: 'It is sunny and warm today', scorer: { type: 'embedding_similarity' } });
  await add('judge passes', { input: 'Q-poem-good', scorer: { type: 'llm_judge', judgeAgent: judgeSlug }, scoringRubric: 'Does it rhyme?' });
  await add('judge fails', { input: 'Q-poem-bad', scorer: { type: 'llm_judge', judgeAgent: judgeSlug }, scoringRubric: 'Does it rhyme?' });
  await add('error: the agent has no answer', { input: 'Q-unscripted', expectedOutput: 'x', scorer: { type: 'exact' } });
}

describe('a run of a suite', () => {
  it('runs every case through the agent on the worker, scores it, links its execution and totals the run', async () => {
    const agent = await h.agent(ANSWERS);
    const j = await judge();
    const suite = await createSuite(h, agent.id, { passThreshold: 0.7 });
    await fullSuite(suite.id, j.slug);
    const started = await startRun(h, suite.id, { concurrency: 3 });
    expect(started).toMatchObject({ status: 'pending', concurrency: 3, totalTests: 10, agentVersion: '1.0.0', progress: { total: 10 } });
    expect(started.results).toHaveLength(10);

    const run = await finished(h, started.id);
    expect(run.status).toBe('completed');
    const byName = Object.fromEntries(run.results.map((r: Body) => [r.caseName, r]));
    for (const [name, r] of Object.entries(byName) as Array<[string, Body]>) {
      const want = name.startsWith('error') ? 'error' : name.endsWith('passes') ? 'passed' : 'failed';
      expect(r.status, `${name}: ${r.feedback}`).toBe(want);
    }
    expect(byName['exact fails']).toMatchObject({ score: 0, actualOutput: 'Milan' });
    expect(byName['embedding passes'].score).toBeCloseTo(1, 3);
    expect(byName['judge passes']).toMatchObject({ score: 0.9, feedback: 'it rhymes' });
    expect(byName['judge passes'].details.judgeExecutionId).toBeTruthy();
    expect(byName['judge fails']).toMatchObject({ score: 0.2, feedback: 'no rhyme at all' });
    expect(byName['error: the agent has no answer'].feedback).toMatch(/execution failed/);
    expect(run).toMatchObject({
      totalTests: 10, passedTests: 7, failedTests: 2, errorTests: 1, passRate: 0.7,
      progress: { total: 10, done: 10, passed: 7, failed: 2, error: 1, pending: 0, running: 0, cancelled: 0 },
      gate: { metric: 'pass_rate', threshold: 0.7, value: 0.7, passed: true },
    });
    expect(run.averageScore).toBeCloseTo((5 + byName['embedding passes'].score + 0.9 + 0.2) / 10, 3);
    // Cost, tokens and latency come from each case's execution (10 + 5 tokens per scripted answer; the judge's are its own).
    expect(run.totalTokens).toBe(9 * 15);
    expect(run.latencyP50Ms).not.toBeNull();
    expect(run.latencyP95Ms).toBeGreaterThanOrEqual(run.latencyP50Ms);
    expect(run.costUsd).toBeGreaterThanOrEqual(0);
    const exec = ok(await call(h.rt.t, 'GET', `/v1/executions/${byName['exact passes'].executionId}`, h.owner));
    expect(exec).toMatchObject({ agentId: agent.id, status: 'completed', totalTokens: 15, requestId: `eval:${run.id}:${byName['exact passes'].testCaseId}` });
    expect(byName['exact passes'].totalTokens).toBe(15);

    const audit = await auditActions(h, run.id);
    expect(audit.map((a) => [a.action, a.actor_type])).toEqual([['eval_run.started', 'user'], ['eval_run.completed', 'system']]);
    expect(audit[1]!.new_values).toMatchObject({ passedTests: 7, totalTests: 10 });
    const list = ok(await call(h.rt.t, 'GET', `/v1/eval-suites/${suite.id}/runs?status=completed`, h.viewer.auth));
    expect(list.data.map((x: Body) => x.id)).toEqual([run.id]);
  });

  it('refuses bad run requests with 4xx and starts nothing', async () => {
    const agent = await h.agent(ANSWERS);
    const suite = await createSuite(h, agent.id);
    const empty = await call(h.rt.t, 'POST', `/v1/eval-suites/${suite.id}/runs`, h.owner, {});
    expect(empty.statusCode).toBe(409);
    expect(errorOf(empty).message).toMatch(/no test cases/);
    await addCase(h, suite.id, { input: 'Q-capital', expectedOutput: 'Paris', scorer: { type: 'exact' } });
    const before = await evalCounts(h);
    for (const [body, status] of [
      [{ concurrency: 0 }, 400], [{ concurrency: 51 }, 400], [{ concurrency: 1.5 }, 400], [{ agentVersionId: 'x' }, 400],
      [{ version: '9.9.9' }, 400], [{ agentVersionId: '0190f5d3-7c5e-7000-8000-000000000000' }, 400],
      [{ version: '1.0.0', agentVersionId: '0190f5d3-7c5e-7000-8000-000000000000' }, 400], [{ extra: true }, 400],
    ] as const) {
      const res = await call(h.rt.t, 'POST', `/v1/eval-suites/${suite.id}/runs`, h.owner, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
    }
    expect((await call(h.rt.t, 'POST', `/v1/eval-suites/${suite.id}/runs`, h.viewer.auth, {})).statusCode).toBe(403);
    expect(await evalCounts(h)).toEqual(before);
    expect((await call(h.rt.t, 'GET', '/v1/eval-runs/nope', h.owner)).statusCode).toBe(400);
    expect((await call(h.rt.t, 'GET', '/v1/eval-runs/0190f5d3-7c5e-7000-8000-000000000000', h.owner)).statusCode).toBe(404);
    expect((await call(h.rt.t, 'POST', '/v1/eval-runs/0190f5d3-7c5e-7000-8000-000000000000/cancel', h.owner)).statusCode).toBe(404);
    expect((await call(h.rt.t, 'GET', `/v1/eval-suites/${suite.id}/runs?status=done`, h.owner)).statusCode).toBe(400);
  });
});

/** Publishes the agent's next version answering with another script; it becomes current. */
async function publish(agentId: string, version: string, answers: Array<[string, string]>) {
  const name = `script-${version.replaceAll('.', '_')}-${Math.random().toString(36).slice(2, 6)}`;
  h.script(name, answers);
  const lock = ok(await call(h.rt.t, 'GET', `/v1/agents/${agentId}`, h.owner)).version;
  ok(await call(h.rt.t, 'PATCH', `/v1/agents/${agentId}`, h.owner, { version: lock, modelSettings: { provider: 'scripted', script: name } }));
  return ok(await call(h.rt.t, 'POST', `/v1/agents/${agentId}/versions`, h.owner, { version }), 201);
}

describe('two versions', () => {
  it('are compared case by case, and the gate promotes the one that passes, refuses the one that regressed unless forced', async () => {
    const agent = await h.agent([['Q-capital', 'Paris'], ['Q-math', '42'], ['Q-order', 'Order #12345']]);
    const suite = await createSuite(h, agent.id, { name: 'Core', passThreshold: 1 });
    await addCase(h, suite.id, { name: 'capital', input: 'Q-capital', expectedOutput: 'Paris', scorer: { type: 'exact' } });
    await addCase(h, suite.id, { name: 'math', input: 'Q-math', expectedOutput: 42, scorer: { type: 'numeric' } });
    await addCase(h, suite.id, { name: 'order', input: 'Q-order', scorer: { type: 'regex', pattern: '#\\d{5}' } });
    const v2 = await publish(agent.id, '1.1.0', [['Q-capital', 'Paris'], ['Q-math', '41'], ['Q-order', 'Order #12345']]);

    const a = await finished(h, (await startRun(h, suite.id, { version: '1.0.0' })).id);
    const b = await finished(h, (await startRun(h, suite.id, { agentVersionId: v2.id, concurrency: 1 })).id);
    expect([a.agentVersion, a.passRate, b.agentVersion, b.passRate]).toEqual(['1.0.0', 1, '1.1.0', 0.6667]);

    const cmp = ok(await call(h.rt.t, 'GET', `/v1/eval-suites/${suite.id}/compare?runs=${a.id},${b.id}`, h.viewer.auth));
    expect(cmp.summary).toMatchObject({ regressed: 1, improved: 0, unchanged: 2, added: 0, removed: 0, passRateDelta: -0.3333, averageScoreDelta: -0.3333 });
    expect(cmp.summary.costDelta).toBeTypeOf('number');
    const math = cmp.cases.find((c: Body) => c.name === 'math');
    expect(math).toMatchObject({ change: 'regressed', scoreDelta: -1, a: { passed: true, score: 1 }, b: { passed: false, score: 0 } });
    expect(math.latencyDelta).toBeTypeOf('number');
    // Reversed, the same case improved.
    const back = ok(await call(h.rt.t, 'GET', `/v1/eval-suites/${suite.id}/compare?runs=${b.id},${a.id}`, h.owner));
    expect(back.summary).toMatchObject({ regressed: 0, improved: 1 });

    // The gate: 1.1.0 is current (publishing made it so). 1.0.0 passes and is promoted.
    const gate1 = ok(await call(h.rt.t, 'GET', `/v1/agents/${agent.id}/versions/1.0.0/gate`, h.viewer.auth));
    expect(gate1).toMatchObject({ passed: true, suites: [{ suiteId: suite.id, runId: a.id, value: 1, passed: true }] });
    const p1 = ok(await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.0.0/promote`, h.member.auth));
    expect(p1).toMatchObject({ forced: false, gate: { passed: true }, agent: { currentVersion: '1.0.0' } });

    // 1.1.0 regressed: refused with the suite, run and figures named.
    const refused = await call(h.rt.t, 'POST', `/v1/agents/${agent.slug}/versions/1.1.0/promote`, h.owner, {});
    expect(refused.statusCode).toBe(409);
    const e = errorOf(refused);
    expect(e.code).toBe('eval_gate_failed');
    expect(e.message).toContain('suite "Core"');
    expect(e.message).toContain(b.id);
    expect(e.message).toContain('0.6667 < 1');
    expect(e.details).toMatchObject({ gate: { passed: false, suites: [{ runId: b.id, value: 0.6667, threshold: 1, passed: false }] } });
    expect(ok(await call(h.rt.t, 'GET', `/v1/agents/${agent.id}`, h.owner)).currentVersion).toBe('1.0.0');

    // Forcing needs evals:override (admins) and a reason.
    const member = await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.1.0/promote`, h.member.auth, { force: true, reason: 'hotfix' });
    expect(member.statusCode).toBe(403);
    expect(errorOf(member).details).toEqual({ permission: 'evals:override' });
    const noReason = await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.1.0/promote`, h.owner, { force: true });
    expect(noReason.statusCode).toBe(400);
    const forced = ok(await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.1.0/promote`, h.owner, { force: true, reason: 'math regression is known, ships the fix for #12' }));
    expect(forced).toMatchObject({ forced: true, gate: { passed: false }, agent: { currentVersion: '1.1.0' } });
    const promoted = (await auditActions(h, agent.id)).filter((x) => x.action === 'agent.promoted');
    expect(promoted.map((x) => x.new_values)).toMatchObject([
      { currentVersion: '1.0.0', gatePassed: true, forced: false },
      { currentVersion: '1.1.0', gatePassed: false, forced: true, reason: 'math regression is known, ships the fix for #12', suites: [{ runId: b.id, value: 0.6667 }] },
    ]);

    // A version never run: a required suite refuses, an if_run suite lets it through.
    await publish(agent.id, '1.2.0', [['Q-capital', 'Paris']]);
    const unrun = await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.0.0/promote`, h.owner, {});
    expect(unrun.statusCode).toBe(200);
    const never = await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.2.0/promote`, h.owner, {});
    expect(never.statusCode).toBe(409);
    expect(errorOf(never).message).toMatch(/no completed run of version 1.2.0/);
    ok(await call(h.rt.t, 'PATCH', `/v1/eval-suites/${suite.id}`, h.owner, { version: suite.version, gate: 'if_run' }));
    expect(ok(await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.2.0/promote`, h.owner, {})).agent.currentVersion).toBe('1.2.0');
    // Raising nothing, but a suite turned off never gates; promoting the current version is a conflict.
    const again = await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.2.0/promote`, h.owner, {});
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).code).toBe('conflict');
  });

  it('refuses bad compare and promote requests, and other tenants see nothing', async () => {
    const agent = await h.agent([['Q-capital', 'Paris']]);
    const suite = await createSuite(h, agent.id);
    await addCase(h, suite.id, { input: 'Q-capital', expectedOutput: 'Paris', scorer: { type: 'exact' } });
    const run = await finished(h, (await startRun(h, suite.id)).id);
    const other = await createSuite(h, agent.id);
    await addCase(h, other.id, { input: 'Q-capital', expectedOutput: 'Paris', scorer: { type: 'exact' } });
    const otherRun = await finished(h, (await startRun(h, other.id)).id);
    for (const q of ['', '?runs=', `?runs=${run.id}`, `?runs=${run.id},nope`, `?runs=${run.id},${run.id},${run.id}`]) {
      expect((await call(h.rt.t, 'GET', `/v1/eval-suites/${suite.id}/compare${q}`, h.owner)).statusCode, q).toBe(400);
    }
    const mixed = await call(h.rt.t, 'GET', `/v1/eval-suites/${suite.id}/compare?runs=${run.id},${otherRun.id}`, h.owner);
    expect(mixed.statusCode).toBe(400);
    expect(errorOf(mixed).message).toMatch(/another suite/);
    expect((await call(h.rt.t, 'GET', `/v1/eval-suites/${suite.id}/compare?runs=${run.id},0190f5d3-7c5e-7000-8000-000000000000`, h.owner)).statusCode).toBe(404);
    const cancelDone = await call(h.rt.t, 'POST', `/v1/eval-runs/${run.id}/cancel`, h.owner);
    expect(cancelDone.statusCode).toBe(409);

    const before = await evalCounts(h);
    expect((await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/9.9.9/promote`, h.owner, {})).statusCode).toBe(404);
    expect((await call(h.rt.t, 'POST', `/v1/agents/NOT_A_REF!/versions/1.0.0/promote`, h.owner, {})).statusCode).toBe(400);
    expect((await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.0.0/promote`, h.owner, { force: 'yes' })).statusCode).toBe(400);
    expect((await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.0.0/promote`, h.viewer.auth, {})).statusCode).toBe(403);
    expect(await evalCounts(h)).toEqual(before);

    const stranger = await signupUser(h.rt.t.app);
    expect((await call(h.rt.t, 'GET', `/v1/eval-runs/${run.id}`, stranger.auth)).statusCode).toBe(404);
    expect((await call(h.rt.t, 'POST', `/v1/eval-runs/${run.id}/cancel`, stranger.auth)).statusCode).toBe(404);
    expect((await call(h.rt.t, 'GET', `/v1/eval-suites/${suite.id}/runs`, stranger.auth)).statusCode).toBe(404);
    expect((await call(h.rt.t, 'GET', `/v1/eval-suites/${suite.id}/compare?runs=${run.id},${run.id}`, stranger.auth)).statusCode).toBe(404);
    expect((await call(h.rt.t, 'POST', `/v1/agents/${agent.id}/versions/1.0.0/promote`, stranger.auth, {})).statusCode).toBe(404);
    expect((await call(h.rt.t, 'GET', `/v1/agents/${agent.id}/versions/1.0.0/gate`, stranger.auth)).statusCode).toBe(404);
  });
});
