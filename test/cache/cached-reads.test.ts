import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { client, ok, signupBuilder } from '../agents/fixtures.js';
import { createTestApp, signupUser, TEST_SECRET, type SignedUp, type TestApp } from '../helpers/app.js';
import { approvedListing, platformAdmin } from '../platform/marketplace/fixtures.js';
import { makeAgent } from '../runs/fixtures.js';

/**
 * The reads that go through the cache, over the API: a write through the API
 * is seen by the very next read (cost reports after ingestion, the marketplace
 * catalogue after a publish, templates after a change), and a repeated read is
 * a hit.
 */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let agent: string;
let n = 0;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  agent = await makeAgent(t.app, a.auth, 'planner');
});
afterAll(async () => t?.close());

const today = new Date().toISOString().slice(0, 10);
const stats = (who: SignedUp) => t.service.cache.orgStats(who.orgId);

async function ingestSpans(who: SignedUp, spans: number, promptTokens: number) {
  const exec = `exec-${++n}`;
  const res = await t.app.inject({
    method: 'POST', url: '/v1/ingest/batch', headers: who.auth,
    payload: {
      executions: [{ clientId: exec, agentId: agent, status: 'completed' }],
      spans: Array.from({ length: spans }, () => ({
        clientId: `span-${++n}`, executionClientId: exec, kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai',
        promptTokens, completionTokens: 10, startedAt: new Date().toISOString(),
      })),
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().rejected, res.body).toBe(0);
}

async function costs(who: SignedUp, groupBy = 'day') {
  const res = await t.app.inject({ method: 'GET', url: `/v1/costs?groupBy=${groupBy}&from=${today}&to=${today}`, headers: who.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { data: Array<{ key: string; promptTokens: number; spans: number; costUsd: number }> };
}

describe('GET /v1/costs through the cache', () => {
  it('ingest, read, ingest more, read at once: the new totals; a repeated read is a hit', async () => {
    await ingestSpans(a, 3, 100);
    const first = await costs(a);
    expect(first.data).toMatchObject([{ key: today, spans: 3, promptTokens: 300 }]);
    const s0 = await stats(a);
    expect(await costs(a)).toEqual(first);
    const s1 = await stats(a);
    expect(s1.hits - s0.hits).toBe(1);
    expect(s1.misses - s0.misses).toBe(0);

    await ingestSpans(a, 2, 1000);
    const second = await costs(a);
    expect(second.data).toMatchObject([{ key: today, spans: 5, promptTokens: 2300 }]);
    expect(second.data[0]!.costUsd).toBeGreaterThan(first.data[0]!.costUsd);
    const s2 = await stats(a);
    expect(s2.misses - s1.misses).toBe(1);
  });

  it('a rename of the agent is seen at once in costs by agent', async () => {
    const before = await costs(a, 'agent');
    expect(before.data).toMatchObject([{ key: agent, slug: 'planner' }]);
    const c = client(t);
    const cur = ok(await c.get(`/v1/agents/${agent}`, a.auth));
    ok(await c.patch(`/v1/agents/${agent}`, a.auth, { version: cur.version, name: 'Trip Planner 2' }));
    const after = await costs(a, 'agent');
    expect(after.data).toMatchObject([{ key: agent, name: 'Trip Planner 2' }]);
  });

  it('another organization reading the same report gets its own (empty) answer', async () => {
    await costs(a);
    expect((await costs(b)).data).toEqual([]);
  });

  it('GET /v1/performance is cached and invalidated the same way', async () => {
    const url = `/v1/performance?from=${today}&to=${today}`;
    const p1 = (await t.app.inject({ method: 'GET', url, headers: a.auth })).json();
    await ingestSpans(a, 1, 5);
    const p2 = (await t.app.inject({ method: 'GET', url, headers: a.auth })).json();
    expect(p2.data[0].executions).toBe(p1.data[0].executions + 1);
  });

  it('bad input still answers 400 (nothing cached for it)', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/costs?groupBy=planet', headers: a.auth });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
  });
});

describe('the marketplace catalogue through the cache', () => {
  it('a listing approved for another organization shows in the next browse; install counts and ratings too', async () => {
    const c = client(t);
    const admin = await platformAdmin(t);
    const reader = await signupBuilder(t);
    const one = await approvedListing(t, admin);
    const browse = async () => ok(await c.get('/v1/marketplace?limit=100', reader.auth)).data as Array<{ id: string; installCount: number }>;
    const s0 = await t.service.cache.orgStats(reader.orgId);
    const first = await browse();
    expect(first.map((l) => l.id)).toContain(one.listing.id);
    expect(await browse()).toEqual(first);
    const s1 = await t.service.cache.orgStats(reader.orgId);
    expect(s1.hits - s0.hits).toBe(1);

    // approved in the publisher's and the admin's transactions: the reader's entry is never served again
    const two = await approvedListing(t, admin);
    expect((await browse()).map((l) => l.id)).toContain(two.listing.id);

    const listing = async () => ok(await c.get(`/v1/marketplace/${one.listing.slug}`, reader.auth)) as { installCount: number };
    expect((await listing()).installCount).toBe(0);
    ok(await c.post(`/v1/marketplace/${one.listing.slug}/install`, reader.auth, {}), 201);
    expect((await listing()).installCount).toBe(1);
    expect((await browse()).find((l) => l.id === one.listing.id)!.installCount).toBe(1);
  });
});

describe('campaign templates through the cache', () => {
  const template = (name: string) => ({
    name, theme: 'launch', tags: ['launch'], ideas: [{ theme: 'Zero trust', coreMessage: 'Verify', targetSegments: ['CISOs'], competitiveAngle: 'Agentless' }],
    channelMix: [{ channel: 'email', budgetAllocation: 100, strategy: 'nurture' }],
  });

  it('a created, changed or deleted template is seen by the next list and get', async () => {
    const c = client(t);
    const owner = await signupBuilder(t);
    const list = async () => ok(await c.get('/v1/campaign-templates', owner.auth)).data as Array<{ id: string; name: string }>;
    expect(await list()).toEqual([]);
    const tp = ok(await c.post('/v1/campaign-templates', owner.auth, template('First')), 201);
    expect((await list()).map((x) => x.name)).toEqual(['First']);
    expect(ok(await c.get(`/v1/campaign-templates/${tp.id}`, owner.auth))).toEqual(tp);
    const v2 = ok(await c.patch(`/v1/campaign-templates/${tp.id}`, owner.auth, { version: 1, name: 'Renamed' }));
    expect(ok(await c.get(`/v1/campaign-templates/${tp.id}`, owner.auth))).toEqual(v2);
    expect((await list()).map((x) => x.name)).toEqual(['Renamed']);
    const gone = await c.del(`/v1/campaign-templates/${tp.id}`, owner.auth);
    expect(gone.statusCode).toBe(204);
    expect(await list()).toEqual([]);
    expect((await c.get(`/v1/campaign-templates/${tp.id}`, owner.auth)).statusCode).toBe(404);
    // another organization never sees them
    expect(ok(await c.get('/v1/campaign-templates', b.auth)).data).toEqual([]);
  });
});

describe('the service catalogue through the cache (seed 001: cache it for an hour)', () => {
  it('a created, changed or deleted service is seen by the next list and get; a repeated read is a hit', async () => {
    const c = client(t);
    const owner = await signupBuilder(t);
    const who = { orgId: owner.orgId } as SignedUp;
    const list = async () => ok(await c.get('/v1/services', owner.auth)).data as Array<{ id: string; name: string; activeCampaigns: number }>;
    expect(await list()).toEqual([]);
    const s = ok(await c.post('/v1/services', owner.auth, { name: 'CloudGuard', category: 'security', description: 'CSPM' }), 201);
    expect((await list()).map((x) => x.name)).toEqual(['CloudGuard']);
    const before = await stats(who);
    expect((await list()).map((x) => x.name)).toEqual(['CloudGuard']);
    expect((await stats(who)).hits).toBe(before.hits + 1);
    ok(await c.patch(`/v1/services/${s.id}`, owner.auth, { version: 1, name: 'CloudGuard Pro' }));
    expect((await list()).map((x) => x.name)).toEqual(['CloudGuard Pro']);
    expect(ok(await c.get(`/v1/services/${s.id}`, owner.auth))).toMatchObject({ name: 'CloudGuard Pro', version: 2 });
    expect((await c.del(`/v1/services/${s.id}`, owner.auth)).statusCode).toBe(204);
    expect(await list()).toEqual([]);
    expect((await c.get(`/v1/services/${s.id}`, owner.auth)).statusCode).toBe(404);
    expect(ok(await c.get('/v1/services', b.auth)).data).toEqual([]);
  });

  it('the active campaign count is live while the catalogue entry is served from the cache', async () => {
    const c = client(t);
    const owner = await signupBuilder(t);
    const who = { orgId: owner.orgId } as SignedUp;
    const s = ok(await c.post('/v1/services', owner.auth, { name: 'DataVault', category: 'storage', description: 'Backups' }), 201);
    const get = async () => ok(await c.get(`/v1/services/${s.id}`, owner.auth)) as { activeCampaigns: number };
    expect((await get()).activeCampaigns).toBe(0);
    const camp = ok(await c.post('/v1/campaigns', owner.auth, {
      name: 'Launch', theme: 'security first', startDate: '2027-03-01', endDate: '2027-03-31', totalBudget: 10000, expectedRoi: 150,
      serviceId: s.id, status: 'active',
    }), 201);
    const before = await stats(who);
    expect((await get()).activeCampaigns).toBe(1);
    expect((await stats(who)).hits).toBe(before.hits + 1);
    ok(await c.patch(`/v1/campaigns/${camp.id}/status`, owner.auth, { version: 1, status: 'paused' }));
    expect((await get()).activeCampaigns).toBe(0);
    expect((await stats(who)).hits).toBe(before.hits + 2);
  });
});

describe('configuration', () => {
  const parse = (env: Record<string, string>) => () => parseConfig({ AGENTBASE_SECRET: TEST_SECRET, ...env });

  it('defaults: on, 64 MiB', () => {
    expect(parse({})().cache).toEqual({ enabled: true, maxBytes: 64 * 1024 * 1024 });
    expect(parse({ AGENTBASE_CACHE_ENABLED: 'false', AGENTBASE_CACHE_MAX_BYTES: '1048576' })().cache).toEqual({ enabled: false, maxBytes: 1_048_576 });
  });

  it.each([
    [{ AGENTBASE_CACHE_MAX_BYTES: 'lots' }, /AGENTBASE_CACHE_MAX_BYTES: must be a whole number of bytes/],
    [{ AGENTBASE_CACHE_MAX_BYTES: '1.5' }, /AGENTBASE_CACHE_MAX_BYTES: must be a whole number of bytes/],
    [{ AGENTBASE_CACHE_MAX_BYTES: '100' }, /AGENTBASE_CACHE_MAX_BYTES: must be at least 65536 .*AGENTBASE_CACHE_ENABLED=false/],
    [{ AGENTBASE_CACHE_MAX_BYTES: String(2 ** 41) }, /AGENTBASE_CACHE_MAX_BYTES: must be at most/],
    [{ AGENTBASE_CACHE_ENABLED: 'yes' }, /AGENTBASE_CACHE_ENABLED: must be true, false, 1 or 0/],
  ])('refuses %j with a message saying what to set', (env, message) => {
    expect(parse(env)).toThrow(message);
  });
});
