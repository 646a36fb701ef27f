import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinAs } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 10:00 UTC two days ago: every point of the series tests falls on that one UTC day. */
const anchor = Math.floor(Date.now() / DAY) * DAY - 2 * DAY + 10 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();
const ago = (ms: number) => iso(Date.now() - ms);

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
});
afterAll(async () => t?.close());

type Auth = { authorization: string };
const post = (auth: Auth, agentId: string, metrics: unknown[]) =>
  t.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/metrics`, headers: auth, payload: { metrics } });
const get = (auth: Auth, agentId: string, query = '') =>
  t.app.inject({ method: 'GET', url: `/v1/agents/${agentId}/metrics${query}`, headers: auth });

async function record(auth: Auth, agentId: string, metrics: unknown[]) {
  const res = await post(auth, agentId, metrics);
  expect(res.statusCode, res.body).toBe(201);
  expect(res.json()).toEqual({ recorded: metrics.length });
}
async function read(auth: Auth, agentId: string, query = '') {
  const res = await get(auth, agentId, query);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}
async function badRequest(res: Awaited<ReturnType<typeof get>>) {
  expect(res.statusCode, res.body).toBe(400);
  return errorOf(res);
}

/** Rows of one agent across tenants (as the owner, bypassing RLS). */
async function stored(agentId: string): Promise<number> {
  const r = await t.db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_metrics WHERE agent_id = $1', [agentId]);
  return r.rows[0]!.n;
}

const q = (params: Record<string, string>) => `?${new URLSearchParams(params)}`;

describe('recording and reading metrics', () => {
  let agent: string;
  beforeAll(async () => {
    agent = await makeAgent(t.app, a.auth, 'metrics-reader');
    await record(a.auth, agent, [
      { type: 'latency_ms', value: 100, recordedAt: iso(anchor + 5 * 60_000), metadata: { model: 'gpt-4o' } },
      { type: 'latency_ms', value: 200, recordedAt: iso(anchor + 10 * 60_000) },
      { type: 'latency_ms', value: 600, recordedAt: iso(anchor + 50 * 60_000) },
      { type: 'latency_ms', value: 1.5, recordedAt: iso(anchor + HOUR + 60_000) },
      { type: 'tokens.prompt', value: 0.1234, recordedAt: iso(anchor + 2 * 60_000) },
      // The same instant written with an offset: stored and answered in UTC.
      { type: 'tokens.prompt', value: -5.5, recordedAt: new Date(anchor + 20 * 60_000).toISOString().replace('Z', '+00:00') },
    ]);
  });

  it('lists raw points newest first, exactly as sent, and filters by type', async () => {
    const res = await read(a.auth, agent, q({ from: iso(anchor), to: iso(anchor + 2 * HOUR) }));
    expect(res.nextCursor).toBeNull();
    expect(res.data.map((m: { type: string; value: number; recordedAt: string }) => [m.type, m.value, m.recordedAt])).toEqual([
      ['latency_ms', 1.5, iso(anchor + HOUR + 60_000)],
      ['latency_ms', 600, iso(anchor + 50 * 60_000)],
      ['tokens.prompt', -5.5, iso(anchor + 20 * 60_000)],
      ['latency_ms', 200, iso(anchor + 10 * 60_000)],
      ['latency_ms', 100, iso(anchor + 5 * 60_000)],
      ['tokens.prompt', 0.1234, iso(anchor + 2 * 60_000)],
    ]);
    expect(res.data[4]).toMatchObject({ agentId: agent, metadata: { model: 'gpt-4o' } });
    expect(res.data[5].metadata).toEqual({});

    const tokens = await read(a.auth, agent, q({ type: 'tokens.prompt', from: iso(anchor), to: iso(anchor + 2 * HOUR) }));
    expect(tokens.data.map((m: { value: number }) => m.value)).toEqual([-5.5, 0.1234]);
    // from is inclusive, to exclusive.
    const edge = await read(a.auth, agent, q({ from: iso(anchor + 10 * 60_000), to: iso(anchor + 50 * 60_000) }));
    expect(edge.data.map((m: { value: number }) => m.value)).toEqual([-5.5, 200]);
  });

  it('raw points default to the last 24 hours', async () => {
    expect((await read(a.auth, agent)).data).toEqual([]);
  });

  it('aggregates per type and UTC hour with exact count, avg, min and max', async () => {
    const res = await read(a.auth, agent, q({ interval: 'hour', from: iso(anchor - 10 * HOUR), to: iso(anchor + 14 * HOUR) }));
    expect(res).toMatchObject({ interval: 'hour', from: iso(anchor - 10 * HOUR), to: iso(anchor + 14 * HOUR), truncated: false });
    expect(res.data).toEqual([
      { type: 'latency_ms', bucket: iso(anchor), count: 3, avg: 300, min: 100, max: 600 },
      { type: 'latency_ms', bucket: iso(anchor + HOUR), count: 1, avg: 1.5, min: 1.5, max: 1.5 },
      { type: 'tokens.prompt', bucket: iso(anchor), count: 2, avg: -2.6883, min: -5.5, max: 0.1234 },
    ]);
  });

  it('aggregates per UTC day, over the last 7 days by default, and filters by type', async () => {
    const day = iso(anchor - 10 * HOUR);
    expect((await read(a.auth, agent, '?interval=day')).data).toEqual([
      { type: 'latency_ms', bucket: day, count: 4, avg: 225.375, min: 1.5, max: 600 },
      { type: 'tokens.prompt', bucket: day, count: 2, avg: -2.6883, min: -5.5, max: 0.1234 },
    ]);
    expect((await read(a.auth, agent, '?interval=day&type=tokens.prompt')).data).toEqual([
      { type: 'tokens.prompt', bucket: day, count: 2, avg: -2.6883, min: -5.5, max: 0.1234 },
    ]);
  });

  it('defaults recordedAt to now', async () => {
    const other = await makeAgent(t.app, a.auth, 'metrics-now');
    const before = Date.now();
    await record(a.auth, other, [{ type: 'queue_depth', value: 7 }]);
    const [m] = (await read(a.auth, other)).data;
    expect(m.value).toBe(7);
    expect(Date.parse(m.recordedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(m.recordedAt)).toBeLessThanOrEqual(Date.now());
  });

  it('keeps the largest values numeric(10,4) holds', async () => {
    const other = await makeAgent(t.app, a.auth, 'metrics-edge');
    await record(a.auth, other, [
      { type: 'big', value: 999_999.9999, recordedAt: ago(60_000) },
      { type: 'big', value: -999_999.9999, recordedAt: ago(120_000) },
    ]);
    expect((await read(a.auth, other)).data.map((m: { value: number }) => m.value)).toEqual([999_999.9999, -999_999.9999]);
  });
});

describe('pagination of raw points', () => {
  it('walks every point once, newest first, across ties in recordedAt', async () => {
    const agent = await makeAgent(t.app, a.auth, 'metrics-pages');
    // 25 points, five per instant: the id breaks the ties.
    const points = Array.from({ length: 25 }, (_, i) => ({ type: 'step', value: i, recordedAt: ago((Math.floor(i / 5) + 1) * 60_000) }));
    await record(a.auth, agent, points);
    const seen: { id: string; recordedAt: string }[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const res: { data: { id: string; recordedAt: string }[]; nextCursor: string | null } =
        await read(a.auth, agent, q({ limit: '10', ...(cursor ? { cursor } : {}) }));
      sizes.push(res.data.length);
      seen.push(...res.data);
      cursor = res.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([10, 10, 5]);
    expect(new Set(seen.map((m) => m.id)).size).toBe(25);
    const all = (await read(a.auth, agent, '?limit=100')).data as { id: string }[];
    expect(seen.map((m) => m.id)).toEqual(all.map((m) => m.id));
    const keys = seen.map((m) => [Date.parse(m.recordedAt), m.id] as const);
    for (let i = 1; i < keys.length; i++) {
      const [pt, pid] = keys[i - 1]!;
      const [ct, cid] = keys[i]!;
      expect(pt > ct || (pt === ct && pid > cid)).toBe(true);
    }
  });

  it('refuses a cursor it did not issue, and a cursor on a series', async () => {
    const agent = await makeAgent(t.app, a.auth, 'metrics-cursor');
    expect((await badRequest(await get(a.auth, agent, '?cursor=not-a-cursor'))).code).toBe('bad_request');
    const e = await badRequest(await get(a.auth, agent, '?interval=hour&cursor=abc'));
    expect(e.code).toBe('validation_failed');
    expect(e.message).toMatch(/cursor/);
  });
});

describe('partitions and the time window', () => {
  let agent: string;
  beforeAll(async () => {
    agent = await makeAgent(t.app, a.auth, 'metrics-window');
  });

  const partitionOf = (ms: number) => `agent_metrics_p${iso(ms).slice(0, 10).replaceAll('-', '')}`;

  it('lands each point in the daily partition of its UTC day, creating it when needed', async () => {
    const old = Date.now() - 89 * DAY; // no partition yet: the migration created yesterday to a week ahead
    const ahead = Date.now() + 6 * DAY;
    const before = await t.db.admin.query('SELECT 1 FROM pg_class WHERE relname = $1', [partitionOf(old)]);
    expect(before.rows).toEqual([]);
    await record(a.auth, agent, [
      { type: 'old', value: 1, recordedAt: iso(old) },
      { type: 'ahead', value: 2, recordedAt: iso(ahead) },
    ]);
    const r = await t.db.admin.query<{ metric_type: string; part: string }>(
      'SELECT metric_type, tableoid::regclass::text AS part FROM agent_metrics WHERE agent_id = $1 ORDER BY recorded_at',
      [agent],
    );
    expect(r.rows).toEqual([
      { metric_type: 'old', part: partitionOf(old) },
      { metric_type: 'ahead', part: partitionOf(ahead) },
    ]);
  });

  it.each([
    ['more than 90 days ago', () => ago(90 * DAY + HOUR), /90 days/],
    ['more than 7 days ahead', () => ago(-(7 * DAY + HOUR)), /7 days ahead/],
  ])('refuses a point %s and stores none of the request', async (_, when, message) => {
    const before = await stored(agent);
    const res = await post(a.auth, agent, [
      { type: 'fine', value: 1 },
      { type: 'late', value: 1, recordedAt: when() },
    ]);
    const e = await badRequest(res);
    expect(e.code).toBe('validation_failed');
    expect(e.message).toMatch(message);
    expect(e.details).toMatchObject({ issues: [{ path: 'body.metrics.1.recordedAt' }] });
    expect(await stored(agent)).toBe(before);
  });

  it.each([
    ['a value too large for numeric(10,4)', { type: 'x', value: 1_000_000 }, /1000000/],
    ['a value rounding up past numeric(10,4)', { type: 'x', value: -999_999.99996 }, /1000000/],
    ['an upper-case type', { type: 'Latency', value: 1 }, /lower-case/],
    ['a type too long', { type: `a${'b'.repeat(50)}`, value: 1 }, /50 characters/],
    ['a string value', { type: 'x', value: '1' }, /.+/],
    ['an unknown field', { type: 'x', value: 1, unit: 'ms' }, /.+/],
    ['a time with no zone', { type: 'x', value: 1, recordedAt: '2026-01-01T00:00:00' }, /zone/],
    ['metadata that is not an object', { type: 'x', value: 1, metadata: [1] }, /.+/],
  ])('refuses %s with 400 and stores none of the request', async (_, bad, message) => {
    const before = await stored(agent);
    const e = await badRequest(await post(a.auth, agent, [{ type: 'fine', value: 1 }, bad]));
    expect(e.code).toBe('validation_failed');
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/^body\.metrics\.1/);
    expect(await stored(agent)).toBe(before);
  });

  it('refuses an empty list, more than 1000 points and a missing list', async () => {
    expect((await badRequest(await post(a.auth, agent, []))).code).toBe('validation_failed');
    const many = Array.from({ length: 1001 }, () => ({ type: 'x', value: 1 }));
    expect((await badRequest(await post(a.auth, agent, many))).code).toBe('validation_failed');
    const res = await t.app.inject({ method: 'POST', url: `/v1/agents/${agent}/metrics`, headers: a.auth, payload: {} });
    expect((await badRequest(res)).code).toBe('validation_failed');
  });

  it('accepts exactly 1000 points in one request', async () => {
    const other = await makeAgent(t.app, a.auth, 'metrics-thousand');
    await record(a.auth, other, Array.from({ length: 1000 }, (_, i) => ({ type: 'n', value: i, recordedAt: ago(i * 1000) })));
    expect(await stored(other)).toBe(1000);
    expect((await read(a.auth, other, '?interval=day')).data.reduce((s: number, p: { count: number }) => s + p.count, 0)).toBe(1000);
  });

  it('refuses bad reads: from after to, a series of more than 1000 buckets, an unknown interval, a bad agent id', async () => {
    let e = await badRequest(await get(a.auth, agent, q({ from: ago(HOUR), to: ago(2 * HOUR) })));
    expect(e).toMatchObject({ code: 'validation_failed', message: 'query.from: must not be after to' });
    e = await badRequest(await get(a.auth, agent, q({ interval: 'hour', from: ago(60 * DAY) })));
    expect(e.message).toMatch(/1000/);
    // The same range by day is fine.
    await read(a.auth, agent, q({ interval: 'day', from: ago(60 * DAY) }));
    expect((await badRequest(await get(a.auth, agent, '?interval=minute'))).code).toBe('validation_failed');
    expect((await badRequest(await get(a.auth, agent, '?limit=101'))).code).toBe('validation_failed');
    expect((await badRequest(await get(a.auth, 'Not_A_Ref'))).code).toBe('validation_failed');
  });
});

describe('agents and tenants', () => {
  let agentA: string;
  let agentB: string;
  beforeAll(async () => {
    agentA = await makeAgent(t.app, a.auth, 'metrics-tenant');
    agentB = await makeAgent(t.app, b.auth, 'metrics-tenant');
    await record(a.auth, agentA, [{ type: 'secret', value: 42, recordedAt: ago(HOUR) }]);
  });

  it('answers 404 for an agent that does not exist', async () => {
    const missing = randomUUID();
    for (const res of [await post(a.auth, missing, [{ type: 'x', value: 1 }]), await get(a.auth, missing), await get(a.auth, missing, '?interval=day')]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(await stored(missing)).toBe(0);
  });

  it("another organization can neither read nor write this organization's agent", async () => {
    const before = await stored(agentA);
    for (const res of [await post(b.auth, agentA, [{ type: 'x', value: 1 }]), await get(b.auth, agentA), await get(b.auth, agentA, '?interval=day')]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(await stored(agentA)).toBe(before);
  });

  it('sees only its own points, through the API and under row-level security', async () => {
    await record(b.auth, agentB, [{ type: 'mine', value: 1, recordedAt: ago(HOUR) }]);
    expect((await read(b.auth, agentB)).data.map((m: { type: string }) => m.type)).toEqual(['mine']);
    const rows = await t.db.tenant(b.orgId, async (sql) => (await sql.query<{ metric_type: string }>('SELECT metric_type FROM agent_metrics')).rows);
    expect(rows).toEqual([{ metric_type: 'mine' }]);
  });
});

describe('authentication and permissions', () => {
  let agent: string;
  beforeAll(async () => {
    agent = await makeAgent(t.app, a.auth, 'metrics-roles');
  });

  it('answers 401 without a token', async () => {
    for (const res of [
      await t.app.inject({ method: 'POST', url: `/v1/agents/${agent}/metrics`, payload: { metrics: [{ type: 'x', value: 1 }] } }),
      await t.app.inject({ method: 'GET', url: `/v1/agents/${agent}/metrics` }),
    ]) {
      expect(res.statusCode, res.body).toBe(401);
      expect(errorOf(res).code).toBe('unauthenticated');
    }
  });

  it('a viewer reads but may not record (403 executions:write)', async () => {
    const viewer = (await joinAs(t, a, 'viewer')).auth;
    const res = await post(viewer, agent, [{ type: 'x', value: 1 }]);
    expect(res.statusCode, res.body).toBe(403);
    expect(errorOf(res)).toMatchObject({ code: 'forbidden', details: { permission: 'executions:write' } });
    expect(await stored(agent)).toBe(0);
    await record(a.auth, agent, [{ type: 'x', value: 1, recordedAt: ago(60_000) }]);
    expect((await read(viewer, agent)).data).toHaveLength(1);
    expect((await read(viewer, agent, '?interval=hour')).data).toHaveLength(1);
  });
});
