import { appendAudit, type Actor } from '../../audit/index.js';
import { uuidv7, type Sql } from '../../db/index.js';
import { AppError, conflict, notFound } from '../../errors.js';
import { getOrganization } from '../../identity/index.js';
import { clock, type BillingDeps } from './deps.js';
import * as repo from './invoices-repo.js';
import type { InvoiceFilter, InvoiceLine, InvoiceRow } from './invoices-repo.js';
import { billedDays, DAY_MS, dayText, daysInMonth, monthStart } from './period.js';
import { PLANS } from './plans.js';
import { priceInvoice, type UsageFigures } from './pricing.js';
import * as subs from './subscriptions-repo.js';
import type { SubscriptionRow } from './subscriptions-repo.js';

export type Invoice = InvoiceRow & { lines: InvoiceLine[] };

/** Days from the invoice date to its due date. */
const NET_DAYS = 14;

/**
 * Issues the invoice of the subscription's current period from its usage:
 * a draft with its lines, finalized (open) at once. Undefined when the period
 * already has one (the job ran before): one invoice per organization and month.
 */
export async function issueInvoiceIn(
  deps: BillingDeps, sql: Sql, orgId: string, sub: SubscriptionRow, usage: UsageFigures, at: Date,
): Promise<InvoiceRow | undefined> {
  const start = monthStart(sub.currentPeriodStart);
  const org = await getOrganization(sql, orgId);
  if (!org) throw notFound('organization', orgId);
  const priced = priceInvoice(PLANS[sub.plan], usage, {
    billedDays: billedDays(sub.currentPeriodStart, sub.currentPeriodEnd, sub.trialEnd),
    daysInMonth: daysInMonth(start),
  }, deps.taxRateBps);
  const invoiceDate = dayText(sub.currentPeriodEnd);
  const draft = await repo.insertDraft(sql, orgId, {
    id: uuidv7(), subscriptionId: sub.id, paymentProvider: deps.provider.name,
    invoiceNumber: `INV-${dayText(start).slice(0, 7).replace('-', '')}-${orgId.slice(0, 8).toUpperCase()}`,
    plan: sub.plan, customerName: org.name, periodStart: dayText(start), periodEnd: dayText(monthStart(start, 1)), invoiceDate, priced,
  });
  if (!draft) return undefined;
  const open = await repo.finalize(sql, orgId, draft.id, dayText(new Date(sub.currentPeriodEnd.getTime() + NET_DAYS * DAY_MS)), at);
  await appendAudit(sql, { orgId, actorType: 'system', userId: null }, {
    action: 'invoice.issued', resourceType: 'invoice', resourceId: open.id,
    newValues: { status: open.status, invoiceNumber: open.invoiceNumber, periodStart: open.periodStart, totalCents: open.totalCents },
  });
  return open;
}

async function withLines(sql: Sql, orgId: string, inv: InvoiceRow): Promise<Invoice> {
  return { ...inv, lines: await repo.invoiceLines(sql, orgId, inv.id) };
}

export function getInvoice(deps: BillingDeps, orgId: string, id: string): Promise<Invoice> {
  return deps.db.tenant(orgId, async (sql) => {
    const inv = await repo.getInvoice(sql, orgId, id);
    if (!inv) throw notFound('invoice', id);
    return withLines(sql, orgId, inv);
  });
}

export function listInvoices(deps: BillingDeps, orgId: string, f: InvoiceFilter): Promise<InvoiceRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listInvoices(sql, orgId, f));
}

async function lockInvoice(sql: Sql, orgId: string, id: string): Promise<InvoiceRow> {
  const inv = await repo.getInvoice(sql, orgId, id, true);
  if (!inv) throw notFound('invoice', id);
  return inv;
}

type PayOutcome = { ok: true; invoice: Invoice } | { ok: false; reason: string; reference: string };

/**
 * Charges an open invoice through the payment provider, holding the
 * invoice's row lock while it does, so two pays of one invoice take turns and
 * the second finds it paid. The provider gets the invoice id as idempotency
 * key. Declined: the invoice stays open with the reason, the subscription
 * becomes past_due (both committed), and the call answers 402.
 */
export async function payInvoice(deps: BillingDeps, actor: Actor, id: string, now = clock(deps)): Promise<Invoice> {
  const out = await deps.db.tenant(actor.orgId, async (sql): Promise<PayOutcome> => {
    const inv = await lockInvoice(sql, actor.orgId, id);
    if (inv.status !== 'open') throw conflict(`invoice ${id} is ${inv.status}; only an open invoice can be paid`, { status: inv.status });
    const sub = inv.subscriptionId ? await subs.getById(sql, actor.orgId, inv.subscriptionId) : undefined;
    const charged = await deps.provider.charge({
      idempotencyKey: inv.id, invoiceNumber: inv.invoiceNumber, orgId: actor.orgId, customerId: sub?.providerCustomerId ?? '',
      amountCents: BigInt(inv.amountDueCents), currency: 'USD',
    });
    if (charged.status === 'failed') {
      await repo.recordPaymentFailure(sql, actor.orgId, id, charged.reference, charged.reason);
      if (sub && (sub.status === 'active' || sub.status === 'trialing')) {
        await subs.updateSubscription(sql, actor.orgId, sub.id, { status: 'past_due' });
      }
      await appendAudit(sql, actor, {
        action: 'invoice.payment_failed', resourceType: 'invoice', resourceId: id,
        newValues: { reference: charged.reference, reason: charged.reason, subscriptionStatus: sub && sub.status !== 'canceled' ? 'past_due' : null },
      });
      return { ok: false, reason: charged.reason, reference: charged.reference };
    }
    const paid = await repo.markPaid(sql, actor.orgId, id, charged.reference, now);
    if (sub?.status === 'past_due') await subs.updateSubscription(sql, actor.orgId, sub.id, { status: 'active' });
    await appendAudit(sql, actor, {
      action: 'invoice.paid', resourceType: 'invoice', resourceId: id,
      oldValues: { status: inv.status }, newValues: { status: 'paid', amountPaidCents: paid.amountPaidCents, reference: charged.reference },
    });
    return { ok: true, invoice: await withLines(sql, actor.orgId, paid) };
  });
  if (!out.ok) {
    throw new AppError(402, 'payment_failed', `the payment provider declined invoice ${id}: ${out.reason}; the invoice stays open`, {
      reference: out.reference,
    });
  }
  return out.invoice;
}

/** Voids a draft or open invoice: nothing is owed on it any more. Paid and void invoices stay as they are (409). */
export function voidInvoice(deps: BillingDeps, actor: Actor, id: string, now = clock(deps)): Promise<Invoice> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const inv = await lockInvoice(sql, actor.orgId, id);
    if (inv.status !== 'open' && inv.status !== 'draft') {
      throw conflict(`invoice ${id} is ${inv.status}; only a draft or open invoice can be voided`, { status: inv.status });
    }
    const voided = await repo.markVoid(sql, actor.orgId, id, now);
    await appendAudit(sql, actor, {
      action: 'invoice.voided', resourceType: 'invoice', resourceId: id,
      oldValues: { status: inv.status, amountDueCents: inv.amountDueCents }, newValues: { status: 'void' },
    });
    return withLines(sql, actor.orgId, voided);
  });
}
