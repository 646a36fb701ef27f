import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimedJob } from '../../../src/jobs/index.js';
import { BILLING_CLOSE_TASK, billingJobHandlers, closeDuePeriods, enqueueDueBillingJobs, payInvoice } from '../../../src/platform/index.js';
import { auditRows, client, ok } from '../../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../../helpers/app.js';
import { actorOf, billingCounts, dayText, decliningProvider, deps, expectCode, monthStart, nextMonth, rows, setCounter } from './fixtures.js';

let t: TestApp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  c = client(t);
});
afterAll(async () => t?.close());

const subscribe = async (u: SignedUp, plan = 'pro') => ok(await c.put('/v1/billing/subscription', u.auth, { plan }), 201).subscription;
/** Closes the current period (the clock an hour into next month) and returns the one invoice id. */
async function closeMonth(u: SignedUp, over: Parameters<typeof deps>[1] = {}): Promise<string> {
  const r = await closeDuePeriods(deps(t, over), u.orgId, nextMonth());
  expect(r.invoiceIds).toHaveLength(1);
  return r.invoiceIds[0]!;
}
const invoice = async (u: SignedUp, id: string) => ok(await c.get(`/v1/billing/invoices/${id}`, u.auth));

/** Billed days of a period from `from` to the next month's start: a started day counts whole. */
const billedDays = (from: Date) => Math.ceil((monthStart(from, 1).getTime() - from.getTime()) / 86_400_000);
const daysInMonth = (d: Date) => Math.round((monthStart(d, 1).getTime() - monthStart(d).getTime()) / 86_400_000);
const roundHalfUp = (n: bigint, d: bigint) => (2n * n + d) / (2n * d);

describe('invoices at period end', () => {
  it('bill the prorated base price and metered usage over the included amounts, exact in cents', async () => {
    const u = await signupUser(t.app);
    const s = await subscribe(u);
    await setCounter(t, u.orgId, 'runs', 12_345);
    await setCounter(t, u.orgId, 'ingested_spans', 10_250_001);
    const id = await closeMonth(u, { taxRateBps: 825 });
    const inv = await invoice(u, id);
    const start = new Date(s.currentPeriodStart);
    const days = BigInt(billedDays(start));
    const base = roundHalfUp(days * 4900n, BigInt(daysInMonth(start)));
    expect(inv).toMatchObject({
      status: 'open', plan: 'pro', currency: 'USD', periodStart: dayText(monthStart(start)), periodEnd: dayText(monthStart(start, 1)),
      invoiceDate: dayText(monthStart(start, 1)), taxRateBps: 825, amountPaidCents: 0,
    });
    expect(inv.invoiceNumber).toMatch(/^INV-\d{6}-[0-9A-F]{8}$/);
    const lines = Object.fromEntries(inv.lines.map((l: { item: string }) => [l.item, l]));
    expect(lines.base).toMatchObject({ quantity: Number(days), unitSize: daysInMonth(start), unitPriceCents: 4900, amountCents: Number(base) });
    expect(lines.runs).toMatchObject({ quantity: 12_345, includedQuantity: 10_000, billableQuantity: 2345, unitSize: 1000, unitPriceCents: 200, amountCents: 469 });
    expect(lines.ingested_spans).toMatchObject({ billableQuantity: 250_001, amountCents: 63 });
    expect(lines.seats).toMatchObject({ quantity: 1, amountCents: 0 });
    const subtotal = base + 469n + 63n;
    expect(inv.subtotalCents).toBe(Number(subtotal));
    expect(inv.lines.reduce((s: number, l: { amountCents: number }) => s + l.amountCents, 0)).toBe(inv.subtotalCents);
    expect(inv.taxCents).toBe(Number(roundHalfUp(subtotal * 825n, 10_000n)));
    expect(inv.totalCents).toBe(inv.subtotalCents + inv.taxCents);
    expect(inv.amountDueCents).toBe(inv.totalCents);
    // the usage record of the month was written with it
    expect(await rows(t, 'usage_records', u.orgId)).toBe(1);
    expect((await auditRows(t, u.orgId, id)).map((a) => a.action)).toEqual(['invoice.issued']);
  });

  it('the period-close job enqueued twice is one job, and run twice makes one invoice', async () => {
    const u = await signupUser(t.app);
    await subscribe(u, 'enterprise');
    const at = nextMonth();
    const first = await enqueueDueBillingJobs(t.db, at);
    expect(first).toBeGreaterThanOrEqual(1);
    expect(await enqueueDueBillingJobs(t.db, at)).toBe(0);
    const jobs = await t.db.admin.query<{ id: string; task: string; payload: unknown }>(
      `SELECT id, task, payload FROM background_jobs WHERE org_id = $1`, [u.orgId]);
    expect(jobs.rows).toHaveLength(1);
    expect(jobs.rows[0]!.task).toBe(BILLING_CLOSE_TASK);
    // The service registers the handler; the test runs it with its clock at `at`.
    expect(Object.keys(t.service.jobHandlers)).toContain(BILLING_CLOSE_TASK);
    const handler = billingJobHandlers(deps(t, { at }))[BILLING_CLOSE_TASK]!;
    const job = { id: jobs.rows[0]!.id, orgId: u.orgId, task: BILLING_CLOSE_TASK, payload: jobs.rows[0]!.payload } as ClaimedJob;
    const ctx = { signal: new AbortController().signal, workerId: 'test' };
    const r1 = await handler(job, ctx) as { invoiceIds: string[] };
    const r2 = await handler(job, ctx) as { invoiceIds: string[]; periodsClosed: number };
    expect(r1.invoiceIds).toHaveLength(1);
    expect(r2).toMatchObject({ invoiceIds: [], periodsClosed: 0 });
    expect(await rows(t, 'invoices', u.orgId)).toBe(1);
    // Nothing is due any more.
    const due = await t.db.transaction((sql) => sql.query(`SELECT * FROM billing_due_subscriptions($1) WHERE org_id = $2`, [at.toISOString(), u.orgId]));
    expect(due.rows).toHaveLength(0);
  });

  it('free makes no invoice', async () => {
    const u = await signupUser(t.app);
    await subscribe(u, 'free');
    const r = await closeDuePeriods(deps(t), u.orgId, nextMonth());
    expect(r).toMatchObject({ periodsClosed: 1, invoiceIds: [] });
    expect(await rows(t, 'usage_records', u.orgId)).toBe(1);
  });
});

describe('invoice documents', () => {
  it('download as JSON and as a standalone HTML page that escapes a hostile organization name', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const u = await signupUser(t.app, { organizationName: hostile });
    await subscribe(u);
    const id = await closeMonth(u);
    const inv = await invoice(u, id);
    expect(inv.customerName).toBe(hostile);

    const html = await c.get(`/v1/billing/invoices/${id}/download?format=html`, u.auth);
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(html.headers['content-disposition']).toBe(`attachment; filename="${inv.invoiceNumber}.html"`);
    expect(html.headers['content-security-policy']).toContain("default-src 'none'");
    expect(html.body.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.body).not.toContain('<img');
    expect(html.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html.body).not.toMatch(/<script/i);
    expect(html.body).toContain(`$${(inv.totalCents / 100).toFixed(2)}`);
    // html is the default
    expect((await c.get(`/v1/billing/invoices/${id}/download`, u.auth)).body).toBe(html.body);

    const json = await c.get(`/v1/billing/invoices/${id}/download?format=json`, u.auth);
    expect(json.headers['content-disposition']).toBe(`attachment; filename="${inv.invoiceNumber}.json"`);
    const doc = json.json();
    expect(doc).toMatchObject({ id, totalCents: inv.totalCents, lines: inv.lines });
    expect(doc.amounts.total).toBe((inv.totalCents / 100).toFixed(2));
  });
});

describe('paying and voiding', () => {
  it('open → paid through the provider; paid cannot be paid or voided again (409)', async () => {
    const u = await signupUser(t.app);
    await subscribe(u);
    const id = await closeMonth(u);
    const paid = ok(await c.post(`/v1/billing/invoices/${id}/pay`, u.auth));
    expect(paid).toMatchObject({ status: 'paid', amountDueCents: 0 });
    expect(paid.amountPaidCents).toBe(paid.totalCents);
    expect(paid.paymentReference).toMatch(/^offline_/);
    expectCode(await c.post(`/v1/billing/invoices/${id}/pay`, u.auth), 409, 'conflict');
    expectCode(await c.post(`/v1/billing/invoices/${id}/void`, u.auth), 409, 'conflict');
    const audit = (await auditRows(t, u.orgId, id)).map((a) => a.action);
    expect(audit).toEqual(['invoice.issued', 'invoice.paid']);
  });

  it('open → void; void cannot be paid (409)', async () => {
    const u = await signupUser(t.app);
    await subscribe(u);
    const id = await closeMonth(u);
    const v = ok(await c.post(`/v1/billing/invoices/${id}/void`, u.auth));
    expect(v).toMatchObject({ status: 'void', amountDueCents: 0, amountPaidCents: 0 });
    expect(v.voidedAt).not.toBeNull();
    expectCode(await c.post(`/v1/billing/invoices/${id}/pay`, u.auth), 409, 'conflict');
    expectCode(await c.post(`/v1/billing/invoices/${id}/void`, u.auth), 409, 'conflict');
    expect((await auditRows(t, u.orgId, id)).map((a) => a.action)).toEqual(['invoice.issued', 'invoice.voided']);
    expect(ok(await c.get('/v1/billing/invoices?status=void', u.auth)).data.map((x: { id: string }) => x.id)).toEqual([id]);
  });

  it('a declined charge answers 402, leaves the invoice open and the subscription past_due; a later payment makes it active', async () => {
    const u = await signupUser(t.app);
    await subscribe(u);
    const id = await closeMonth(u);
    const declined = await payInvoice(deps(t, { provider: decliningProvider() }), actorOf(u), id).catch((e: unknown) => e);
    expect(declined).toMatchObject({ status: 402, code: 'payment_failed' });
    const inv = await invoice(u, id);
    expect(inv).toMatchObject({ status: 'open', paidAt: null });
    expect(inv.lastPaymentError).toContain('declined');
    expect(ok(await c.get('/v1/billing/subscription', u.auth)).subscription.status).toBe('past_due');
    ok(await c.post(`/v1/billing/invoices/${id}/pay`, u.auth));
    expect(ok(await c.get('/v1/billing/subscription', u.auth)).subscription.status).toBe('active');
    expect((await auditRows(t, u.orgId, id)).map((a) => a.action)).toEqual(['invoice.issued', 'invoice.payment_failed', 'invoice.paid']);
  });

  it('lists newest first with cursors; other tenants get 404 and nothing changes', async () => {
    const u = await signupUser(t.app);
    const other = await signupUser(t.app, { organizationName: 'Other Org' });
    await subscribe(u);
    const r = await closeDuePeriods(deps(t), u.orgId, nextMonth(3));
    expect(r.invoiceIds).toHaveLength(3);
    const p1 = ok(await c.get('/v1/billing/invoices?limit=2', u.auth));
    expect(p1.data).toHaveLength(2);
    const p2 = ok(await c.get(`/v1/billing/invoices?limit=2&cursor=${p1.nextCursor}`, u.auth));
    expect(p2.data).toHaveLength(1);
    expect(p2.nextCursor).toBeNull();
    const all = [...p1.data, ...p2.data].map((x: { periodStart: string }) => x.periodStart);
    expect(all).toEqual([...all].sort().reverse());
    expect(new Set([...p1.data, ...p2.data].map((x: { id: string }) => x.id))).toEqual(new Set(r.invoiceIds));

    const id = r.invoiceIds[0]!;
    const before = await billingCounts(t);
    expect(ok(await c.get('/v1/billing/invoices', other.auth)).data).toEqual([]);
    for (const [m, url] of [['GET', `/v1/billing/invoices/${id}`], ['GET', `/v1/billing/invoices/${id}/download?format=json`],
      ['POST', `/v1/billing/invoices/${id}/pay`], ['POST', `/v1/billing/invoices/${id}/void`]] as const) {
      const res = m === 'GET' ? await c.get(url, other.auth) : await c.post(url, other.auth);
      expectCode(res, 404, 'not_found');
    }
    expect((await invoice(u, id)).status).toBe('open');
    expect(await billingCounts(t)).toEqual(before);
    expect(errorOf(await c.get(`/v1/billing/invoices/${crypto.randomUUID()}`, u.auth)).code).toBe('not_found');
  });
});
