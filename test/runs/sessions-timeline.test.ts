import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signupUser, type SignedUp } from '../helpers/app.js';
import { call, ok, runAgent, runtimeApp, scriptedAgent, type Body, type RuntimeTest } from '../runtime/run-fixtures.js';
import { makeAgent } from './fixtures.js';

/**
 * One notion of session: an ingested sessionId is a session's id or the
 * application's key for the conversation; a new key creates the session.
 * Decisions and messages tied to an execution take its agent, session (and
 * plan) when they leave them out. A session's timeline shows runtime and
 * ingested work together, oldest first, paginated.
 */

let rt: RuntimeTest;
let a: SignedUp;
let b: SignedUp;
let planner: string;
let booker: string;
/** A plan of organization a (set in beforeAll): an ingested planId names a live plan. */
let PLAN: string;
const base = Date.now() - 60_000;
const at = (ms: number) => new Date(base + ms).toISOString();

const ingest = async (who: SignedUp, payload: unknown) => {
  const body = ok(await call(rt.t, 'POST', '/v1/ingest/batch', who.auth, payload));
  return body as { accepted: number; rejected: number; results: Array<{ clientId: string; status: string; code?: string; field?: string; id?: string }> };
};
const sessionRows = async (orgId: string) =>
  (await rt.t.db.admin.query<{ id: string; session_token: string; origin: string }>(
    'SELECT id, session_token, origin FROM user_sessions WHERE org_id = $1 ORDER BY session_token', [orgId])).rows;

beforeAll(async () => {
  rt = await runtimeApp();
  a = rt.owner;
  b = await signupUser(rt.t.app);
  planner = await makeAgent(rt.t.app, a.auth, 'planner');
  PLAN = (await rt.t.app.inject({ method: 'POST', url: '/v1/plans', headers: a.auth, payload: { kind: 'generic', title: 'Trip' } })).json().id;
  booker = await makeAgent(rt.t.app, a.auth, 'booker');
});
afterAll(async () => rt?.close());

describe('ingested session keys', () => {
  let session: string;

  it('a new key creates a session once; items store its id', async () => {
    const r = await ingest(a, { executions: [{ clientId: 'e1', agentId: planner, sessionId: 'conv-1', createdAt: at(0), planId: PLAN }] });
    expect(r.rejected).toBe(0);
    const rows = await sessionRows(a.orgId);
    expect(rows.map((x) => [x.session_token, x.origin])).toEqual([['conv-1', 'ingest']]);
    session = rows[0]!.id;
    const e1 = ok(await call(rt.t, 'GET', `/v1/executions/${r.results[0]!.id}`, a.auth));
    expect(e1.sessionId).toBe(session);
    // The same key again, and the session's id, name the same session: no second row.
    await ingest(a, { executions: [{ clientId: 'e2', agentId: booker, sessionId: 'conv-1', createdAt: at(1000) }] });
    await ingest(a, { executions: [{ clientId: 'e3', agentId: booker, sessionId: session, createdAt: at(2000) }] });
    expect(await sessionRows(a.orgId)).toHaveLength(1);
    // It is a session like any other.
    expect(ok(await call(rt.t, 'GET', `/v1/sessions/${session}`, a.auth))).toMatchObject({ sessionToken: 'conv-1', isActive: true });
  });

  it('two batches racing on one new key make one session', async () => {
    await Promise.all([1, 2, 3].map((i) => ingest(a, { executions: [{ clientId: `race-${i}`, agentId: planner, sessionId: 'conv-race' }] })));
    expect((await sessionRows(a.orgId)).filter((x) => x.session_token === 'conv-race')).toHaveLength(1);
  });

  it('a key of a session started through the API names that session', async () => {
    const s = ok(await call(rt.t, 'POST', '/v1/sessions', a.auth, { sessionToken: 'conv-api' }), 201);
    const r = await ingest(a, { executions: [{ clientId: 'api-1', agentId: planner, sessionId: 'conv-api' }] });
    expect(ok(await call(rt.t, 'GET', `/v1/executions/${r.results[0]!.id}`, a.auth)).sessionId).toBe(s.id);
  });

  it('keys are per organization', async () => {
    const theirs = await makeAgent(rt.t.app, b.auth, 'planner');
    await ingest(b, { executions: [{ clientId: 'b1', agentId: theirs, sessionId: 'conv-1' }] });
    const mine = (await sessionRows(a.orgId)).find((x) => x.session_token === 'conv-1')!;
    const their = (await sessionRows(b.orgId)).find((x) => x.session_token === 'conv-1')!;
    expect(their.id).not.toBe(mine.id);
    expect((await call(rt.t, 'GET', `/v1/sessions/${mine.id}/timeline`, b.auth)).statusCode).toBe(404);
  });

  it('lists filter by the session id or its key alike', async () => {
    const byKey = ok(await call(rt.t, 'GET', '/v1/executions?sessionId=conv-1', a.auth)).data.map((e: Body) => e.clientId);
    const byId = ok(await call(rt.t, 'GET', `/v1/executions?sessionId=${session}`, a.auth)).data.map((e: Body) => e.clientId);
    expect(byKey.sort()).toEqual(['e1', 'e2', 'e3']);
    expect(byId.sort()).toEqual(byKey.sort());
  });
});

describe('decisions and messages inherit from their execution', () => {
  it('take agent and session (decisions), session and plan (messages) when they leave them out', async () => {
    const r = await ingest(a, {
      decisions: [
        { clientId: 'd1', executionClientId: 'e1', decidedAt: at(100), decisionType: 'route', reasoningChain: ['a'], confidence: 0.8 },
        { clientId: 'd2', executionClientId: 'e1', agentSlug: 'booker', decidedAt: at(200), decisionType: 'route', reasoningChain: ['b'], confidence: 0.6 },
        { clientId: 'd3', agentSlug: 'nobody', decidedAt: at(300), decisionType: 'route', reasoningChain: ['c'], confidence: 0.6 },
      ],
      messages: [
        { clientId: 'm1', executionClientId: 'e1', fromAgent: 'planner', toAgent: 'booker', messageType: 'ask', messageData: { q: 1 }, sentAt: at(150) },
        { clientId: 'm2', executionClientId: 'e1', fromAgent: 'planner', toAgent: 'the user', messageType: 'answer', messageData: { a: 1 }, sentAt: at(250), sessionId: 'conv-other' },
      ],
    });
    const byId = new Map(r.results.map((x) => [x.clientId, x]));
    expect(byId.get('d3')).toMatchObject({ status: 'rejected', code: 'unknown_reference', field: 'agentSlug' });
    const decisions = ok(await call(rt.t, 'GET', '/v1/decisions?sessionId=conv-1', a.auth)).data;
    expect(decisions.map((d: Body) => [d.decisionId, d.agentId, d.sessionId]).sort()).toEqual([
      ['d1', planner, expect.any(String)], ['d2', booker, expect.any(String)],
    ]);
    const messages = ok(await call(rt.t, 'GET', '/v1/messages?limit=100', a.auth)).data as Body[];
    const m1 = messages.find((m) => m.clientId === 'm1');
    const m2 = messages.find((m) => m.clientId === 'm2');
    expect(m1).toMatchObject({ fromAgentId: planner, toAgentId: booker, planId: PLAN, sessionId: decisions[0].sessionId });
    // A name that is no agent's slug stays a name; a session given explicitly wins over the execution's.
    expect(m2).toMatchObject({ fromAgentId: planner, toAgentId: null, toAgent: 'the user', planId: PLAN });
    expect(m2!.sessionId).not.toBe(decisions[0].sessionId);
  });
});

describe('GET /v1/sessions/{id}/timeline', () => {
  it('shows runtime and ingested work of one session, oldest first, across pages', async () => {
    rt.scripts.write('timeline', [{ content: 'Booked.', usage: { promptTokens: 5, completionTokens: 2 } }]);
    const agent = await scriptedAgent(rt.t, a.auth, 'timeline');
    const s = ok(await call(rt.t, 'POST', '/v1/sessions', a.auth, { sessionToken: 'conv-mixed' }), 201);
    await ingest(a, {
      executions: [{ clientId: 'x1', agentId: planner, sessionId: 'conv-mixed', createdAt: at(0) }],
      decisions: [{ clientId: 'xd', executionClientId: 'x1', decidedAt: at(10), decisionType: 'pick', reasoningChain: ['r'], confidence: 1 }],
      messages: [{ clientId: 'xm', executionClientId: 'x1', messageType: 'ask', messageData: {}, sentAt: at(20) }],
    });
    const run = ok(await runAgent(rt.t, a.auth, agent.id, { input: 'book it', sessionId: s.id }));

    const all: Body[] = [];
    let cursor: string | null = null;
    do {
      const page: Body = ok(await call(rt.t, 'GET', `/v1/sessions/conv-mixed/timeline?limit=2${cursor ? `&cursor=${cursor}` : ''}`, a.auth));
      expect(page.session).toEqual({ id: s.id, sessionToken: 'conv-mixed' });
      expect(page.data.length).toBeLessThanOrEqual(2);
      all.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor);
    expect(all.map((e) => [e.type, e.item.clientId ?? e.item.decisionId ?? null])).toEqual([
      ['execution', 'x1'], ['decision', 'xd'], ['message', 'xm'], ['execution', expect.any(String)],
    ]);
    expect(all[3]!.id).toBe(run.id);
    expect(all[3]!.item).toMatchObject({ agentId: agent.id, status: 'completed', totalTokens: 7 });
    // By id it is the same timeline.
    const byId = ok(await call(rt.t, 'GET', `/v1/sessions/${s.id}/timeline?limit=100`, a.auth));
    expect(byId.data.map((e: Body) => e.id)).toEqual(all.map((e) => e.id));
  });

  it('answers 404 for an unknown session and 400 for a bad cursor', async () => {
    expect((await call(rt.t, 'GET', '/v1/sessions/no-such-conversation/timeline', a.auth)).statusCode).toBe(404);
    const bad = await call(rt.t, 'GET', '/v1/sessions/conv-1/timeline?cursor=nope', a.auth);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.field).toBe('cursor');
    expect((await call(rt.t, 'GET', '/v1/sessions/conv-1/timeline?limit=0', a.auth)).statusCode).toBe(400);
  });
});

describe('audit', () => {
  it('ingestion writes no audit rows (telemetry is not a state change by a person or key)', async () => {
    const r = await rt.t.db.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_logs WHERE org_id = $1 AND action = 'ingest.batch'`, [a.orgId]);
    expect(r.rows[0]!.n).toBe(0);
    const metrics = await rt.t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/agentbase_ingested_items_total\{kind="execution",status="accepted"\} \d+/);
  });
});
