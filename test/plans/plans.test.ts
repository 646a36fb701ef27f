import jsonPatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, client, ok, signupBuilder } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let owner: SignedUp;
let other: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  other = await signupUser(t.app, { organizationName: 'Other Org' });
  c = client(t);
});
afterAll(async () => t?.close());

const trip = (over: Record<string, unknown> = {}) => ({
  kind: 'travel',
  title: 'Lisbon and Porto in May',
  travel: {
    destinations: [{ name: 'Lisbon', country: 'PT' }, { name: 'Porto', country: 'PT' }],
    startDate: '2027-05-01',
    endDate: '2027-05-08',
    travelerCount: 2,
    budgetTotal: 3200.5,
    budgetCurrency: 'EUR',
    preferences: { pace: 'slow', food: ['seafood'] },
  },
  ...over,
});

describe('plans: create, read, change', () => {
  it('creates a travel plan at version 1 with its details, generated duration and zero costs', async () => {
    const p = ok(await c.post('/v1/plans', owner.auth, trip()), 201);
    expect(p).toMatchObject({
      kind: 'travel', title: 'Lisbon and Porto in May', status: 'draft', version: 1, userId: owner.userId, completionPercentage: 0,
      travel: { durationDays: 7, travelerCount: 2, budgetTotal: 3200.5, budgetCurrency: 'EUR', destinations: [{ name: 'Lisbon', country: 'PT' }, { name: 'Porto', country: 'PT' }] },
      costs: { costUsd: 0, totalTokens: 0, executions: 0 },
    });
    const got = ok(await c.get(`/v1/plans/${p.id}`, owner.auth));
    expect(got).toMatchObject({ id: p.id, version: 1, activity: { decisions: 0, messages: 0, sessions: [] } });
    const v1 = ok(await c.get(`/v1/plans/${p.id}/versions/1`, owner.auth));
    expect(v1).toMatchObject({ version: 1, summary: 'created', document: { kind: 'travel', plan: { title: 'Lisbon and Porto in May' }, travel: { startDate: '2027-05-01' } } });
    const audit = await auditRows(t, owner.orgId, p.id);
    expect(audit.map((a) => a.action)).toEqual(['plan.created']);
  });

  it('records every change as the next version, refuses a stale version with 409 and records nothing for a no-op', async () => {
    const p = ok(await c.post('/v1/plans', owner.auth, trip()), 201);
    const v2 = ok(await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 1, title: 'Lisbon, Porto and Douro', travel: { endDate: '2027-05-10' } }));
    expect(v2).toMatchObject({ version: 2, title: 'Lisbon, Porto and Douro', travel: { durationDays: 9, travelerCount: 2, budgetCurrency: 'EUR' } });
    const stale = await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 1, title: 'lost update' });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');
    const same = ok(await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 2, title: 'Lisbon, Porto and Douro' }));
    expect(same.version).toBe(2);
    const list = ok(await c.get(`/v1/plans/${p.id}/versions`, owner.auth));
    expect(list.data.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(list.data[0].summary).toContain('title: "Lisbon and Porto in May" → "Lisbon, Porto and Douro"');
    expect(list.data[0].summary).toContain('travel.endDate: "2027-05-08" → "2027-05-10"');
  });

  it('diffs two versions as an RFC 6902 patch that turns one document into the other, and restores an old version as a new one', async () => {
    const p = ok(await c.post('/v1/plans', owner.auth, trip()), 201);
    ok(await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 1, status: 'processing', travel: { itinerary: { day1: 'Alfama walk' } } }));
    ok(await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 2, status: 'completed', completionPercentage: 100, travel: { destinations: [{ name: 'Lisbon' }] } }));
    const d = ok(await c.get(`/v1/plans/${p.id}/diff?from=1&to=3`, owner.auth));
    const [v1, v3] = await Promise.all([1, 3].map(async (n) => ok(await c.get(`/v1/plans/${p.id}/versions/${n}`, owner.auth)).document));
    expect(jsonPatch.applyPatch(structuredClone(v1), d.patch).newDocument).toEqual(v3);
    expect(d.summary).toEqual(expect.arrayContaining(['status: "draft" → "completed"', 'completionPercentage: 0 → 100', 'travel.destinations changed', 'travel.itinerary changed']));

    const restored = ok(await c.post(`/v1/plans/${p.id}/versions/1/restore`, owner.auth, { version: 3 }));
    expect(restored).toMatchObject({ version: 4, status: 'draft', completionPercentage: 0, completedAt: null });
    const v4 = ok(await c.get(`/v1/plans/${p.id}/versions/4`, owner.auth));
    expect(v4).toMatchObject({ restoredFrom: 1, summary: 'restored version 1' });
    expect(v4.document).toEqual(v1);
    const versions = ok(await c.get(`/v1/plans/${p.id}/versions`, owner.auth));
    expect(versions.data).toHaveLength(4);
    const actions = (await auditRows(t, owner.orgId, p.id)).map((a) => a.action);
    expect(actions).toEqual(['plan.created', 'plan.updated', 'plan.updated', 'plan.restored']);
  });

  it('instantiates a template plan into a new draft that names it', async () => {
    const tpl = ok(await c.post('/v1/plans', owner.auth, trip({ title: 'Weekend template', isTemplate: true })), 201);
    const n = ok(await c.post(`/v1/plans/${tpl.id}/instantiate`, owner.auth, { title: 'My weekend' }), 201);
    expect(n).toMatchObject({ title: 'My weekend', isTemplate: false, templatePlanId: tpl.id, version: 1, travel: { travelerCount: 2 } });
    const notTpl = await c.post(`/v1/plans/${n.id}/instantiate`, owner.auth, {});
    expect(notTpl.statusCode).toBe(409);
  });

  it('lists with filters and cursors, and deletes softly', async () => {
    const a = ok(await c.post('/v1/plans', owner.auth, trip({ title: 'Rome', travel: { destinations: [{ name: 'Rome' }], startDate: '2027-09-01', endDate: '2027-09-05' } })), 201);
    ok(await c.post('/v1/plans', owner.auth, { kind: 'generic', title: 'Offsite', planData: { agenda: [] } }), 201);
    const rome = ok(await c.get('/v1/plans?destination=Rome', owner.auth));
    expect(rome.data.map((p: { id: string }) => p.id)).toEqual([a.id]);
    const sept = ok(await c.get('/v1/plans?kind=travel&from=2027-08-30&to=2027-09-02', owner.auth));
    expect(sept.data.map((p: { id: string }) => p.id)).toEqual([a.id]);
    const p1 = ok(await c.get('/v1/plans?limit=2', owner.auth));
    const p2 = ok(await c.get(`/v1/plans?limit=2&cursor=${p1.nextCursor}`, owner.auth));
    expect(p2.data.every((p: { id: string }) => !p1.data.some((q: { id: string }) => q.id === p.id))).toBe(true);
    expect((await c.del(`/v1/plans/${a.id}?version=7`, owner.auth)).statusCode).toBe(409);
    expect((await c.del(`/v1/plans/${a.id}`, owner.auth)).statusCode).toBe(204);
    expect((await c.get(`/v1/plans/${a.id}`, owner.auth)).statusCode).toBe(404);
  });
});

describe('plans: campaigns through the plan routes', () => {
  it('hold the campaign status transitions as /v1/campaigns does', async () => {
    const p = ok(await c.post('/v1/plans', owner.auth, {
      kind: 'campaign', title: 'Spring push',
      campaign: { theme: 'Spring', startDate: '2027-03-01', endDate: '2027-04-30', totalBudget: 10000, expectedRoi: 120 },
    }), 201);
    const bad = await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 1, campaign: { status: 'completed' } });
    expect(bad.statusCode).toBe(409);
    expect(errorOf(bad).details).toMatchObject({ from: 'draft', to: 'completed', allowed: ['active', 'cancelled'] });
    const active = ok(await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 1, campaign: { status: 'active' } }));
    expect(active).toMatchObject({ version: 2, campaign: { status: 'active' } });
  });
});

describe('plans: bad input and other tenants', () => {
  const count = async () => (await t.db.admin.query<{ n: number }>(`SELECT (SELECT count(*) FROM plans) + (SELECT count(*) FROM plan_versions) AS n`)).rows[0]!.n;

  it.each([
    ['no kind', { title: 'x' }],
    ['blank title', { kind: 'generic', title: '  ' }],
    ['unknown field', { kind: 'generic', title: 'x', colour: 'red' }],
    ['end before start', trip({ travel: { startDate: '2027-05-08', endDate: '2027-05-01' } })],
    ['bad currency', trip({ travel: { budgetCurrency: 'euro' } })],
    ['rating 6', { kind: 'generic', title: 'x', userRating: 6 }],
    ['campaign without details', { kind: 'campaign', title: 'x' }],
    ['travel details on a generic plan', { kind: 'generic', title: 'x', travel: {} }],
    ['budget with fractions of a cent', trip({ travel: { budgetTotal: 1.001 } })],
  ])('refuses %s with 400 and writes nothing', async (_name, body) => {
    const before = await count();
    const res = await c.post('/v1/plans', owner.auth, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(['validation_failed', 'bad_request']).toContain(errorOf(res).code);
    expect(errorOf(res).message.length).toBeGreaterThan(5);
    expect(await count()).toBe(before);
  });

  it('refuses bad changes, versions and diffs with 4xx', async () => {
    const p = ok(await c.post('/v1/plans', owner.auth, trip()), 201);
    const before = await count();
    expect((await c.patch(`/v1/plans/${p.id}`, owner.auth, { title: 'no version' })).statusCode).toBe(400);
    expect((await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 1, campaign: { theme: 'x' } })).statusCode).toBe(400);
    expect((await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 1, travel: { startDate: '2027-06-01' } })).statusCode).toBe(400);
    expect((await c.get(`/v1/plans/${p.id}/versions/9`, owner.auth)).statusCode).toBe(404);
    expect((await c.get(`/v1/plans/${p.id}/diff?from=1&to=9`, owner.auth)).statusCode).toBe(404);
    expect((await c.get(`/v1/plans/${p.id}/diff?from=0&to=1`, owner.auth)).statusCode).toBe(400);
    expect((await c.post(`/v1/plans/${p.id}/versions/5/restore`, owner.auth, { version: 1 })).statusCode).toBe(404);
    expect((await c.get('/v1/plans/not-a-uuid', owner.auth)).statusCode).toBe(400);
    expect((await c.get('/v1/plans?cursor=zzz', owner.auth)).statusCode).toBe(400);
    expect(await count()).toBe(before);
  });

  it('shows another organization nothing and lets it change nothing', async () => {
    const p = ok(await c.post('/v1/plans', owner.auth, trip()), 201);
    expect((await c.get(`/v1/plans/${p.id}`, other.auth)).statusCode).toBe(404);
    expect((await c.get(`/v1/plans/${p.id}/versions`, other.auth)).statusCode).toBe(404);
    expect((await c.get(`/v1/plans/${p.id}/versions/1`, other.auth)).statusCode).toBe(404);
    expect((await c.get(`/v1/plans/${p.id}/diff?from=1&to=1`, other.auth)).statusCode).toBe(404);
    expect((await c.patch(`/v1/plans/${p.id}`, other.auth, { version: 1, title: 'mine' })).statusCode).toBe(404);
    expect((await c.post(`/v1/plans/${p.id}/versions/1/restore`, other.auth, { version: 1 })).statusCode).toBe(404);
    expect((await c.del(`/v1/plans/${p.id}`, other.auth)).statusCode).toBe(404);
    expect(ok(await c.get('/v1/plans', other.auth)).data).toEqual([]);
  });
});
