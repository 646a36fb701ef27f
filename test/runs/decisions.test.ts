import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinAs } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let agent1: string;
let agent2: string;
let exec1: string;

const MIN = 60_000;
const DAY = 86_400_000;
/** One clock reading for the whole file: two calls a millisecond apart would skew the offsets the tests compare. */
const NOW = Date.now();
const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();
/** Two decisions one microsecond apart within one millisecond, and one at the very same instant as the first. */
const base = new Date(Math.floor(Date.now() / 1000) * 1000 - 5 * MIN).toISOString().slice(0, 19);
const MICRO_1 = `${base}.123456Z`;
const MICRO_2 = `${base}.123457Z`;

const decision = (clientId: string, decisionType: string, decidedAt: string, confidence: number, over: Record<string, unknown> = {}) => ({
  clientId, decisionType, decidedAt, confidence, reasoningChain: [{ step: 1, thought: clientId }], ...over,
});

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  agent1 = await makeAgent(t.app, a.auth, 'planner');
  agent2 = await makeAgent(t.app, a.auth, 'booker');
  const bAgent = await makeAgent(t.app, b.auth, 'planner');
  const res = await t.app.inject({
    method: 'POST', url: '/v1/ingest/batch', headers: a.auth,
    payload: {
      executions: [{ clientId: 'e1', agentId: agent1, status: 'completed', createdAt: at(60 * MIN) }],
      decisions: [
        decision('d1', 'route_selection', at(50 * MIN), 0.9, {
          executionClientId: 'e1', agentId: agent1, sessionId: 's-1', latencyMs: 100, dataSources: ['maps', 'weather'],
          metadata: { region: 'eu' }, modelUsed: 'gpt-4o', errorMessage: 'retried once',
        }),
        decision('d2', 'route_selection', at(40 * MIN), 0.5, { agentId: agent2, sessionId: 's-2', latencyMs: 300 }),
        decision('d3', 'budget_check', at(30 * MIN), 0.7, { agentId: agent1, sessionId: 's-1' }),
        decision('d4', 'route_selection', at(20 * MIN), 0.4, { agentId: agent1, sessionId: 's-1', latencyMs: 200 }),
        decision('m1', 'hotel_pick', MICRO_1, 0.8),
        decision('m2', 'hotel_pick', MICRO_2, 0.8),
        decision('m3', 'hotel_pick', MICRO_1, 0.8),
        decision('old', 'route_selection', at(40 * DAY), 1, { latencyMs: 1000 }),
      ],
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toMatchObject({ accepted: 9, rejected: 0 });
  exec1 = (res.json().results as { clientId: string; id: string }[]).find((r) => r.clientId === 'e1')!.id;
  const other = await t.app.inject({
    method: 'POST', url: '/v1/ingest/batch', headers: b.auth,
    payload: { decisions: [decision('b1', 'route_selection', at(10 * MIN), 0.1, { agentId: bAgent, sessionId: 's-1' })] },
  });
  expect(other.json()).toMatchObject({ accepted: 1 });
});
afterAll(async () => t?.close());

type Auth = { authorization: string };
const get = (auth: Auth, url: string) => t.app.inject({ method: 'GET', url, headers: auth });
async function ok(auth: Auth, url: string) {
  const res = await get(auth, url);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}
const ids = (data: { decisionId: string }[]) => data.map((d) => d.decisionId);
const q = (params: Record<string, string>) => `?${new URLSearchParams(params)}`;

/** The micro-second-apart decisions first (m2 is newest; m1 and m3 share an instant, ordered by id). */
async function newestFirst(): Promise<string[]> {
  return ids((await ok(a.auth, '/v1/decisions?limit=100')).data);
}

describe('GET /v1/decisions', () => {
  it('lists newest first with every field in camelCase', async () => {
    const all = await newestFirst();
    expect(all.slice(0, 1)).toEqual(['m2']);
    expect(all.slice(1, 3).sort()).toEqual(['m1', 'm3']);
    expect(all.slice(3)).toEqual(['d4', 'd3', 'd2', 'd1', 'old']);
    const d1 = (await ok(a.auth, `/v1/decisions?executionId=${exec1}`)).data;
    expect(d1).toHaveLength(1);
    expect(d1[0]).toEqual({
      id: expect.any(String),
      decisionId: 'd1',
      agentId: agent1,
      executionId: exec1,
      // the session the key s-1 names (created on first sight)
      sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      planId: null,
      decisionType: 'route_selection',
      reasoningChain: [{ step: 1, thought: 'd1' }],
      dataSources: ['maps', 'weather'],
      confidenceScore: 0.9,
      decisionMetadata: { region: 'eu' },
      modelUsed: 'gpt-4o',
      latencyMs: 100,
      errorMessage: 'retried once',
      tags: [],
      decidedAt: expect.any(String),
      createdAt: expect.any(String),
    });
    const d3 = (await ok(a.auth, '/v1/decisions?decisionType=budget_check')).data[0];
    expect(d3).toMatchObject({ executionId: null, dataSources: [], decisionMetadata: null, latencyMs: null, modelUsed: null, errorMessage: null });
  });

  it('filters by type, session, agent, execution, time and confidence, which combine', async () => {
    expect(ids((await ok(a.auth, '/v1/decisions?decisionType=route_selection')).data)).toEqual(['d4', 'd2', 'd1', 'old']);
    expect(ids((await ok(a.auth, '/v1/decisions?sessionId=s-1')).data)).toEqual(['d4', 'd3', 'd1']);
    expect(ids((await ok(a.auth, `/v1/decisions?agentId=${agent2}`)).data)).toEqual(['d2']);
    expect(ids((await ok(a.auth, `/v1/decisions?executionId=${exec1}`)).data)).toEqual(['d1']);
    expect(ids((await ok(a.auth, `/v1/decisions${q({ from: at(45 * MIN), to: at(25 * MIN) })}`)).data)).toEqual(['d3', 'd2']);
    // minConfidence is inclusive.
    expect(ids((await ok(a.auth, '/v1/decisions?minConfidence=0.9')).data)).toEqual(['d1', 'old']);
    expect(ids((await ok(a.auth, `/v1/decisions?decisionType=route_selection&agentId=${agent1}&minConfidence=0.4`)).data))
      .toEqual(['d4', 'd1']);
    expect((await ok(a.auth, '/v1/decisions?decisionType=nothing_like_this')).data).toEqual([]);
  });

  it('pages with an exact cursor, even between decisions a microsecond apart', async () => {
    const all = await newestFirst();
    for (const limit of [1, 2, 3]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { data: { decisionId: string }[]; nextCursor: string | null } =
          await ok(a.auth, `/v1/decisions${q({ limit: String(limit), ...(cursor ? { cursor } : {}) })}`);
        expect(res.data.length).toBeLessThanOrEqual(limit);
        seen.push(...ids(res.data));
        cursor = res.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all);
    }
    // The default page size is 20: all eight fit, with no next page.
    expect(await ok(a.auth, '/v1/decisions')).toMatchObject({ nextCursor: null });
  });

  it('never shows another organization its decisions', async () => {
    expect(ids((await ok(b.auth, '/v1/decisions')).data)).toEqual(['b1']);
    expect(ids((await ok(a.auth, '/v1/decisions?sessionId=s-1')).data)).not.toContain('b1');
  });

  it.each([
    ['from after to', q({ from: at(MIN), to: at(2 * MIN) }), 'validation_failed'],
    ['a confidence above 1', '?minConfidence=1.5', 'validation_failed'],
    ['a limit above 100', '?limit=101', 'validation_failed'],
    ['an unknown filter', '?status=ok', 'validation_failed'],
    ['an agent id that is not a UUID', '?agentId=planner', 'validation_failed'],
    ['a time with no zone', '?from=2026-01-01T00:00:00', 'validation_failed'],
    ['a cursor it did not issue', '?cursor=bm9wZQ', 'bad_request'],
  ])('refuses %s with 400', async (_, query, code) => {
    const res = await get(a.auth, `/v1/decisions${query}`);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe(code);
  });
});

describe('GET /v1/decisions/stats', () => {
  it('counts per type over the last 30 days by default, most frequent first, like v_decision_analytics', async () => {
    const res = await ok(a.auth, '/v1/decisions/stats');
    expect(res.to).toBeNull();
    expect(Date.now() - Date.parse(res.from)).toBeGreaterThanOrEqual(30 * DAY);
    expect(Date.now() - Date.parse(res.from)).toBeLessThan(30 * DAY + MIN);
    expect(res.data).toEqual([
      { decisionType: 'hotel_pick', totalDecisions: 3, avgConfidence: 0.8, avgLatencyMs: null },
      { decisionType: 'route_selection', totalDecisions: 3, avgConfidence: 0.6, avgLatencyMs: 200 },
      { decisionType: 'budget_check', totalDecisions: 1, avgConfidence: 0.7, avgLatencyMs: null },
    ]);
    const view = await t.db.tenant(a.orgId, async (sql) => (await sql.query<{ decision_type: string; total_decisions: number }>(
      'SELECT decision_type, total_decisions::int AS total_decisions FROM v_decision_analytics ORDER BY 2 DESC, 1',
    )).rows);
    expect(view.map((v) => [v.decision_type, v.total_decisions])).toEqual(res.data.map((d: { decisionType: string; totalDecisions: number }) => [d.decisionType, d.totalDecisions]));
  });

  it('takes any range', async () => {
    const wide = await ok(a.auth, `/v1/decisions/stats${q({ from: at(60 * DAY) })}`);
    expect(wide.data[0]).toEqual({ decisionType: 'route_selection', totalDecisions: 4, avgConfidence: 0.7, avgLatencyMs: 400 });
    const narrow = await ok(a.auth, `/v1/decisions/stats${q({ from: at(45 * MIN), to: at(25 * MIN) })}`);
    expect(narrow.data).toEqual([
      { decisionType: 'budget_check', totalDecisions: 1, avgConfidence: 0.7, avgLatencyMs: null },
      { decisionType: 'route_selection', totalDecisions: 1, avgConfidence: 0.5, avgLatencyMs: 300 },
    ]);
    // to alone: the 30 days before it.
    const before = await ok(a.auth, `/v1/decisions/stats${q({ to: at(35 * DAY) })}`);
    expect(before.data).toEqual([{ decisionType: 'route_selection', totalDecisions: 1, avgConfidence: 1, avgLatencyMs: 1000 }]);
    expect((await ok(a.auth, `/v1/decisions/stats${q({ from: at(2 * MIN) })}`)).data).toEqual([]);
  });

  it('counts only the caller’s organization', async () => {
    expect((await ok(b.auth, '/v1/decisions/stats')).data).toEqual([
      { decisionType: 'route_selection', totalDecisions: 1, avgConfidence: 0.1, avgLatencyMs: null },
    ]);
  });

  it('refuses from after to and unknown parameters', async () => {
    for (const query of [q({ from: at(MIN), to: at(2 * MIN) }), '?decisionType=x', '?from=yesterday']) {
      const res = await get(a.auth, `/v1/decisions/stats${query}`);
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
  });
});

describe('authentication and permissions', () => {
  it('answers 401 without a token', async () => {
    for (const url of ['/v1/decisions', '/v1/decisions/stats']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, res.body).toBe(401);
      expect(errorOf(res).code).toBe('unauthenticated');
    }
  });

  it('a viewer (executions:read) reads what the owner reads', async () => {
    const viewer = (await joinAs(t, a, 'viewer')).auth;
    for (const url of ['/v1/decisions?limit=100', '/v1/decisions/stats']) {
      // data only: the stats echo their default from, which moves with the clock.
      expect((await ok(viewer, url)).data).toEqual((await ok(a.auth, url)).data);
    }
  });

  it('an API key without executions:read gets 403', async () => {
    const key = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: a.auth, payload: { name: 'agents only', scopes: ['agents:read'] } });
    expect(key.statusCode, key.body).toBe(201);
    const auth = { authorization: `Bearer ${key.json().key}` };
    for (const url of ['/v1/decisions', '/v1/decisions/stats']) {
      const res = await get(auth, url);
      expect(res.statusCode, res.body).toBe(403);
      expect(errorOf(res)).toMatchObject({ code: 'forbidden', details: { permission: 'executions:read' } });
    }
  });
});
