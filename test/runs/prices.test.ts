import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { auditRows, joinAs } from '../agents/fixtures.js';
import { makeAgent } from './fixtures.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  await makeAgent(t.app, a.auth, 'planner');
});
afterAll(async () => t?.close());

const call = (auth: { authorization: string }, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
  t.app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload: payload as object }) });

const override = {
  provider: 'openai', modelPattern: '^gpt-4o$', effectiveFrom: '2024-01-01T00:00:00Z',
  inputPrice: 0.000001, outputPrice: 0.000002, source: 'our contract', sourceReadOn: '2026-11-01',
};

describe('model prices', () => {
  it('lists the shipped defaults to every organization', async () => {
    const res = await call(a.auth, 'GET', '/v1/model-prices?scope=default');
    expect(res.statusCode).toBe(200);
    const data = res.json().data as { scope: string; provider: string; inputPrice: string }[];
    expect(data.length).toBeGreaterThanOrEqual(8);
    expect(data.every((p) => p.scope === 'default')).toBe(true);
    expect(data.find((p) => p.provider === 'anthropic')).toBeDefined();
    const openai = (await call(a.auth, 'GET', '/v1/model-prices?provider=openai')).json().data as { provider: string }[];
    expect(openai.every((p) => p.provider === 'openai')).toBe(true);
  });

  it('an organization price overrides the default for new spans, for that organization only, and is audited', async () => {
    const created = await call(a.auth, 'POST', '/v1/model-prices', override);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ scope: 'organization', modelPattern: '^gpt-4o$', inputPrice: '0.000001000000' });

    const resolved = await call(a.auth, 'GET', '/v1/model-prices/resolve?model=gpt-4o&provider=openai');
    expect(resolved.json()).toMatchObject({ id: created.json().id, scope: 'organization' });
    const theirs = await call(b.auth, 'GET', '/v1/model-prices/resolve?model=gpt-4o&provider=openai');
    expect(theirs.json()).toMatchObject({ scope: 'default', inputPrice: '0.000002500000' });

    const res = await call(a.auth, 'POST', '/v1/ingest/batch', {
      executions: [{ clientId: 'priced', agentSlug: 'planner' }],
      spans: [{ clientId: 'priced-1', executionClientId: 'priced', kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai',
        promptTokens: 1000, completionTokens: 1000, startedAt: new Date().toISOString() }],
    });
    expect(res.json().accepted).toBe(2);
    const day = (await call(a.auth, 'GET', '/v1/costs?groupBy=model')).json().data as { key: string; costUsd: number }[];
    expect(day.find((d) => d.key === 'gpt-4o')!.costUsd).toBeCloseTo(0.003, 9); // 1000 × $1/M + 1000 × $2/M

    expect((await auditRows(t, a.orgId, created.json().id)).map((r) => r.action)).toEqual(['model_price.create']);
  });

  it('deleting an organization price brings the default back; defaults cannot be deleted', async () => {
    const created = (await call(a.auth, 'POST', '/v1/model-prices', { ...override, modelPattern: '^o1$', provider: 'openai' })).json();
    expect((await call(b.auth, 'DELETE', `/v1/model-prices/${created.id}`)).statusCode).toBe(404);
    expect((await call(a.auth, 'DELETE', `/v1/model-prices/${created.id}`)).statusCode).toBe(204);
    expect((await call(a.auth, 'GET', '/v1/model-prices/resolve?model=o1')).json()).toMatchObject({ scope: 'default' });
    expect((await call(a.auth, 'DELETE', `/v1/model-prices/${created.id}`)).statusCode).toBe(404);

    const someDefault = ((await call(a.auth, 'GET', '/v1/model-prices?scope=default')).json().data as { id: string }[])[0]!;
    const refused = await call(a.auth, 'DELETE', `/v1/model-prices/${someDefault.id}`);
    expect(refused.statusCode).toBe(409);
    expect(errorOf(refused).message).toMatch(/shipped default price cannot be deleted/);
  });

  it('refuses bad prices with 400 and stores nothing', async () => {
    const before = ((await call(a.auth, 'GET', '/v1/model-prices?scope=organization')).json().data as unknown[]).length;
    const cases: [unknown, string][] = [
      [{ ...override, modelPattern: '(unclosed' }, 'modelPattern'],
      [{ ...override, inputPrice: -1 }, 'inputPrice'],
      [{ ...override, effectiveTo: '2023-01-01T00:00:00Z' }, 'effectiveTo'],
      [{ ...override, colour: 'red' }, 'colour'],
      [{ ...override, provider: undefined }, 'provider'],
    ];
    for (const [body, field] of cases) {
      const res = await call(a.auth, 'POST', '/v1/model-prices', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(errorOf(res))).toContain(field);
    }
    const after = ((await call(a.auth, 'GET', '/v1/model-prices?scope=organization')).json().data as unknown[]).length;
    expect(after).toBe(before);
    expect((await call(a.auth, 'GET', '/v1/model-prices/resolve?model=no-such-model')).statusCode).toBe(404);
    expect((await call(a.auth, 'GET', '/v1/model-prices?scope=mine')).statusCode).toBe(400);
  });

  it('only admins change prices; members read them; anonymous callers get 401', async () => {
    const member = await joinAs(t, a, 'member');
    expect((await call(member.auth, 'GET', '/v1/model-prices')).statusCode).toBe(200);
    const res = await call(member.auth, 'POST', '/v1/model-prices', override);
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    const admin = await joinAs(t, a, 'admin');
    expect((await call(admin.auth, 'POST', '/v1/model-prices', { ...override, modelPattern: '^gpt-4\\.1$' })).statusCode).toBe(201);
    expect((await call({ authorization: '' }, 'GET', '/v1/model-prices')).statusCode).toBe(401);
  });
});
