import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, client, createAgent, ok, type Body } from '../agents/fixtures.js';
import { errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { campaignWorld } from './campaign-fixtures.js';

let t: TestApp;
let owner: SignedUp;
let other: SignedUp;
let c: ReturnType<typeof client>;
let serviceId: string;
let otherServiceId: string;
beforeAll(async () => {
  ({ t, owner, other, c, serviceId, otherServiceId } = await campaignWorld());
});
afterAll(async () => t?.close());

const idea = (over: Record<string, unknown> = {}) => ({
  theme: 'Zero trust', coreMessage: 'Trust nothing, verify everything', targetSegments: ['Enterprise CISOs'], competitiveAngle: 'Agentless', ...over,
});
const channel = (name: string, budgetAllocation: number, over: Record<string, unknown> = {}) => ({
  channel: name, budgetAllocation, strategy: `${name} strategy`, ...over,
});
const campaign = (over: Record<string, unknown> = {}) => ({
  name: 'Spring push', theme: 'security first', startDate: '2027-03-01', endDate: '2027-03-31', totalBudget: 25000.5, expectedRoi: 150, ...over,
});
const TABLES = ['plans', 'plan_versions', 'campaigns', 'campaign_ideas', 'channel_plans', 'audit_logs'];
const count = async () => (await t.db.admin.query<{ n: number }>(`SELECT ${TABLES.map((x) => `(SELECT count(*) FROM ${x})`).join(' + ')} AS n`)).rows[0]!.n;

describe('campaigns: create and read', () => {
  it('creates a campaign plan at version 1 with its ideas, channel plans and service, audited', async () => {
    const body = campaign({
      description: 'Q1 security push', serviceId, metrics: { impressions: 0 },
      ideas: [idea()], channelPlans: [channel('email', 40, { kpis: ['open rate'], expectedReach: 5000 }), channel('social', 35.5)],
    });
    const p = ok(await c.post('/v1/campaigns', owner.auth, body), 201);
    expect(p).toMatchObject({
      kind: 'campaign', title: 'Spring push', description: 'Q1 security push', version: 1, userId: owner.userId,
      campaign: {
        status: 'draft', theme: 'security first', startDate: '2027-03-01', endDate: '2027-03-31', totalBudget: 25000.5, expectedRoi: 150,
        serviceId, metrics: { impressions: 0 }, feedbackHistory: [], templateId: null,
        ideas: [{ ...idea(), id: expect.any(String) }],
        channelPlans: [{ channel: 'email', budgetAllocation: 40, kpis: ['open rate'], expectedReach: 5000, id: expect.any(String) }, { channel: 'social', budgetAllocation: 35.5 }],
      },
      costs: { costUsd: 0 },
      activity: { decisions: 0 },
    });
    expect(ok(await c.get(`/v1/campaigns/${p.id}`, owner.auth))).toEqual(p);
    expect(ok(await c.get(`/v1/plans/${p.id}/versions/1`, owner.auth))).toMatchObject({ summary: 'created', document: { kind: 'campaign', campaign: { theme: 'security first' } } });
    expect((await auditRows(t, owner.orgId, p.id)).map((a) => a.action)).toEqual(['plan.created']);
  });

  it('answers 404 for a plan of another kind and for ids it does not know', async () => {
    const g = ok(await c.post('/v1/plans', owner.auth, { kind: 'generic', title: 'Offsite' }), 201);
    const res = await c.get(`/v1/campaigns/${g.id}`, owner.auth);
    expect(res.statusCode).toBe(404);
    expect(errorOf(res)).toMatchObject({ code: 'not_found', message: `campaign ${g.id} does not exist` });
    expect((await c.post(`/v1/campaigns/${g.id}/ideas`, owner.auth, { version: 1, ...idea() })).statusCode).toBe(404);
    expect((await c.get('/v1/campaigns/0190a4b8-0000-7000-8000-000000000001', owner.auth)).statusCode).toBe(404);
  });

  it('lists campaigns newest first with status, service and activeOn filters and cursors', async () => {
    const a = ok(await c.post('/v1/campaigns', owner.auth, campaign({ name: 'List A', serviceId, startDate: '2028-01-01', endDate: '2028-01-31', channelPlans: [channel('email', 30), channel('tv', 20)] })), 201);
    const b = ok(await c.post('/v1/campaigns', owner.auth, campaign({ name: 'List B', startDate: '2028-01-20', endDate: '2028-02-10', status: 'active' })), 201);
    const cc = ok(await c.post('/v1/campaigns', owner.auth, campaign({ name: 'List C', startDate: '2028-03-01', endDate: '2028-03-02' })), 201);
    const ids = (x: Body) => x.data.map((p: Body) => p.id);
    expect(ids(ok(await c.get('/v1/campaigns?activeOn=2028-01-25', owner.auth)))).toEqual([b.id, a.id]);
    expect(ids(ok(await c.get('/v1/campaigns?activeOn=2028-01-31&status=active', owner.auth)))).toEqual([b.id]);
    const byService = ok(await c.get(`/v1/campaigns?serviceId=${serviceId}&activeOn=2028-01-01`, owner.auth));
    expect(ids(byService)).toEqual([a.id]);
    expect(byService.data[0]).toMatchObject({ title: 'List A', kind: 'campaign', campaign: { serviceId, channelCount: 2, allocatedPercent: 50, ideaCount: 0, startDate: '2028-01-01' }, costs: { costUsd: 0 } });
    const p1 = ok(await c.get('/v1/campaigns?limit=2', owner.auth));
    expect(ids(p1)).toEqual([cc.id, b.id]);
    const p2 = ok(await c.get(`/v1/campaigns?limit=2&cursor=${p1.nextCursor}`, owner.auth));
    expect(ids(p2)[0]).toBe(a.id);
    // a deleted campaign plan leaves the list
    ok(await c.del(`/v1/plans/${cc.id}`, owner.auth), 204);
    expect(ids(ok(await c.get('/v1/campaigns?activeOn=2028-03-01', owner.auth)))).toEqual([]);
  });
});

describe('campaigns: changes, each the next version of the plan', () => {
  it('adds and removes ideas, refusing a stale version', async () => {
    const p = ok(await c.post('/v1/campaigns', owner.auth, campaign({ ideas: [idea()] })), 201);
    const v2 = ok(await c.post(`/v1/campaigns/${p.id}/ideas`, owner.auth, { version: 1, ...idea({ theme: 'Compliance' }) }), 201);
    expect(v2.version).toBe(2);
    expect(v2.campaign.ideas.map((i: Body) => i.theme)).toEqual(['Zero trust', 'Compliance']);
    const stale = await c.post(`/v1/campaigns/${p.id}/ideas`, owner.auth, { version: 1, ...idea({ theme: 'Lost' }) });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');
    const first = v2.campaign.ideas[0].id;
    const v3 = ok(await c.del(`/v1/campaigns/${p.id}/ideas/${first}?version=2`, owner.auth));
    expect(v3).toMatchObject({ version: 3, campaign: { ideas: [{ theme: 'Compliance' }] } });
    const gone = await c.del(`/v1/campaigns/${p.id}/ideas/${first}?version=3`, owner.auth);
    expect(gone.statusCode).toBe(404);
    expect(errorOf(gone).code).toBe('not_found');
    const versions = ok(await c.get(`/v1/plans/${p.id}/versions`, owner.auth)).data.map((v: Body) => v.summary);
    expect(versions).toEqual(['removed idea "Zero trust"', 'added idea "Compliance"', 'created']);
    expect((await auditRows(t, owner.orgId, p.id)).map((a) => a.action)).toEqual(['plan.created', 'campaign.idea_added', 'campaign.idea_removed']);
  });

  it('replaces the channel mix, and refuses one over 100 % (API and database) with nothing written', async () => {
    const p = ok(await c.post('/v1/campaigns', owner.auth, campaign({ channelPlans: [channel('email', 50)] })), 201);
    const v2 = ok(await c.put(`/v1/campaigns/${p.id}/channel-plans`, owner.auth, { version: 1, channelPlans: [channel('social', 60), channel('search', 40)] }));
    expect(v2).toMatchObject({ version: 2, campaign: { channelPlans: [{ channel: 'social', budgetAllocation: 60 }, { channel: 'search', budgetAllocation: 40 }] } });
    expect(ok(await c.get(`/v1/plans/${p.id}/versions/2`, owner.auth)).summary).toBe('channel mix replaced: social 60 %, search 40 % (100 % allocated)');

    const before = await count();
    const over = await c.put(`/v1/campaigns/${p.id}/channel-plans`, owner.auth, { version: 2, channelPlans: [channel('social', 60), channel('search', 50)] });
    expect(over.statusCode).toBe(400);
    expect(errorOf(over).code).toBe('validation_failed');
    expect(JSON.stringify(errorOf(over).details)).toContain('add up to 110 %');
    // each allocation is stored to the cent: 99 + 1.005 sums to 100 in the request (1.005 × 100 is 100.4999… in
    // binary floating point) but to 100.01 in the database, whose deferred trigger refuses it at commit
    const rounded = await c.put(`/v1/campaigns/${p.id}/channel-plans`, owner.auth, { version: 2, channelPlans: [channel('a', 99), channel('b', 1.005)] });
    expect(rounded.statusCode, rounded.body).toBe(400);
    expect(errorOf(rounded)).toMatchObject({ code: 'validation_failed', details: { total: 100.01, issues: [{ path: 'body.channelPlans' }] } });
    expect(errorOf(rounded).message).toContain('100.01 %');
    const overOnCreate = await c.post('/v1/campaigns', owner.auth, campaign({ channelPlans: [channel('a', 99), channel('b', 1.005)] }));
    expect(overOnCreate.statusCode).toBe(400);
    expect(errorOf(overOnCreate)).toMatchObject({ code: 'validation_failed', details: { total: 100.01 } });
    expect(await count()).toBe(before);
    expect(ok(await c.get(`/v1/campaigns/${p.id}`, owner.auth))).toMatchObject({ version: 2, campaign: { channelPlans: [{ channel: 'social' }, { channel: 'search' }] } });
    const cleared = ok(await c.put(`/v1/campaigns/${p.id}/channel-plans`, owner.auth, { version: 2, channelPlans: [] }));
    expect(cleared.campaign.channelPlans).toEqual([]);
  });

  it('appends feedback with who and when', async () => {
    const p = ok(await c.post('/v1/campaigns', owner.auth, campaign()), 201);
    const v2 = ok(await c.post(`/v1/campaigns/${p.id}/feedback`, owner.auth, { version: 1, rating: 4, comment: 'Strong message' }), 201);
    const v3 = ok(await c.post(`/v1/campaigns/${p.id}/feedback`, owner.auth, { version: 2, comment: 'Needs video' }), 201);
    expect(v2.campaign.feedbackHistory).toHaveLength(1);
    expect(v3.campaign.feedbackHistory).toEqual([
      { at: expect.any(String), userId: owner.userId, rating: 4, comment: 'Strong message' },
      { at: expect.any(String), userId: owner.userId, rating: null, comment: 'Needs video' },
    ]);
    expect(Date.parse(v3.campaign.feedbackHistory[0].at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('moves status only along the allowed transitions (409 otherwise)', async () => {
    const p = ok(await c.post('/v1/campaigns', owner.auth, campaign()), 201);
    const bad = await c.patch(`/v1/campaigns/${p.id}/status`, owner.auth, { version: 1, status: 'paused' });
    expect(bad.statusCode).toBe(409);
    expect(errorOf(bad)).toMatchObject({ code: 'conflict', details: { from: 'draft', to: 'paused', allowed: ['active', 'cancelled'] } });
    const steps = ['active', 'paused', 'active', 'completed'];
    let v = 1;
    for (const s of steps) {
      const r = ok(await c.patch(`/v1/campaigns/${p.id}/status`, owner.auth, { version: v, status: s }));
      expect(r.campaign.status).toBe(s);
      v = r.version;
    }
    const final = await c.patch(`/v1/campaigns/${p.id}/status`, owner.auth, { version: v, status: 'cancelled' });
    expect(final.statusCode).toBe(409);
    expect(errorOf(final).message).toContain('completed is final');
    expect(ok(await c.get(`/v1/plans/${p.id}/versions/2`, owner.auth)).summary).toBe('status: draft → active');
    const actions = (await auditRows(t, owner.orgId, p.id)).map((a) => a.action);
    expect(actions).toEqual(['plan.created', ...steps.map(() => 'campaign.status_changed')]);
  });
});

describe('campaigns: decisions and executions that name them', () => {
  it('stores planId on decisions (given, or the execution\'s) and filters decisions and executions by it', async () => {
    const p = ok(await c.post('/v1/campaigns', owner.auth, campaign({ name: 'Observed' })), 201);
    const agent = await createAgent(t, owner.auth, { name: 'Campaign Planner' });
    const at = (ms: number) => new Date(Date.now() - 60_000 + ms).toISOString();
    const r = ok(await c.post('/v1/ingest/batch', owner.auth, {
      executions: [{ clientId: 'ce1', agentId: agent.id, createdAt: at(0), planId: p.id }, { clientId: 'ce2', agentId: agent.id, createdAt: at(1) }],
      decisions: [
        { clientId: 'cd1', executionClientId: 'ce1', decidedAt: at(10), decisionType: 'idea_generation', reasoningChain: ['a'], confidence: 0.8 },
        { clientId: 'cd2', agentId: agent.id, planId: p.id, decidedAt: at(20), decisionType: 'market_analysis', reasoningChain: ['b'], confidence: 0.7 },
        { clientId: 'cd3', executionClientId: 'ce2', decidedAt: at(30), decisionType: 'market_analysis', reasoningChain: ['c'], confidence: 0.7 },
      ],
    }));
    expect(r.results.every((x: Body) => x.status !== 'rejected')).toBe(true);
    const ds = ok(await c.get(`/v1/decisions?planId=${p.id}`, owner.auth)).data;
    expect(ds.map((d: Body) => [d.decisionId, d.planId])).toEqual([['cd2', p.id], ['cd1', p.id]]);
    const all = ok(await c.get('/v1/decisions', owner.auth)).data;
    expect(all.find((d: Body) => d.decisionId === 'cd3').planId).toBeNull();
    const es = ok(await c.get(`/v1/executions?planId=${p.id}`, owner.auth)).data;
    expect(es.map((e: Body) => e.clientId)).toEqual(['ce1']);
    expect(ok(await c.get(`/v1/decisions?planId=${p.id}`, other.auth)).data).toEqual([]);
    expect((await c.get('/v1/decisions?planId=nope', owner.auth)).statusCode).toBe(400);
    expect((await c.get('/v1/executions?planId=nope', owner.auth)).statusCode).toBe(400);
  });
});

describe('campaigns: bad input and other tenants', () => {
  it.each([
    ['no name', campaign({ name: undefined })],
    ['end before start', campaign({ startDate: '2027-03-31', endDate: '2027-03-01' })],
    ['bad date', campaign({ startDate: '2027-02-30' })],
    ['budget in fractions of a cent', campaign({ totalBudget: 1.001 })],
    ['negative budget', campaign({ totalBudget: -1 })],
    ['unknown status', campaign({ status: 'live' })],
    ['unknown field', campaign({ colour: 'red' })],
    ['an idea without a core message', campaign({ ideas: [idea({ coreMessage: ' ' })] })],
    ['allocations over 100 %', campaign({ channelPlans: [channel('a', 70), channel('b', 31)] })],
    ['an allocation of 0', campaign({ channelPlans: [channel('a', 0)] })],
    ['a service that does not exist', campaign({ serviceId: '0190a4b8-0000-7000-8000-000000000009' })],
  ])('refuses %s with 400 and writes nothing', async (_n, body) => {
    const before = await count();
    const res = await c.post('/v1/campaigns', owner.auth, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(await count()).toBe(before);
  });

  it('refuses bad changes on every route with 4xx and writes nothing', async () => {
    const p = ok(await c.post('/v1/campaigns', owner.auth, campaign({ ideas: [idea()] })), 201);
    const before = await count();
    const u = `/v1/campaigns/${p.id}`;
    const cases: Array<[() => Promise<{ statusCode: number; body: string }>, number]> = [
      [() => c.post(`${u}/ideas`, owner.auth, idea()), 400],
      [() => c.post(`${u}/ideas`, owner.auth, { version: 1, ...idea({ targetSegments: 'all' }) }), 400],
      [() => c.del(`${u}/ideas/${p.campaign.ideas[0].id}`, owner.auth), 400],
      [() => c.del(`${u}/ideas/not-a-uuid?version=1`, owner.auth), 400],
      [() => c.put(`${u}/channel-plans`, owner.auth, { version: 1 }), 400],
      [() => c.put(`${u}/channel-plans`, owner.auth, { version: 1, channelPlans: [channel('a', 101)] }), 400],
      [() => c.post(`${u}/feedback`, owner.auth, { version: 1, rating: 6, comment: 'x' }), 400],
      [() => c.post(`${u}/feedback`, owner.auth, { version: 1, comment: '' }), 400],
      [() => c.patch(`${u}/status`, owner.auth, { version: 1, status: 'archived' }), 400],
      [() => c.patch(`${u}/status`, owner.auth, { version: 1, status: 'completed' }), 409],
      [() => c.patch(`${u}/status`, owner.auth, { version: 7, status: 'active' }), 409],
      [() => c.get('/v1/campaigns?status=live', owner.auth), 400],
      [() => c.get('/v1/campaigns?activeOn=tomorrow', owner.auth), 400],
      [() => c.get('/v1/campaigns?cursor=zzz', owner.auth), 400],
      [() => c.get('/v1/campaigns/not-a-uuid', owner.auth), 400],
    ];
    for (const [res, status] of cases) {
      const r = await res();
      expect(r.statusCode, r.body).toBe(status);
    }
    expect(await count()).toBe(before);
  });

  it('shows another organization nothing, lets it change nothing, and refuses its service in this organization', async () => {
    const p = ok(await c.post('/v1/campaigns', owner.auth, campaign({ ideas: [idea()] })), 201);
    const u = `/v1/campaigns/${p.id}`;
    expect((await c.get(u, other.auth)).statusCode).toBe(404);
    expect((await c.post(`${u}/ideas`, other.auth, { version: 1, ...idea() })).statusCode).toBe(404);
    expect((await c.del(`${u}/ideas/${p.campaign.ideas[0].id}?version=1`, other.auth)).statusCode).toBe(404);
    expect((await c.put(`${u}/channel-plans`, other.auth, { version: 1, channelPlans: [] })).statusCode).toBe(404);
    expect((await c.post(`${u}/feedback`, other.auth, { version: 1, comment: 'mine' })).statusCode).toBe(404);
    expect((await c.patch(`${u}/status`, other.auth, { version: 1, status: 'active' })).statusCode).toBe(404);
    expect(ok(await c.get('/v1/campaigns', other.auth)).data).toEqual([]);
    const before = await count();
    const theirs = await c.post('/v1/campaigns', owner.auth, campaign({ serviceId: otherServiceId }));
    expect(theirs.statusCode).toBe(400);
    expect(errorOf(theirs)).toMatchObject({ code: 'validation_failed', details: { issues: [{ path: 'body.serviceId' }] } });
    expect(await count()).toBe(before);
    const seen = await t.db.tenant(other.orgId, (sql) => sql.query(`SELECT plan_id FROM campaigns WHERE plan_id = $1`, [p.id]));
    expect(seen.rows).toEqual([]);
  });
});
