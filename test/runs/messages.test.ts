import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinAs } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let planner: string;
let booker: string;
let exec1: string;

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** One clock reading for the whole file: two calls a millisecond apart would skew the offsets the tests compare. */
const NOW = Date.now();
const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();
/** Two messages one microsecond apart within one millisecond, and one at the very same instant as the first. */
const base = new Date(Math.floor(Date.now() / 1000) * 1000 - 5 * MIN).toISOString().slice(0, 19);
const MICRO_1 = `${base}.123456Z`;
const MICRO_2 = `${base}.123457Z`;
/** A plan of organization a (set in beforeAll): an ingested planId names a live plan. */
let PLAN: string;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

const message = (clientId: string, messageType: string, sentAt: string, over: Record<string, unknown> = {}) => ({
  clientId, messageType, sentAt, messageData: { text: clientId }, ...over,
});

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  planner = await makeAgent(t.app, a.auth, 'planner');
  booker = await makeAgent(t.app, a.auth, 'booker');
  PLAN = (await t.app.inject({ method: 'POST', url: '/v1/plans', headers: a.auth, payload: { kind: 'generic', title: 'Trip' } })).json().id;
  const res = await t.app.inject({
    method: 'POST', url: '/v1/ingest/batch', headers: a.auth,
    payload: {
      executions: [{ clientId: 'e1', agentId: planner, status: 'completed', createdAt: at(60 * MIN) }],
      messages: [
        message('m1', 'request', at(50 * MIN), {
          executionClientId: 'e1', planId: PLAN, sessionId: 's-1', fromAgentId: planner, toAgentId: booker,
          fromAgent: 'planner', toAgent: 'booker', priority: 8, responseData: { ok: true }, responseTimeMs: 100,
          status: 'processed', errorMessage: 'retried once', retryCount: 1, deliveredAt: at(50 * MIN - 10),
          receivedAt: at(50 * MIN - 20), processedAt: at(50 * MIN - 100), traceId: TRACE, correlationId: 'c-1',
        }),
        message('m2', 'response', at(40 * MIN), {
          sessionId: 's-1', fromAgentId: booker, toAgentId: planner, fromAgent: 'booker', toAgent: 'planner',
          responseTimeMs: 200, status: 'delivered',
        }),
        message('m3', 'request', at(30 * MIN), {
          sessionId: 's-2', fromAgentId: planner, toAgentId: booker, priority: 3, status: 'failed', errorMessage: 'boom',
        }),
        // Names only: an agent outside agentbase talks to the planner.
        message('m4', 'request', at(20 * MIN), { fromAgent: 'weather-bot', toAgent: 'planner', priority: 10, responseTimeMs: 400, status: 'timeout' }),
        message('t1', 'ping', MICRO_1),
        message('t2', 'ping', MICRO_2),
        message('t3', 'ping', MICRO_1),
        message('old', 'request', at(2 * DAY), { responseTimeMs: 1000, status: 'processed' }),
      ],
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toMatchObject({ accepted: 9, rejected: 0 });
  exec1 = (res.json().results as { clientId: string; id: string }[]).find((r) => r.clientId === 'e1')!.id;
  const other = await t.app.inject({
    method: 'POST', url: '/v1/ingest/batch', headers: b.auth,
    payload: { messages: [message('b1', 'request', at(10 * MIN), { sessionId: 's-1', fromAgent: 'planner', status: 'failed' })] },
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
const ids = (data: { clientId: string }[]) => data.map((m) => m.clientId);
const q = (params: Record<string, string>) => `?${new URLSearchParams(params)}`;
const list = async (query: string, auth: Auth = a.auth) => ids((await ok(auth, `/v1/messages${query}`)).data);

describe('GET /v1/messages', () => {
  it('lists newest sent first with every field in camelCase', async () => {
    const all = await list('?limit=100');
    expect(all[0]).toBe('t2');
    expect(all.slice(1, 3).sort()).toEqual(['t1', 't3']);
    expect(all.slice(3)).toEqual(['m4', 'm3', 'm2', 'm1', 'old']);
    const [m1] = (await ok(a.auth, `/v1/messages?executionId=${exec1}`)).data;
    expect(m1).toEqual({
      id: expect.any(String),
      clientId: 'm1',
      planId: PLAN,
      executionId: exec1,
      // the session the key s-1 names (created on first sight)
      sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      fromAgentId: planner,
      toAgentId: booker,
      fromAgent: 'planner',
      toAgent: 'booker',
      messageType: 'request',
      messageData: { text: 'm1' },
      priority: 8,
      responseData: { ok: true },
      responseTimeMs: 100,
      status: 'processed',
      errorMessage: 'retried once',
      retryCount: 1,
      sentAt: expect.any(String),
      deliveredAt: expect.any(String),
      receivedAt: expect.any(String),
      processedAt: expect.any(String),
      traceId: TRACE,
      correlationId: 'c-1',
      metadata: {},
      tags: [],
      createdAt: expect.any(String),
    });
    expect(Date.parse(m1.processedAt) - Date.parse(m1.sentAt)).toBe(100);
    const [t1] = (await ok(a.auth, '/v1/messages?messageType=ping&limit=1')).data;
    expect(t1).toMatchObject({
      planId: null, executionId: null, sessionId: null, fromAgentId: null, toAgentId: null, fromAgent: null, toAgent: null,
      priority: 5, responseData: {}, responseTimeMs: null, status: 'sent', errorMessage: null, retryCount: 0,
      deliveredAt: null, receivedAt: null, processedAt: null, traceId: null, correlationId: null,
    });
  });

  it('filters by execution, session, plan, agents, type, status, trace, time and priority, which combine', async () => {
    expect(await list(`?executionId=${exec1}`)).toEqual(['m1']);
    expect(await list('?sessionId=s-1')).toEqual(['m2', 'm1']);
    expect(await list(`?planId=${PLAN}`)).toEqual(['m1']);
    expect(await list(`?fromAgentId=${planner}`)).toEqual(['m3', 'm1']);
    // m4 names the planner by its slug, which sets toAgentId too.
    expect(await list(`?toAgentId=${planner}`)).toEqual(['m4', 'm2']);
    expect(await list(`?fromAgentId=${booker}&toAgentId=${planner}`)).toEqual(['m2']);
    expect(await list('?messageType=request')).toEqual(['m4', 'm3', 'm1', 'old']);
    expect(await list('?status=timeout')).toEqual(['m4']);
    expect(await list('?status=received')).toEqual([]);
    expect(await list(`?traceId=${TRACE}`)).toEqual(['m1']);
    expect(await list(q({ from: at(45 * MIN), to: at(25 * MIN) }))).toEqual(['m3', 'm2']);
    // minPriority is inclusive; unset priorities are 5.
    expect(await list('?minPriority=8')).toEqual(['m4', 'm1']);
    expect((await list('?minPriority=5')).sort()).toEqual(['m1', 'm2', 'm4', 'old', 't1', 't2', 't3']);
    expect(await list(`?messageType=request&fromAgentId=${planner}&status=failed`)).toEqual(['m3']);
    expect(await list('?messageType=nothing_like_this')).toEqual([]);
  });

  it('finds an agent on either side, by id or by name', async () => {
    // By id: m1 and m3 from the planner, m2 to it, m4 to it (its toAgent is the planner's slug).
    expect(await list(`?agent=${planner}`)).toEqual(['m4', 'm3', 'm2', 'm1']);
    // By name: also m4, which names the planner but carries no ids.
    expect(await list('?agent=planner')).toEqual(['m4', 'm2', 'm1']);
    expect(await list('?agent=weather-bot')).toEqual(['m4']);
    expect(await list(`?agent=${booker}&messageType=response`)).toEqual(['m2']);
    expect(await list('?agent=nobody')).toEqual([]);
  });

  it('pages with an exact cursor, even between messages a microsecond apart', async () => {
    const all = await list('?limit=100');
    for (const limit of [1, 2, 3]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { data: { clientId: string }[]; nextCursor: string | null } =
          await ok(a.auth, `/v1/messages${q({ limit: String(limit), ...(cursor ? { cursor } : {}) })}`);
        expect(res.data.length).toBeLessThanOrEqual(limit);
        seen.push(...ids(res.data));
        cursor = res.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all);
    }
    // Paging composes with a filter.
    const first = await ok(a.auth, '/v1/messages?messageType=ping&limit=2');
    expect(first.data).toHaveLength(2);
    const rest = await ok(a.auth, `/v1/messages${q({ messageType: 'ping', limit: '2', cursor: first.nextCursor })}`);
    expect([...ids(first.data), ...ids(rest.data)].sort()).toEqual(['t1', 't2', 't3']);
    expect(rest.nextCursor).toBeNull();
    expect(await ok(a.auth, '/v1/messages')).toMatchObject({ nextCursor: null });
  });

  it('never shows another organization its messages', async () => {
    expect(await list('', b.auth)).toEqual(['b1']);
    expect(await list('?sessionId=s-1')).not.toContain('b1');
    expect(await list('?agent=planner')).not.toContain('b1');
    expect(await list(`?agent=${planner}`, b.auth)).toEqual([]);
  });

  it.each([
    ['from after to', q({ from: at(MIN), to: at(2 * MIN) }), 'validation_failed'],
    ['a priority above 10', '?minPriority=11', 'validation_failed'],
    ['a priority below 1', '?minPriority=0', 'validation_failed'],
    ['a fractional priority', '?minPriority=2.5', 'validation_failed'],
    ['a limit above 100', '?limit=101', 'validation_failed'],
    ['an unknown filter', '?agentId=x', 'validation_failed'],
    ['an unknown status', '?status=lost', 'validation_failed'],
    ['an execution id that is not a UUID', '?executionId=e1', 'validation_failed'],
    ['a from agent id that is not a UUID', '?fromAgentId=planner', 'validation_failed'],
    ['a trace id in upper case', `?traceId=${TRACE.toUpperCase()}`, 'validation_failed'],
    ['a time with no zone', '?from=2026-01-01T00:00:00', 'validation_failed'],
    ['a cursor it did not issue', '?cursor=bm9wZQ', 'bad_request'],
  ])('refuses %s with 400', async (_, query, code) => {
    const res = await get(a.auth, `/v1/messages${query}`);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe(code);
  });
});

const NONE = { sent: 0, delivered: 0, received: 0, processed: 0, failed: 0, timeout: 0 };

describe('GET /v1/messages/stats', () => {
  it('sums the last 24 hours by default: per status, per type, failure rate and response times', async () => {
    const res = await ok(a.auth, '/v1/messages/stats');
    expect(Date.parse(res.to) - Date.parse(res.from)).toBe(DAY);
    expect(Date.now() - Date.parse(res.to)).toBeLessThan(MIN);
    expect(res).toMatchObject({
      total: 7,
      failed: 2,
      failureRate: 2 / 7,
      avgResponseTimeMs: 700 / 3,
      byStatus: { ...NONE, sent: 3, delivered: 1, processed: 1, failed: 1, timeout: 1 },
      byMessageTypeTruncated: false,
    });
    // p95 interpolates between the 2nd and 3rd of 100, 200, 400.
    expect(res.p95ResponseTimeMs).toBeCloseTo(380, 9);
    expect(res.byMessageType).toEqual([
      { messageType: 'ping', total: 3, failed: 0, failureRate: 0, avgResponseTimeMs: null, p95ResponseTimeMs: null },
      { messageType: 'request', total: 3, failed: 2, failureRate: 2 / 3, avgResponseTimeMs: 250, p95ResponseTimeMs: 385 },
      { messageType: 'response', total: 1, failed: 0, failureRate: 0, avgResponseTimeMs: 200, p95ResponseTimeMs: 200 },
    ]);
  });

  it('takes any range up to 31 days', async () => {
    const wide = await ok(a.auth, `/v1/messages/stats${q({ from: at(3 * DAY) })}`);
    expect(wide).toMatchObject({ total: 8, failed: 2, failureRate: 0.25, avgResponseTimeMs: 425 });
    expect(wide.byMessageType[0]).toMatchObject({ messageType: 'request', total: 4, failed: 2, failureRate: 0.5, avgResponseTimeMs: 500 });
    expect(wide.byMessageType[0].p95ResponseTimeMs).toBeCloseTo(940, 9);
    // to alone: the 24 hours before it.
    const before = await ok(a.auth, `/v1/messages/stats${q({ to: at(40 * HOUR) })}`);
    expect(before).toMatchObject({
      total: 1, failed: 0, failureRate: 0, avgResponseTimeMs: 1000, p95ResponseTimeMs: 1000,
      byStatus: { ...NONE, processed: 1 },
      byMessageType: [{ messageType: 'request', total: 1, failed: 0, failureRate: 0, avgResponseTimeMs: 1000, p95ResponseTimeMs: 1000 }],
    });
    const to = new Date();
    const month = await ok(a.auth, `/v1/messages/stats${q({ from: new Date(to.getTime() - 31 * DAY).toISOString(), to: to.toISOString() })}`);
    expect(month.total).toBe(8);
    const empty = await ok(a.auth, `/v1/messages/stats${q({ from: at(2 * MIN) })}`);
    expect(empty).toMatchObject({
      total: 0, failed: 0, failureRate: null, avgResponseTimeMs: null, p95ResponseTimeMs: null, byStatus: NONE, byMessageType: [],
    });
  });

  it('counts only the caller’s organization', async () => {
    expect(await ok(b.auth, '/v1/messages/stats')).toMatchObject({
      total: 1, failed: 1, failureRate: 1, byStatus: { ...NONE, failed: 1 },
      byMessageType: [{ messageType: 'request', total: 1, failed: 1, failureRate: 1, avgResponseTimeMs: null, p95ResponseTimeMs: null }],
    });
  });

  it('refuses a range over 31 days, saying so', async () => {
    const to = new Date();
    for (const query of [
      q({ from: new Date(to.getTime() - 31 * DAY - 1).toISOString(), to: to.toISOString() }),
      q({ from: at(32 * DAY) }),
    ]) {
      const res = await get(a.auth, `/v1/messages/stats${query}`);
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'validation_failed', message: expect.stringContaining('at most 31 days') });
    }
  });

  it('refuses from after to, a from in the future, and unknown parameters', async () => {
    for (const query of [q({ from: at(MIN), to: at(2 * MIN) }), q({ from: at(-HOUR) }), '?messageType=x', '?from=yesterday']) {
      const res = await get(a.auth, `/v1/messages/stats${query}`);
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
  });
});

describe('authentication and permissions', () => {
  it('answers 401 without a token', async () => {
    for (const url of ['/v1/messages', '/v1/messages/stats']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, res.body).toBe(401);
      expect(errorOf(res).code).toBe('unauthenticated');
    }
  });

  it('a viewer (executions:read) reads what the owner reads', async () => {
    const viewer = (await joinAs(t, a, 'viewer')).auth;
    expect((await ok(viewer, '/v1/messages?limit=100')).data).toEqual((await ok(a.auth, '/v1/messages?limit=100')).data);
    const { from: _f, to: _t, ...stats } = await ok(viewer, '/v1/messages/stats');
    const { from: _f2, to: _t2, ...own } = await ok(a.auth, '/v1/messages/stats');
    expect(stats).toEqual(own);
  });

  it('an API key without executions:read gets 403', async () => {
    const key = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: a.auth, payload: { name: 'agents only', scopes: ['agents:read'] } });
    expect(key.statusCode, key.body).toBe(201);
    const auth = { authorization: `Bearer ${key.json().key}` };
    for (const url of ['/v1/messages', '/v1/messages/stats']) {
      const res = await get(auth, url);
      expect(res.statusCode, res.body).toBe(403);
      expect(errorOf(res)).toMatchObject({ code: 'forbidden', details: { permission: 'executions:read' } });
    }
  });
});
