import { describe, expect, it } from 'vitest';
import { errorOf } from '../helpers/app.js';
import { bearer, createKey } from '../helpers/identity.js';
import { client, createWorkflow, getRun, ok, runReaches, startRun, stepOf, until } from './fixtures.js';
import { useEngine } from './harness.js';

/** Steps that park a run (wait, approval), and cancelling runs. */
const h = useEngine();
const c = () => client(h.t);

describe('wait steps and events', () => {
  it('parks the run as waiting, and an event resumes it', async () => {
    const [after] = await h.tools('after');
    const w = await createWorkflow(h.t, h.a.auth, [
      { key: 'paid', type: 'wait', event: 'payment.received' },
      { key: 'after', type: 'tool', tool: after, dependsOn: ['paid'], input: { amount: '$.steps.paid.output.payload.amount' } },
    ]);
    const id = (await startRun(h.t, h.a.auth, w.id)).id;
    const waiting = await runReaches(h.t, h.a.auth, id, 'waiting');
    expect(stepOf(waiting, 'paid')).toMatchObject({ status: 'waiting', waitingFor: { event: 'payment.received', until: null } });

    const wrong = await c().post(`/v1/workflow-executions/${id}/events`, h.a.auth, { name: 'payment.refunded' });
    expect(wrong.statusCode).toBe(400);
    expect(errorOf(wrong).message).toMatch(/no wait step of this workflow waits for event "payment.refunded"; its wait steps wait for: payment.received/);

    const res = ok(await c().post(`/v1/workflow-executions/${id}/events`, h.a.auth, { name: 'payment.received', payload: { amount: 42 } }));
    expect(res.resumed).toEqual(['paid']);
    expect(stepOf(res.execution, 'paid')).toMatchObject({ status: 'completed', output: { name: 'payment.received', payload: { amount: 42 } } });
    const run = await runReaches(h.t, h.a.auth, id, 'completed', 'failed');
    expect(stepOf(run, 'after').input).toEqual({ amount: 42 });
    expect(run.events).toEqual([expect.objectContaining({ name: 'payment.received', payload: { amount: 42 } })]);
    // A finished run takes no more events.
    expect((await c().post(`/v1/workflow-executions/${id}/events`, h.a.auth, { name: 'payment.received' })).statusCode).toBe(409);
  });

  it('an event posted before the wait step is reached is kept and satisfies it', async () => {
    const [first] = await h.tools('first');
    const gate = h.held();
    h.routes.set(first!, gate.handler);
    const w = await createWorkflow(h.t, h.a.auth, [
      { key: 'first', type: 'tool', tool: first },
      { key: 'go', type: 'wait', event: 'go', dependsOn: ['first'] },
    ]);
    const id = (await startRun(h.t, h.a.auth, w.id)).id;
    await until(async () => gate.reached(), 'the first step to start');
    expect(ok(await c().post(`/v1/workflow-executions/${id}/events`, h.a.auth, { name: 'go', payload: 'early' })).resumed).toEqual([]);
    gate.release();
    const run = await runReaches(h.t, h.a.auth, id, 'completed', 'failed');
    expect(stepOf(run, 'go').output).toMatchObject({ name: 'go', payload: 'early' });
  });

  it('one event completes one wave of wait steps: a later wait step of the same name waits for a new one', async () => {
    const [first] = await h.tools('first');
    const gate = h.held();
    h.routes.set(first!, gate.handler);
    const w = await createWorkflow(h.t, h.a.auth, [
      { key: 'first', type: 'tool', tool: first },
      { key: 'go1', type: 'wait', event: 'go', dependsOn: ['first'] },
      { key: 'go2', type: 'wait', event: 'go', dependsOn: ['go1'] },
      { key: 'go3', type: 'wait', event: 'go', dependsOn: ['go2'] },
    ]);
    const id = (await startRun(h.t, h.a.auth, w.id)).id;
    await until(async () => gate.reached(), 'the first step to start');
    // Early: kept, and taken by the first wait step reached; the second waits.
    expect(ok(await c().post(`/v1/workflow-executions/${id}/events`, h.a.auth, { name: 'go', payload: 'early' })).resumed).toEqual([]);
    gate.release();
    const second = await until(async () => {
      const run = await getRun(h.t, h.a.auth, id);
      return run.status === 'waiting' && run.steps.some((s: { stepKey: string }) => s.stepKey === 'go2') ? run : null;
    }, 'the second wait step to park');
    expect(stepOf(second, 'go1')).toMatchObject({ status: 'completed', output: { name: 'go', payload: 'early' } });
    expect(stepOf(second, 'go2')).toMatchObject({ status: 'waiting' });
    expect(second.events).toEqual([expect.objectContaining({ payload: 'early', consumedBy: ['go1'] })]);

    // Posted while parked: it resumes the step parked on it, and not the one reached after that.
    expect(ok(await c().post(`/v1/workflow-executions/${id}/events`, h.a.auth, { name: 'go', payload: 'second' })).resumed).toEqual(['go2']);
    const third = await until(async () => {
      const run = await getRun(h.t, h.a.auth, id);
      return run.steps.some((s: { stepKey: string; status: string }) => s.stepKey === 'go3' && s.status === 'waiting') ? run : null;
    }, 'the third wait step to park');
    expect(third.status).toBe('waiting');
    expect(stepOf(third, 'go2').output).toMatchObject({ payload: 'second' });

    expect(ok(await c().post(`/v1/workflow-executions/${id}/events`, h.a.auth, { name: 'go', payload: 'third' })).resumed).toEqual(['go3']);
    const done = await runReaches(h.t, h.a.auth, id, 'completed', 'failed');
    expect(done.status).toBe('completed');
    expect(stepOf(done, 'go3').output).toMatchObject({ payload: 'third' });
    expect(done.events.map((e: { payload: string; consumedBy?: string[] }) => [e.payload, e.consumedBy])).toEqual([
      ['early', ['go1']], ['second', ['go2']], ['third', ['go3']],
    ]);
  });

  it('fails a wait step whose event does not come in time', async () => {
    const w = await createWorkflow(h.t, h.a.auth, [{ key: 'w', type: 'wait', event: 'never', timeoutMs: 50 }]);
    const run = await runReaches(h.t, h.a.auth, (await startRun(h.t, h.a.auth, w.id)).id, 'failed', 'completed');
    expect(run.errorMessage).toBe('step "w" failed: no event "never" arrived within 50 ms');
  });
});

describe('approval steps', () => {
  it('notifies the approvers; only they may decide (others 403); approval continues the run', async () => {
    const [after] = await h.tools('after');
    const w = await createWorkflow(h.t, h.a.auth, [
      { key: 'ok', type: 'approval', approvers: [h.a.userId, h.viewer.userId], message: 'Spend 300 EUR?' },
      { key: 'after', type: 'tool', tool: after, dependsOn: ['ok'], input: '$.steps.ok.output' },
    ], { name: 'Expense' });
    const id = (await startRun(h.t, h.member.auth, w.id)).id;
    await runReaches(h.t, h.a.auth, id, 'waiting');
    for (const who of [h.a, h.viewer]) {
      const mine = (await h.notifications(who.auth, '?unread=true')).filter((x) => x.resourceId === id);
      expect(mine).toEqual([expect.objectContaining({
        kind: 'workflow.approval', title: 'Approval needed: workflow "Expense", step "ok"', body: 'Spend 300 EUR?', resourceType: 'workflow_execution',
        data: { workflowId: w.id, executionId: id, stepKey: 'ok', message: 'Spend 300 EUR?' }, readAt: null,
      })]);
    }
    expect((await h.notifications(h.member.auth)).filter((x) => x.resourceId === id)).toEqual([]);

    const denied = await c().post(`/v1/workflow-executions/${id}/steps/ok/approve`, h.member.auth, {});
    expect(denied.statusCode).toBe(403);
    expect(errorOf(denied).message).toMatch(/only the approvers of step "ok"/);
    expect((await c().post(`/v1/workflow-executions/${id}/steps/ok/reject`, h.member.auth)).statusCode).toBe(403);
    expect((await c().post(`/v1/workflow-executions/${id}/steps/nope/approve`, h.a.auth)).statusCode).toBe(404);
    expect((await c().post(`/v1/workflow-executions/${id}/steps/after/approve`, h.a.auth)).statusCode).toBe(404);

    // A viewer named as approver decides with only workflows:read.
    const decided = ok(await c().post(`/v1/workflow-executions/${id}/steps/ok/approve`, h.viewer.auth, { comment: 'fine' }));
    expect(stepOf(decided, 'ok')).toMatchObject({ status: 'completed', decidedBy: h.viewer.userId, output: { approved: true, decidedBy: h.viewer.userId, comment: 'fine' } });
    const run = await runReaches(h.t, h.a.auth, id, 'completed', 'failed');
    expect(stepOf(run, 'after').input).toMatchObject({ approved: true });
    const again = await c().post(`/v1/workflow-executions/${id}/steps/ok/approve`, h.a.auth);
    expect(again.statusCode).toBe(409);
  });

  it('an API key decides only with workflows:write, whatever its user may do', async () => {
    const w = await createWorkflow(h.t, h.a.auth, [{ key: 'ok', type: 'approval', approvers: [h.a.userId], message: 'Ship it?' }]);
    const id = (await startRun(h.t, h.a.auth, w.id)).id;
    await runReaches(h.t, h.a.auth, id, 'waiting');
    const reader = await createKey(h.t.app, h.a.auth, { name: 'reader', scopes: ['workflows:read'] });
    for (const verb of ['approve', 'reject']) {
      const refused = await c().post(`/v1/workflow-executions/${id}/steps/ok/${verb}`, bearer(reader.key), {});
      expect(refused.statusCode).toBe(403);
      expect(errorOf(refused)).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/API key decides approvals only with the workflows:write scope/) });
    }
    // Refused before its body is read: the same answer for a body that would be a 400.
    expect((await c().post(`/v1/workflow-executions/${id}/steps/ok/approve`, bearer(reader.key), { comment: 5 })).statusCode).toBe(403);
    expect(stepOf(await getRun(h.t, h.a.auth, id), 'ok').status).toBe('waiting');

    const writer = await createKey(h.t.app, h.a.auth, { name: 'writer', scopes: ['workflows:read', 'workflows:write'] });
    const decided = ok(await c().post(`/v1/workflow-executions/${id}/steps/ok/approve`, bearer(writer.key), { comment: 'via key' }));
    expect(stepOf(decided, 'ok')).toMatchObject({ status: 'completed', decidedBy: h.a.userId, output: { approved: true, comment: 'via key' } });
    expect((await runReaches(h.t, h.a.auth, id, 'completed', 'failed')).status).toBe('completed');
  });

  it('rejection fails the run; a role names its members as approvers', async () => {
    const w = await createWorkflow(h.t, h.a.auth, [{ key: 'ok', type: 'approval', role: 'viewer', message: 'Publish?' }]);
    const id = (await startRun(h.t, h.a.auth, w.id)).id;
    const waiting = await runReaches(h.t, h.a.auth, id, 'waiting');
    expect(stepOf(waiting, 'ok').waitingFor).toMatchObject({ approvers: [h.viewer.userId], role: 'viewer' });
    expect((await c().post(`/v1/workflow-executions/${id}/steps/ok/approve`, h.a.auth)).statusCode).toBe(403);
    const rejected = ok(await c().post(`/v1/workflow-executions/${id}/steps/ok/reject`, h.viewer.auth, { comment: 'not yet' }));
    expect(rejected).toMatchObject({ status: 'failed', errorMessage: `step "ok" failed: rejected by ${h.viewer.userId}: not yet` });
    expect(stepOf(rejected, 'ok')).toMatchObject({ status: 'failed', output: { approved: false, comment: 'not yet' } });
  });
});

describe('cancellation', () => {
  it('cancels a running run: open steps are cancelled and a late result is discarded', async () => {
    const [long, next] = await h.tools('long', 'next');
    const gate = h.held();
    h.routes.set(long!, gate.handler);
    const w = await createWorkflow(h.t, h.a.auth, [
      { key: 'long', type: 'tool', tool: long },
      { key: 'next', type: 'tool', tool: next, dependsOn: ['long'] },
    ]);
    const id = (await startRun(h.t, h.a.auth, w.id)).id;
    await until(async () => gate.reached(), 'the long step to start');
    expect((await c().post(`/v1/workflow-executions/${id}/cancel`, h.viewer.auth)).statusCode).toBe(403);
    const cancelled = ok(await c().post(`/v1/workflow-executions/${id}/cancel`, h.a.auth));
    expect(cancelled).toMatchObject({ status: 'cancelled', completedAt: expect.any(String) });
    expect(stepOf(cancelled, 'long').status).toBe('cancelled');
    gate.release();
    await until(async () => h.worker.active === 0, 'the long step to return');
    const after = await getRun(h.t, h.a.auth, id);
    expect(after.status).toBe('cancelled');
    expect(stepOf(after, 'long').status).toBe('cancelled');
    expect(h.peer.count(id, 'next')).toBe(0);
    const again = await c().post(`/v1/workflow-executions/${id}/cancel`, h.a.auth);
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).message).toMatch(/is cancelled; only an unfinished run can be cancelled/);
  });

  it('a waiting run can be cancelled, and its workflow deleted only after', async () => {
    const w = await createWorkflow(h.t, h.a.auth, [{ key: 'w', type: 'wait', event: 'x' }]);
    const id = (await startRun(h.t, h.a.auth, w.id)).id;
    await runReaches(h.t, h.a.auth, id, 'waiting');
    const blocked = await c().del(`/v1/workflows/${w.id}`, h.a.auth);
    expect(blocked.statusCode).toBe(409);
    expect(errorOf(blocked).message).toMatch(/1 unfinished runs/);
    ok(await c().post(`/v1/workflow-executions/${id}/cancel`, h.a.auth));
    expect((await c().del(`/v1/workflows/${w.id}`, h.a.auth)).statusCode).toBe(204);
    // Its runs stay readable.
    expect((await getRun(h.t, h.a.auth, id)).status).toBe('cancelled');
  });
});

