import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, client, ok, type Body } from '../agents/fixtures.js';
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

const idea = (theme = 'Zero trust') => ({ theme, coreMessage: 'Verify everything', targetSegments: ['CISOs'], competitiveAngle: 'Agentless' });
const template = (over: Record<string, unknown> = {}) => ({
  name: 'Product launch', theme: 'launch', description: 'Our launch playbook', tags: ['launch', 'b2b'],
  ideas: [idea(), idea('Compliance')],
  channelMix: [{ channel: 'email', budgetAllocation: 40, strategy: 'nurture' }, { channel: 'social', budgetAllocation: 60, strategy: 'paid', kpis: ['CTR'] }],
  ...over,
});
const run = (over: Record<string, unknown> = {}) => ({ name: 'Launch 2027', startDate: '2027-05-01', endDate: '2027-05-31', totalBudget: 5000, expectedRoi: 80, ...over });
const TABLES = ['campaign_templates', 'plans', 'plan_versions', 'campaigns', 'campaign_ideas', 'channel_plans', 'audit_logs'];
const count = async () => (await t.db.admin.query<{ n: number }>(`SELECT ${TABLES.map((x) => `(SELECT count(*) FROM ${x})`).join(' + ')} AS n`)).rows[0]!.n;

describe('campaign templates', () => {
  it('creates, reads, changes with a version and deletes softly, auditing each', async () => {
    const tp = ok(await c.post('/v1/campaign-templates', owner.auth, template()), 201);
    expect(tp).toMatchObject({
      name: 'Product launch', theme: 'launch', version: 1, createdBy: owner.userId, tags: ['launch', 'b2b'],
      ideas: [idea(), idea('Compliance')],
      channelMix: [{ channel: 'email', budgetAllocation: 40, expectedReach: null, kpis: [] }, { channel: 'social', kpis: ['CTR'] }],
    });
    expect(tp.ideas[0].id).toBeUndefined();
    expect(ok(await c.get(`/v1/campaign-templates/${tp.id}`, owner.auth))).toEqual(tp);
    const v2 = ok(await c.patch(`/v1/campaign-templates/${tp.id}`, owner.auth, { version: 1, ideas: [idea('Only')], tags: ['launch'] }));
    expect(v2).toMatchObject({ version: 2, ideas: [{ theme: 'Only' }], tags: ['launch'], theme: 'launch' });
    const stale = await c.patch(`/v1/campaign-templates/${tp.id}`, owner.auth, { version: 1, name: 'lost' });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');
    expect((await c.del(`/v1/campaign-templates/${tp.id}?version=1`, owner.auth)).statusCode).toBe(409);
    expect((await c.del(`/v1/campaign-templates/${tp.id}?version=2`, owner.auth)).statusCode).toBe(204);
    expect((await c.get(`/v1/campaign-templates/${tp.id}`, owner.auth)).statusCode).toBe(404);
    expect((await c.post(`/v1/campaign-templates/${tp.id}/instantiate`, owner.auth, run())).statusCode).toBe(404);
    expect((await auditRows(t, owner.orgId, tp.id)).map((a) => a.action)).toEqual(['campaign_template.created', 'campaign_template.updated', 'campaign_template.deleted']);
  });

  it('instantiates a template into a new draft campaign with fresh ids, naming it', async () => {
    const tp = ok(await c.post('/v1/campaign-templates', owner.auth, template()), 201);
    const a = ok(await c.post(`/v1/campaign-templates/${tp.id}/instantiate`, owner.auth, run({ serviceId })), 201);
    expect(a).toMatchObject({
      kind: 'campaign', title: 'Launch 2027', version: 1,
      campaign: {
        status: 'draft', theme: 'launch', templateId: tp.id, serviceId, totalBudget: 5000,
        ideas: [{ theme: 'Zero trust', id: expect.any(String) }, { theme: 'Compliance' }],
        channelPlans: [{ channel: 'email', budgetAllocation: 40 }, { channel: 'social', budgetAllocation: 60, kpis: ['CTR'] }],
      },
    });
    const b = ok(await c.post(`/v1/campaign-templates/${tp.id}/instantiate`, owner.auth, run({ name: 'Launch 2028' })), 201);
    expect(b.campaign.ideas[0].id).not.toBe(a.campaign.ideas[0].id);
    const v1 = ok(await c.get(`/v1/plans/${a.id}/versions/1`, owner.auth));
    expect(v1.summary).toBe(`created from template "Product launch" (${tp.id}, version 1)`);
    expect((await auditRows(t, owner.orgId, a.id)).map((x) => x.action)).toEqual(['plan.created']);
  });

  it('lists newest first, by tag and name prefix, with cursors', async () => {
    const x = ok(await c.post('/v1/campaign-templates', owner.auth, template({ name: 'Webinar series', tags: ['events'] })), 201);
    const y = ok(await c.post('/v1/campaign-templates', owner.auth, template({ name: 'Webinar 100%', tags: ['events', 'b2b'] })), 201);
    const ids = (b: Body) => b.data.map((r: Body) => r.id);
    expect(ids(ok(await c.get('/v1/campaign-templates?tag=events', owner.auth)))).toEqual([y.id, x.id]);
    expect(ids(ok(await c.get('/v1/campaign-templates?q=webinar%20100%25', owner.auth)))).toEqual([y.id]);
    expect(ids(ok(await c.get('/v1/campaign-templates?q=WEBINAR', owner.auth)))).toEqual([y.id, x.id]);
    const p1 = ok(await c.get('/v1/campaign-templates?limit=1', owner.auth));
    const p2 = ok(await c.get(`/v1/campaign-templates?limit=1&cursor=${p1.nextCursor}`, owner.auth));
    expect(ids(p1)).toEqual([y.id]);
    expect(ids(p2)).toEqual([x.id]);
  });
});

describe('campaign templates: bad input and other tenants', () => {
  it.each([
    ['no name', template({ name: undefined })],
    ['blank theme', template({ theme: ' ' })],
    ['a channel mix over 100 %', template({ channelMix: [{ channel: 'a', budgetAllocation: 70, strategy: 's' }, { channel: 'b', budgetAllocation: 31, strategy: 's' }] })],
    ['an idea with an id', template({ ideas: [{ ...idea(), id: '0190a4b8-0000-7000-8000-000000000001' }] })],
    ['an idea without targetSegments', template({ ideas: [{ theme: 'x', coreMessage: 'y', competitiveAngle: 'z' }] })],
    ['21 tags', template({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) })],
    ['a tag with a comma', template({ tags: ['a,b'] })],
    ['unknown field', template({ colour: 'red' })],
  ])('refuses %s with 400 and writes nothing', async (_n, body) => {
    const before = await count();
    const res = await c.post('/v1/campaign-templates', owner.auth, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(await count()).toBe(before);
  });

  it('refuses bad changes and instantiations with 4xx and writes nothing', async () => {
    const tp = ok(await c.post('/v1/campaign-templates', owner.auth, template({ name: 'Guarded' })), 201);
    const before = await count();
    const u = `/v1/campaign-templates/${tp.id}`;
    const cases: Array<[() => Promise<{ statusCode: number; body: string }>, number, string]> = [
      [() => c.patch(u, owner.auth, { name: 'no version' }), 400, 'validation_failed'],
      [() => c.patch(u, owner.auth, { version: 1, channelMix: [{ channel: 'a', budgetAllocation: 101, strategy: 's' }] }), 400, 'validation_failed'],
      [() => c.post(`${u}/instantiate`, owner.auth, run({ endDate: '2027-04-01' })), 400, 'validation_failed'],
      [() => c.post(`${u}/instantiate`, owner.auth, run({ totalBudget: -5 })), 400, 'validation_failed'],
      [() => c.post(`${u}/instantiate`, owner.auth, run({ theme: 'not here' })), 400, 'validation_failed'],
      [() => c.post(`${u}/instantiate`, owner.auth, run({ serviceId: otherServiceId })), 400, 'validation_failed'],
      [() => c.get('/v1/campaign-templates/not-a-uuid', owner.auth), 400, 'validation_failed'],
      [() => c.get('/v1/campaign-templates?cursor=zzz', owner.auth), 400, 'bad_request'],
      [() => c.del(`${u}?version=0`, owner.auth), 400, 'validation_failed'],
    ];
    for (const [call, status, code] of cases) {
      const r = await call();
      expect(r.statusCode, r.body).toBe(status);
      expect(JSON.parse(r.body).error.code, r.body).toBe(code);
    }
    expect(await count()).toBe(before);
  });

  it('shows another organization nothing and lets it use or change nothing', async () => {
    const tp = ok(await c.post('/v1/campaign-templates', owner.auth, template({ name: 'Secret playbook' })), 201);
    const u = `/v1/campaign-templates/${tp.id}`;
    expect((await c.get(u, other.auth)).statusCode).toBe(404);
    expect((await c.patch(u, other.auth, { version: 1, name: 'mine' })).statusCode).toBe(404);
    expect((await c.del(u, other.auth)).statusCode).toBe(404);
    expect((await c.post(`${u}/instantiate`, other.auth, run())).statusCode).toBe(404);
    expect(ok(await c.get('/v1/campaign-templates', other.auth)).data).toEqual([]);
    const seen = await t.db.tenant(other.orgId, (sql) => sql.query(`SELECT id FROM campaign_templates WHERE id = $1`, [tp.id]));
    expect(seen.rows).toEqual([]);
  });
});
