import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signupBuilder } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

/**
 * GET /v1/performance/daily (the console's overview): executions, failures,
 * tokens and cost per UTC day and agent or model, the ten largest keys apart
 * and the rest as "(other)", and each day's p50/p95 latency, all from the
 * roll-ups; agreeing with the executions ingested.
 */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let planner: string;
let booker: string;
let n = 0;
const daysAgo = (d: number, minutes = 0) => new Date(Date.now() - d * 86_400_000 - minutes * 60_000).toISOString();
const day = (d: number) => daysAgo(d).slice(0, 10);

const exec = (agentId: string, d: number, over: Record<string, unknown> = {}) => {
  const started = daysAgo(d, 90);
  return {
    clientId: `e-${++n}`, agentId, modelName: 'gpt-4o', modelProvider: 'openai', status: 'completed',
    createdAt: started, startedAt: started, completedAt: new Date(Date.parse(started) + 1000).toISOString(), totalTokens: 100, costUsd: 0.5, ...over,
  };
};

async function ingest(who: SignedUp, executions: object[]) {
  const res = await t.app.inject({ method: 'POST', url: '/v1/ingest/batch', headers: who.auth, payload: { executions } });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().rejected, res.body).toBe(0);
}

const get = (url: string, who = a) => t.app.inject({ method: 'GET', url, headers: who.auth });

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  planner = await makeAgent(t.app, a.auth, 'planner');
  booker = await makeAgent(t.app, a.auth, 'booker');
  await ingest(a, [
    exec(planner, 2), exec(planner, 2, { status: 'failed' }), exec(booker, 2, { modelName: 'claude-sonnet', modelProvider: 'anthropic' }),
    exec(planner, 0), exec(planner, 0, { status: 'timeout' }),
  ]);
});
afterAll(async () => t?.close());

describe('GET /v1/performance/daily', () => {
  it('by agent: each day and agent with its executions and failures, labelled with the agent name', async () => {
    const res = await get(`/v1/performance/daily?from=${day(3)}&to=${day(0)}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ by: 'agent', from: day(3), to: day(0) });
    const rows = body.data.map((r: Record<string, unknown>) => [r.day, r.label, r.executions, r.failed]);
    // days in order (within a day, by agent id)
    expect(body.data.map((r: { day: string }) => r.day)).toEqual([day(2), day(2), day(0)]);
    expect(rows.sort()).toEqual([
      [day(0), 'planner', 2, 1],
      [day(2), 'booker', 1, 0],
      [day(2), 'planner', 2, 1],
    ].sort());
    // every day's latency from the histogram: ~1 s per execution
    expect(body.latency.map((l: { day: string; executions: number }) => [l.day, l.executions])).toEqual([[day(2), 3], [day(0), 2]]);
    for (const l of body.latency) {
      expect(l.p50LatencyMs).toBeGreaterThanOrEqual(1000);
      expect(l.p95LatencyMs).toBeGreaterThanOrEqual(l.p50LatencyMs);
    }
  });

  it('by model: the same executions per model', async () => {
    const body = (await get(`/v1/performance/daily?by=model&from=${day(3)}&to=${day(0)}`)).json();
    const sum = (key: string) => body.data.filter((r: { key: string }) => r.key === key).reduce((s: number, r: { executions: number }) => s + r.executions, 0);
    expect(sum('gpt-4o')).toBe(4);
    expect(sum('claude-sonnet')).toBe(1);
    expect(body.data.find((r: { key: string }) => r.key === 'claude-sonnet').label).toBe('claude-sonnet');
  });

  it('keeps the ten busiest agents apart and sums the rest as (other)', async () => {
    const c = await signupBuilder(t);
    const agents = [];
    for (let i = 0; i < 12; i++) agents.push(await makeAgent(t.app, c.auth, `bot-${i}`));
    // bot-i runs i + 1 times: bot-0 and bot-1 are the two smallest
    await ingest(c, agents.flatMap((id, i) => Array.from({ length: i + 1 }, () => exec(id, 0))));
    const body = (await get(`/v1/performance/daily?from=${day(0)}&to=${day(0)}`, c)).json();
    expect(body.data).toHaveLength(11);
    const other = body.data.find((r: { key: string }) => r.key === '(other)');
    expect(other).toMatchObject({ executions: 3, label: '(other)' });
    expect(body.data.reduce((s: number, r: { executions: number }) => s + r.executions, 0)).toBe(78);
  });

  it('another organization sees none of it', async () => {
    const body = (await get(`/v1/performance/daily?from=${day(3)}&to=${day(0)}`, b)).json();
    expect(body.data).toEqual([]);
    expect(body.latency).toEqual([]);
  });

  it.each([
    ['by=week', 'validation_failed', 'by'],
    ['from=2026-02-30', 'validation_failed', 'from'],
    [`from=${day(0)}&to=${day(3)}`, 'bad_request', 'from'],
    ['from=2020-01-01&to=2026-01-01', 'bad_request', 'from'],
    ['extra=1', 'validation_failed', 'extra'],
  ])('refuses %s with 400 %s', async (q, code, field) => {
    const res = await get(`/v1/performance/daily?${q}`);
    expect(res.statusCode).toBe(400);
    const e = errorOf(res);
    expect(e.code).toBe(code);
    expect(JSON.stringify(e)).toContain(field);
  });

  it('needs executions:read (401 without a token)', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/performance/daily' });
    expect(res.statusCode).toBe(401);
  });
});
