import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent, publishVersion } from './fixtures.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;

let agent1: string;
let agent2: string;
const trace = 'c'.repeat(32);
const ids: Record<string, string> = {};

const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  agent1 = await makeAgent(t.app, a.auth, 'planner');
  agent2 = await makeAgent(t.app, a.auth, 'booker');
  const res = await t.app.inject({
    method: 'POST', url: '/v1/ingest/batch', headers: a.auth,
    payload: {
      executions: [
        { clientId: 'e1', agentId: agent1, status: 'completed', sessionId: 's-1', traceId: trace, createdAt: at(50) },
        { clientId: 'e2', agentId: agent1, status: 'failed', sessionId: 's-2', createdAt: at(40), errorCode: 'boom' },
        { clientId: 'e3', agentId: agent2, status: 'completed', sessionId: 's-1', createdAt: at(30) },
        { clientId: 'e4', agentId: agent2, status: 'running', createdAt: at(20) },
        { clientId: 'e5', agentId: agent1, status: 'completed', createdAt: at(10) },
      ],
      spans: [
        { clientId: 'root', executionClientId: 'e1', kind: 'agent_call', name: 'plan', traceId: trace, spanId: '1111111111111111', startedAt: at(50) },
        { clientId: 'llm', executionClientId: 'e1', kind: 'llm_call', name: 'chat', traceId: trace, spanId: '2222222222222222', parentSpanId: '1111111111111111',
          model: 'gpt-4o', promptTokens: 1000, completionTokens: 1000, startedAt: at(49) },
        { clientId: 'tool', executionClientId: 'e1', kind: 'tool_call', name: 'search', traceId: trace, spanId: '3333333333333333', parentSpanId: '2222222222222222',
          toolName: 'search', startedAt: at(48) },
        { clientId: 'llm3', executionClientId: 'e3', kind: 'llm_call', name: 'chat', model: 'gpt-4o-mini', promptTokens: 1000, completionTokens: 1000, startedAt: at(30) },
      ],
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  for (const r of res.json().results as { kind: string; clientId: string; id: string }[]) ids[r.clientId] = r.id;
});
afterAll(async () => t?.close());

const get = (who: SignedUp, url: string) => t.app.inject({ method: 'GET', url, headers: who.auth });
async function ok(who: SignedUp, url: string) {
  const res = await get(who, url);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}
const clientIds = (data: { clientId: string }[]) => data.map((e) => e.clientId);

describe('GET /v1/executions', () => {
  it('filters by agent version', async () => {
    const c = await signupUser(t.app);
    const version = await publishVersion(t.app, c.auth, await makeAgent(t.app, c.auth, 'planner'));
    const res = await t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: c.auth,
      payload: { executions: [{ clientId: 'v1', agentSlug: 'planner', agentVersionId: version }, { clientId: 'v0', agentSlug: 'planner' }] },
    });
    expect(res.json().accepted).toBe(2);
    expect(clientIds((await ok(c, `/v1/executions?agentVersionId=${version}`)).data)).toEqual(['v1']);
    expect((await get(c, '/v1/executions?agentVersionId=1.0.0')).statusCode).toBe(400);
  });

  it('lists newest first and filters by agent, status, session and cost', async () => {
    expect(clientIds((await ok(a, '/v1/executions')).data)).toEqual(['e5', 'e4', 'e3', 'e2', 'e1']);
    expect(clientIds((await ok(a, `/v1/executions?agentId=${agent1}`)).data)).toEqual(['e5', 'e2', 'e1']);
    expect(clientIds((await ok(a, '/v1/executions?status=completed')).data)).toEqual(['e5', 'e3', 'e1']);
    expect(clientIds((await ok(a, '/v1/executions?sessionId=s-1')).data)).toEqual(['e3', 'e1']);
    expect(clientIds((await ok(a, '/v1/executions?minCost=0.01')).data)).toEqual(['e1']);
    expect(clientIds((await ok(a, '/v1/executions?minCost=0.0001&maxCost=0.001')).data)).toEqual(['e3']);
    expect(clientIds((await ok(a, `/v1/executions?from=${encodeURIComponent(at(35))}&to=${encodeURIComponent(at(15))}`)).data)).toEqual(['e4', 'e3']);
  });

  it('pages with a cursor through every execution exactly once', async () => {
    const seen: string[] = [];
    let url = '/v1/executions?limit=2';
    for (;;) {
      const p = await ok(a, url);
      seen.push(...clientIds(p.data));
      if (!p.nextCursor) break;
      url = `/v1/executions?limit=2&cursor=${p.nextCursor}`;
    }
    expect(seen).toEqual(['e5', 'e4', 'e3', 'e2', 'e1']);
  });
});

describe('GET /v1/executions/:id and /v1/traces/:traceId', () => {
  it('returns an execution with its span tree and rolled-up cost', async () => {
    const e = await ok(a, `/v1/executions/${ids.e1}`);
    expect(e).toMatchObject({ id: ids.e1, clientId: 'e1', costUsd: 0.0125, totalTokens: 2000 });
    expect(e.spans).toHaveLength(1);
    expect(e.spans[0]).toMatchObject({ name: 'plan', kind: 'agent_call' });
    expect(e.spans[0].children[0]).toMatchObject({ name: 'chat', costUsd: 0.0125 });
    expect(e.spans[0].children[0].children[0]).toMatchObject({ name: 'search', toolName: 'search', children: [] });
  });

  it.each([
    ['a UUIDv7 whose time is past the year 9999', 'ffffffff-ffff-7fff-bfff-ffffffffffff'],
    ['a UUIDv7 of the earliest time', '00000000-0000-7000-8000-000000000000'],
    ['a UUIDv4', '3f1c2a9e-5b6d-4e8f-9a0b-1c2d3e4f5a6b'],
    ['upper case', 'FFFFFFFF-FFFF-7FFF-BFFF-FFFFFFFFFFFF'],
  ])('answers 404 for any well-formed id that names nothing: %s (read and cancel)', async (_what, id) => {
    const read = await get(a, `/v1/executions/${id}`);
    expect(read.statusCode, read.body).toBe(404);
    expect(errorOf(read).code).toBe('not_found');
    const cancel = await t.app.inject({ method: 'POST', url: `/v1/executions/${id}/cancel`, headers: a.auth });
    expect(cancel.statusCode, cancel.body).toBe(404);
  });

  it('returns a trace with its executions and spans', async () => {
    const tr = await ok(a, `/v1/traces/${trace}`);
    expect(clientIds(tr.executions)).toEqual(['e1']);
    expect(tr.spans[0].spanId).toBe('1111111111111111');
  });
});

describe('GET /v1/costs', () => {
  it('groups the ledger by model and by agent', async () => {
    const byModel = await ok(a, '/v1/costs?groupBy=model');
    const tokens = { promptTokens: 1000, completionTokens: 1000, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, totalTokens: 2000 };
    const noAlternative = { alternativeCostUsd: 0, savingsUsd: 0 };
    expect(byModel.data).toEqual([
      { key: 'gpt-4o', costUsd: 0.0125, ...noAlternative, ...tokens, spans: 1 },
      { key: 'gpt-4o-mini', costUsd: 0.00075, ...noAlternative, ...tokens, spans: 1 },
    ]);
    const byAgent = await ok(a, '/v1/costs?groupBy=agent');
    expect(byAgent.data.map((r: { key: string }) => r.key)).toEqual([agent1, agent2]);
    const byDay = await ok(a, '/v1/costs');
    expect(byDay.data.reduce((s: number, r: { costUsd: number }) => s + r.costUsd, 0)).toBeCloseTo(0.01325, 6);
  });
});

describe('tenancy', () => {
  it("another organization gets 404 for a tenant's execution and trace, and sees none in lists or costs", async () => {
    for (const url of [`/v1/executions/${ids.e1}`, `/v1/traces/${trace}`]) {
      const res = await get(b, url);
      expect(res.statusCode, url).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect((await ok(b, '/v1/executions')).data).toEqual([]);
    expect((await ok(b, '/v1/costs?groupBy=model')).data).toEqual([]);
  });
});

describe('bad input', () => {
  it.each([
    ['/v1/executions?limit=101', 'validation_failed'],
    ['/v1/executions?status=done', 'validation_failed'],
    ['/v1/executions?agentId=x', 'validation_failed'],
    ['/v1/executions?from=yesterday', 'validation_failed'],
    ['/v1/executions?minCost=-1', 'validation_failed'],
    ['/v1/executions?minCost=2&maxCost=1', 'bad_request'],
    ['/v1/executions?cursor=not-a-cursor', 'bad_request'],
    ['/v1/executions?color=red', 'validation_failed'],
    ['/v1/executions/not-a-uuid', 'validation_failed'],
    ['/v1/traces/XYZ', 'validation_failed'],
    ['/v1/costs?groupBy=planet', 'validation_failed'],
    ['/v1/costs?from=2026-02-01&to=2026-01-01', 'bad_request'],
    ['/v1/costs?from=2026-13-01', 'validation_failed'],
  ])('GET %s answers 400 %s', async (url, code) => {
    const res = await get(a, url);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe(code);
  });

  it('an id that is not one of ours (not a UUIDv7) is 404', async () => {
    const res = await get(a, `/v1/executions/${randomUUID()}`);
    expect(res.statusCode).toBe(404);
  });

  it('every read route needs authentication', async () => {
    for (const url of ['/v1/executions', `/v1/executions/${ids.e1}`, `/v1/traces/${trace}`, '/v1/costs']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(401);
    }
  });
});
