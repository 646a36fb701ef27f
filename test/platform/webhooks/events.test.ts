import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_CATALOGUE, EVENT_TYPES, type EventType } from '../../../src/events/index.js';
import { Worker } from '../../../src/jobs/index.js';
import { ok } from '../../agents/fixtures.js';
import { until } from '../../helpers/until.js';
import { call, runAgent, runtimeApp, scriptedAgent, type RuntimeTest } from '../../runtime/run-fixtures.js';
import { startReceiver, verifyStandardWebhook, type Received, type Receiver } from './receiver.js';

/**
 * Every event type of the catalogue, caused the way it happens in use (one
 * endpoint subscribed to '*'), received by a real HTTP receiver, signature
 * verified, and its data checked against the catalogue's schema.
 */

let rt: RuntimeTest;
let recv: Receiver;
let worker: Worker;
let secret: string;
let webhookId: string;

beforeAll(async () => {
  rt = await runtimeApp({ AGENTBASE_WEBHOOKS_ALLOW_PRIVATE: 'true', AGENTBASE_WEBHOOK_RETRY_SCHEDULE: '0,50ms,50ms' });
  recv = await startReceiver();
  worker = new Worker({ db: rt.t.db, handlers: rt.t.service.jobHandlers, pollIntervalMs: 20, prefetch: 0, concurrency: 5 });
  worker.start();
  const w = ok(await call(rt.t, 'POST', '/v1/webhooks', rt.owner.auth, { url: recv.url('/all'), events: ['*'] }), 201);
  secret = w.secret;
  webhookId = w.id;
});
afterAll(async () => {
  await worker?.stop({ timeoutMs: 5000 });
  await recv?.close();
  await rt?.close();
});

const auth = () => rt.owner.auth;
const req = (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) => call(rt.t, method, url, auth(), body);

/** Waits for an event of this type whose data matches, checks signature and schema, and returns it. */
async function received(type: EventType, match: Record<string, unknown> = {}): Promise<Received> {
  const r = await until(() => recv.received.find((x) => x.json.type === type
    && Object.entries(match).every(([k, v]) => x.json.data[k] === v)), `a ${type} event matching ${JSON.stringify(match)}`);
  expect(verifyStandardWebhook(secret, r.headers, r.body)).toBe(true);
  expect(EVENT_CATALOGUE[type].data.safeParse(r.json.data).success, JSON.stringify(r.json.data)).toBe(true);
  expect(Date.parse(r.json.timestamp)).not.toBeNaN();
  return r;
}

describe('the event catalogue', () => {
  it('publishes every type with a JSON schema, and an example body per type', async () => {
    const list = ok(await req('GET', '/v1/webhooks/event-types')).data as Array<{ type: string; schema: { type: string } }>;
    expect(list.map((x) => x.type)).toEqual(EVENT_TYPES);
    for (const x of list) expect(x.schema.type).toBe('object');
    for (const type of EVENT_TYPES) {
      const ex = ok(await req('GET', `/v1/webhooks/event-types/${type}/example`));
      expect(ex.type).toBe(type);
      expect(EVENT_CATALOGUE[type].data.safeParse(ex.data).success).toBe(true);
    }
    expect((await req('GET', '/v1/webhooks/event-types/nope.nope/example')).statusCode).toBe(400);
    const doc = ok(await rt.t.app.inject({ method: 'GET', url: '/openapi.json' }));
    const text = JSON.stringify(doc);
    for (const type of EVENT_TYPES) expect(text).toContain(`"${type}"`);
  });

  it('delivers every event type, each caused the way it happens in use', async () => {
    const seen = new Set<string>();
    const got = async (type: EventType, match: Record<string, unknown> = {}) => {
      const r = await received(type, match);
      seen.add(type);
      return r;
    };

    // agents: publishing a version, and the status change that makes it active
    rt.scripts.write('hello', [{ content: 'Hello!' }]);
    const agent = await scriptedAgent(rt.t, auth(), 'hello');
    await got('agent.version.created', { agentId: agent.id, version: '1.0.0' });
    await got('agent.status.changed', { agentId: agent.id, to: 'active' });

    // runtime: a run ends → run.completed and execution.completed
    const run = ok(await runAgent(rt.t, auth(), agent.id, { input: 'Plan a trip' }));
    await got('run.completed', { executionId: run.id, status: 'completed' });
    await got('execution.completed', { executionId: run.id });

    // ingestion: executions reaching completed and failed (and an update that moves one to failed)
    const batch = ok(await req('POST', '/v1/ingest/batch', {
      executions: [{ clientId: 'ing-ok', agentId: agent.id, status: 'completed' }, { clientId: 'ing-run', agentId: agent.id, status: 'running' }],
    }));
    await got('execution.completed', { clientId: 'ing-ok' });
    ok(await req('POST', '/v1/ingest/batch', { executions: [{ clientId: 'ing-run', status: 'failed', errorCode: 'boom' }] }));
    const failed = await got('execution.failed', { clientId: 'ing-run' });
    expect(failed.json.data).toMatchObject({ executionId: batch.results[1].id, agentId: agent.id, status: 'failed', errorCode: 'boom' });

    // workflows: approved → completed; rejected → failed
    const wf = ok(await req('POST', '/v1/workflows', {
      name: 'Expense', status: 'active', steps: [{ key: 'ok', type: 'approval', approvers: [rt.owner.userId], message: 'Spend?' }],
    }), 201);
    const r1 = ok(await req('POST', `/v1/workflows/${wf.id}/executions`, { input: {} }), 202);
    const r2 = ok(await req('POST', `/v1/workflows/${wf.id}/executions`, { input: {} }), 202);
    for (const id of [r1.id, r2.id]) {
      await until(async () => ok(await req('GET', `/v1/workflow-executions/${id}`)).status === 'waiting', `run ${id} waiting`);
    }
    ok(await req('POST', `/v1/workflow-executions/${r1.id}/steps/ok/approve`, {}));
    ok(await req('POST', `/v1/workflow-executions/${r2.id}/steps/ok/reject`, {}));
    await got('workflow.completed', { executionId: r1.id, workflowId: wf.id });
    await got('workflow.failed', { executionId: r2.id, workflowId: wf.id });

    // plans: a change writes a version; opening a share link
    const plan = ok(await req('POST', '/v1/plans', { kind: 'generic', title: 'Trip' }), 201);
    ok(await req('PATCH', `/v1/plans/${plan.id}`, { version: 1, title: 'Trip to Lisbon' }));
    await got('plan.version.created', { planId: plan.id, version: 2 });
    const share = ok(await req('POST', `/v1/plans/${plan.id}/shares`, { shareType: 'link' }), 201);
    ok(await rt.t.app.inject({ method: 'GET', url: `/v1/shared/${share.token}` }));
    await got('share.accessed', { shareId: share.id, accessCount: 1 });

    // usage: a monthly quota refuses; the event is sent once per limit and month
    const org = ok(await req('GET', '/v1/org'));
    ok(await req('PATCH', '/v1/org', { version: org.version, maxIngestedSpansPerMonth: 1 }));
    const spans = (tag: string) => ({
      executions: [{ clientId: `${tag}-e`, agentId: agent.id, status: 'running' }],
      spans: [0, 1, 2].map((i) => ({ clientId: `${tag}-s${i}`, executionClientId: `${tag}-e`, kind: 'other', name: 's', startedAt: new Date().toISOString() })),
    });
    expect((await req('POST', '/v1/ingest/batch', spans('q1'))).statusCode).toBe(429);
    expect((await req('POST', '/v1/ingest/batch', spans('q2'))).statusCode).toBe(429);
    await got('quota.exceeded', { limit: 'ingested_spans_per_month' });

    // webhook.test, through its route
    ok(await req('POST', `/v1/webhooks/${webhookId}/test`), 202);
    await got('webhook.test', { webhookId });

    // eval.run.completed: a suite of one case, run (the worker runs the case) or cancelled first; either finish announces it
    const suite = ok(await req('POST', '/v1/eval-suites', { agentId: agent.id, name: `events ${Date.now()}` }), 201);
    ok(await req('POST', `/v1/eval-suites/${suite.id}/cases`, { name: 'greets', input: 'hello', expectedOutput: 'hello', scorer: { type: 'contains', values: ['hello'] } }), 201);
    const evalRun = ok(await req('POST', `/v1/eval-suites/${suite.id}/runs`, {}), 202);
    await got('eval.run.completed', { evalRunId: evalRun.id, suiteId: suite.id });

    expect([...seen].sort()).toEqual([...EVENT_TYPES].sort());
    // once per org, limit and month, however many refusals
    expect(recv.received.filter((x) => x.json.type === 'quota.exceeded')).toHaveLength(1);
  });
});
