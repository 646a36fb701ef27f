import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDuePeriods, PLANS } from '../../../src/platform/index.js';
import { auditRows, client, joinAs, ok } from '../../agents/fixtures.js';
import { errorOf, signupUser, type SignedUp } from '../../helpers/app.js';
import { runAgent, runtimeApp, scriptedAgent, type RuntimeTest } from '../../runtime/run-fixtures.js';
import { billingCounts, deps, expectCode, monthStart, nextMonth, orgLimits, setCounter } from './fixtures.js';

let rt: RuntimeTest;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  rt = await runtimeApp();
  c = client(rt.t);
});
afterAll(async () => rt?.close());

const sub = (u: SignedUp) => c.get('/v1/billing/subscription', u.auth);
const put = (u: SignedUp, body: unknown) => c.put('/v1/billing/subscription', u.auth, body);

describe('plans and the subscription', () => {
  it('lists the plans with integer-cent prices and their limits', async () => {
    const u = await signupUser(rt.t.app);
    const plans = ok(await c.get('/v1/billing/plans', u.auth)).data;
    expect(plans.map((p: { name: string }) => p.name)).toEqual(['free', 'pro', 'enterprise']);
    expect(plans[1]).toMatchObject({ basePriceCents: 4900, limits: PLANS.pro.limits });
    for (const p of plans) for (const m of p.metered) expect(Number.isInteger(m.unitPriceCents)).toBe(true);
  });

  it('an organization without a subscription is on free, whose limits are the organization defaults', async () => {
    const u = await signupUser(rt.t.app);
    expect(ok(await sub(u))).toEqual({ plan: 'free', subscription: null });
    expect(await orgLimits(rt.t, u.orgId)).toEqual(PLANS.free.limits);
  });

  it('subscribing writes the plan\'s limits; downgrading writes free\'s and the quotas refuse agents and runs over them', async () => {
    const u = await signupUser(rt.t.app);
    const created = ok(await put(u, { plan: 'pro' }), 201);
    expect(created).toMatchObject({ plan: 'pro', subscription: { plan: 'pro', status: 'active', cancelAtPeriodEnd: false, trialEnd: null } });
    expect(JSON.stringify(created)).not.toContain('offline_cus_');
    expect(new Date(created.subscription.currentPeriodEnd).getTime()).toBe(monthStart(new Date(), 1).getTime());
    expect(await orgLimits(rt.t, u.orgId)).toEqual(PLANS.pro.limits);

    // On pro, eleven agents fit (free allows ten).
    rt.scripts.write('done', [{ content: 'done' }]);
    const agent = await scriptedAgent(rt.t, u.auth, 'done');
    for (let i = 0; i < 10; i++) ok(await c.post('/v1/agents', u.auth, { name: `extra ${i}`, systemPrompt: 'Help.' }), 201);
    // 1,000 runs used this month: over free's limit, within pro's.
    await setCounter(rt.t, u.orgId, 'runs', 1000);
    expect(ok(await runAgent(rt.t, u.auth, agent.id, { input: 'on pro' })).status).toBe('completed');

    const down = ok(await put(u, { plan: 'free' }));
    expect(down).toMatchObject({ plan: 'free', subscription: { plan: 'free', status: 'active', id: created.subscription.id } });
    expect(await orgLimits(rt.t, u.orgId)).toEqual(PLANS.free.limits);
    const agentRefused = await c.post('/v1/agents', u.auth, { name: 'one too many', systemPrompt: 'Help.' });
    expectCode(agentRefused, 402, 'quota_exceeded');
    const runRefused = await runAgent(rt.t, u.auth, agent.id, { input: 'on free' });
    expectCode(runRefused, 429, 'quota_exceeded');
    expect(errorOf(runRefused).details).toMatchObject({ limit: 'runs_per_month', max: 1000 });

    // The same plan again changes nothing and writes no audit row.
    ok(await put(u, { plan: 'free' }));
    const actions = (await auditRows(rt.t, u.orgId, created.subscription.id)).map((a) => a.action);
    expect(actions).toEqual(['subscription.created', 'subscription.plan_changed']);
    const changed = (await auditRows(rt.t, u.orgId, created.subscription.id))[1]!;
    expect(changed.old_values).toEqual({ plan: 'pro' });
    expect(changed.new_values).toMatchObject({ plan: 'free', limits: PLANS.free.limits });
  });

  it('a trial is trialing until its end, then active (the period-close job, driven by its clock)', async () => {
    const u = await signupUser(rt.t.app);
    const s = ok(await put(u, { plan: 'pro', trialDays: 14 }), 201).subscription;
    expect(s.status).toBe('trialing');
    const trialEnd = new Date(s.trialEnd);
    expect(trialEnd.getTime() - new Date(s.trialStart).getTime()).toBe(14 * 86_400_000);
    // A trial only starts with a first paid plan.
    expectCode(await put(u, { plan: 'enterprise', trialDays: 7 }), 409, 'conflict');

    const before = await closeDuePeriods(deps(rt.t), u.orgId, new Date(trialEnd.getTime() - 1000));
    expect(before.trialsEnded).toBe(0);
    expect(ok(await sub(u)).subscription.status).toBe('trialing');

    // The trial may outlast the month: then the period closes (and renews) first, in the same run.
    const after = await closeDuePeriods(deps(rt.t), u.orgId, trialEnd);
    expect(after.trialsEnded).toBe(1);
    expect(ok(await sub(u)).subscription.status).toBe('active');
    expect((await auditRows(rt.t, u.orgId, s.id)).map((a) => a.action)).toContain('subscription.trial_ended');
    // Running it again finds nothing due.
    expect((await closeDuePeriods(deps(rt.t), u.orgId, trialEnd)).trialsEnded).toBe(0);
  });

  it('a free subscription that never trialed may start a trial of a paid plan, once', async () => {
    const u = await signupUser(rt.t.app);
    const free = ok(await put(u, { plan: 'free' }), 201).subscription;
    const trial = ok(await put(u, { plan: 'pro', trialDays: 7 })).subscription;
    expect(trial).toMatchObject({ id: free.id, plan: 'pro', status: 'trialing' });
    expect(await orgLimits(rt.t, u.orgId)).toEqual(PLANS.pro.limits);
    ok(await put(u, { plan: 'free' }));
    expectCode(await put(u, { plan: 'pro', trialDays: 7 }), 409, 'conflict');
  });

  it('cancel at period end: nothing changes until then; at the period end canceled, and the organization is back on free', async () => {
    const u = await signupUser(rt.t.app);
    await put(u, { plan: 'enterprise' });
    const canceled = ok(await c.post('/v1/billing/subscription/cancel', u.auth, { reason: 'too expensive' }));
    expect(canceled.subscription).toMatchObject({ status: 'active', cancelAtPeriodEnd: true, cancellationReason: 'too expensive' });
    expect(canceled.subscription.cancelAt).toBe(canceled.subscription.currentPeriodEnd);
    expectCode(await c.post('/v1/billing/subscription/cancel', u.auth), 409, 'conflict');
    expect(await orgLimits(rt.t, u.orgId)).toEqual(PLANS.enterprise.limits);

    // Resume undoes it; a second resume has nothing to undo.
    expect(ok(await c.post('/v1/billing/subscription/resume', u.auth)).subscription).toMatchObject({ cancelAtPeriodEnd: false, cancelAt: null });
    expectCode(await c.post('/v1/billing/subscription/resume', u.auth), 409, 'conflict');
    ok(await c.post('/v1/billing/subscription/cancel', u.auth));

    const r = await closeDuePeriods(deps(rt.t), u.orgId, nextMonth());
    expect(r).toMatchObject({ periodsClosed: 1, canceled: true });
    expect(r.invoiceIds).toHaveLength(1);
    expect(ok(await sub(u))).toEqual({ plan: 'free', subscription: null });
    expect(await orgLimits(rt.t, u.orgId)).toEqual(PLANS.free.limits);
    const stored = await rt.t.db.admin.query<{ status: string; canceled_at: Date }>(`SELECT status, canceled_at FROM subscriptions WHERE org_id = $1`, [u.orgId]);
    expect(stored.rows).toEqual([{ status: 'canceled', canceled_at: monthStart(new Date(), 1) }]);
    expect((await auditRows(rt.t, u.orgId)).map((a) => a.action)).toEqual(expect.arrayContaining([
      'subscription.created', 'subscription.cancel_scheduled', 'subscription.resumed', 'subscription.canceled', 'invoice.issued',
    ]));
    // Nothing to cancel now; subscribing again makes a new subscription.
    expectCode(await c.post('/v1/billing/subscription/cancel', u.auth), 409, 'conflict');
    expect(ok(await put(u, { plan: 'pro' }), 201).subscription.status).toBe('active');
  });

  it('a period end without cancellation renews for the next month', async () => {
    const u = await signupUser(rt.t.app);
    const s = ok(await put(u, { plan: 'pro' }), 201).subscription;
    const r = await closeDuePeriods(deps(rt.t), u.orgId, nextMonth(2));
    expect(r.periodsClosed).toBe(2);
    const now = ok(await sub(u)).subscription;
    expect(now.id).toBe(s.id);
    expect(new Date(now.currentPeriodStart).getTime()).toBe(monthStart(new Date(), 2).getTime());
    expect(new Date(now.currentPeriodEnd).getTime()).toBe(monthStart(new Date(), 3).getTime());
  });
});

describe('bad input, permissions and other tenants', () => {
  it('refuses bad bodies and queries with 400 and writes nothing', async () => {
    const u = await signupUser(rt.t.app);
    const before = await billingCounts(rt.t);
    for (const body of [{}, { plan: 'gold' }, { plan: 'pro', trialDays: 0 }, { plan: 'pro', trialDays: 91 }, { plan: 'pro', trialDays: 1.5 },
      { plan: 'pro', extra: true }, { plan: 'free', trialDays: 7 }, 'pro', null]) {
      const res = await put(u, body);
      expect([400, 415], JSON.stringify(body)).toContain(res.statusCode);
    }
    expect((await c.post('/v1/billing/subscription/cancel', u.auth, { reason: '' })).statusCode).toBe(400);
    expect((await c.post('/v1/billing/subscription/cancel', u.auth, { why: 'x' })).statusCode).toBe(400);
    for (const q of ['period=2026-13', 'period=26-01', 'period=2026-01-01', 'month=2026-01']) {
      expect((await c.get(`/v1/billing/usage?${q}`, u.auth)).statusCode, q).toBe(400);
    }
    for (const q of ['status=lost', 'limit=0', 'limit=101', 'cursor=%%%']) {
      expect((await c.get(`/v1/billing/invoices?${q}`, u.auth)).statusCode, q).toBe(400);
    }
    expect((await c.get('/v1/billing/invoices/not-a-uuid', u.auth)).statusCode).toBe(400);
    expect((await c.get(`/v1/billing/invoices/${crypto.randomUUID()}/download?format=pdf`, u.auth)).statusCode).toBe(400);
    expect((await c.post('/v1/billing/invoices/nope/pay', u.auth)).statusCode).toBe(400);
    // nothing to cancel or resume without a subscription
    expectCode(await c.post('/v1/billing/subscription/cancel', u.auth), 409, 'conflict');
    expectCode(await c.post('/v1/billing/subscription/resume', u.auth), 409, 'conflict');
    expect(await billingCounts(rt.t)).toEqual(before);
    expect(await orgLimits(rt.t, u.orgId)).toEqual(PLANS.free.limits);
  });

  it('billing:read is for admins, billing:write for owners', async () => {
    const owner = await signupUser(rt.t.app);
    const admin = await joinAs(rt.t, owner, 'admin');
    const member = await joinAs(rt.t, owner, 'member');
    expectCode(await c.get('/v1/billing/subscription', member.auth), 403, 'forbidden');
    expectCode(await c.get('/v1/billing/invoices', member.auth), 403, 'forbidden');
    ok(await c.get('/v1/billing/subscription', admin.auth));
    expectCode(await c.put('/v1/billing/subscription', admin.auth, { plan: 'pro' }), 403, 'forbidden');
    expectCode(await c.post('/v1/billing/subscription/cancel', admin.auth), 403, 'forbidden');
    expect(ok(await sub(owner)).subscription).toBeNull();
  });

  it('another organization sees none of it', async () => {
    const a = await signupUser(rt.t.app);
    const b = await signupUser(rt.t.app, { organizationName: 'Other Org' });
    ok(await put(a, { plan: 'pro' }), 201);
    expect(ok(await sub(b))).toEqual({ plan: 'free', subscription: null });
    expectCode(await c.post('/v1/billing/subscription/cancel', b.auth), 409, 'conflict');
    expect(await orgLimits(rt.t, b.orgId)).toEqual(PLANS.free.limits);
    expect(ok(await sub(a)).plan).toBe('pro');
    // a's subscription is untouched by b's calls
    expect(ok(await sub(a)).subscription.cancelAtPeriodEnd).toBe(false);
  });
});
