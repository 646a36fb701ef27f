import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../../http/context.js';
import { Uuid } from '../../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { BillingDeps } from '../deps.js';
import { DOCUMENT_CSP, invoiceHtml, invoiceJson } from '../invoice-document.js';
import { getInvoice, listInvoices, payInvoice, voidInvoice } from '../invoices-service.js';
import { PLAN_NAMES, PLANS } from '../plans.js';
import { cancelSubscription, changePlan, getSubscription, resumeSubscription } from '../subscriptions-service.js';
import { usageView } from '../usage-service.js';

const IdParams = z.strictObject({ id: Uuid });
const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM, such as 2026-12');
const INVOICE_STATUSES = ['draft', 'open', 'paid', 'void', 'uncollectible'] as const;
const Cursor = z.object({ periodStart: z.iso.date(), id: Uuid });

export function billingRoutes(deps: BillingDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/billing/plans', {
      config: { permission: 'billing:read' },
      schema: { tags: ['billing'], summary: 'The plans: base price, metered prices (integer cents) and the limits each sets' },
    }, async () => ({ data: PLAN_NAMES.map((n) => PLANS[n]) }));

    r.get('/v1/billing/subscription', {
      config: { permission: 'billing:read' },
      schema: { tags: ['billing'], summary: 'The organization\'s current subscription and the plan in force (free without one)' },
    }, async (req) => getSubscription(deps, principal(req).orgId));

    r.put('/v1/billing/subscription', {
      config: { permission: 'billing:write' },
      schema: {
        tags: ['billing'],
        summary: 'Subscribe, upgrade or downgrade, effective now: the plan\'s limits apply from this call (201 when it made the subscription)',
        body: z.strictObject({
          plan: z.enum(PLAN_NAMES),
          trialDays: z.number().int().min(1).max(90).optional().describe('a trial for a new subscription to a paid plan, 1..90 days'),
        }),
      },
    }, async (req, reply) => {
      const out = await changePlan(deps, actor(req), { plan: req.body.plan, trialDays: req.body.trialDays });
      return reply.status(out.created ? 201 : 200).send(out.view);
    });

    r.post('/v1/billing/subscription/cancel', {
      config: { permission: 'billing:write' },
      schema: {
        tags: ['billing'],
        summary: 'Cancel at the end of the current period; then the organization falls back to free',
        body: z.strictObject({ reason: z.string().trim().min(1).max(1000).optional() }).nullish(),
      },
    }, async (req) => cancelSubscription(deps, actor(req), req.body?.reason));

    r.post('/v1/billing/subscription/resume', {
      config: { permission: 'billing:write' },
      schema: { tags: ['billing'], summary: 'Undo a cancellation that has not taken effect yet' },
    }, async (req) => resumeSubscription(deps, actor(req)));

    r.get('/v1/billing/usage', {
      config: { permission: 'billing:read' },
      schema: {
        tags: ['billing'],
        summary: 'Usage of a month (UTC): its usage record once the month closed, else measured now',
        querystring: z.strictObject({ period: Month.optional().describe('YYYY-MM; default: the current month') }),
      },
    }, async (req) => usageView(deps, principal(req).orgId, req.query.period));

    r.get('/v1/billing/invoices', {
      config: { permission: 'billing:read' },
      schema: {
        tags: ['billing'],
        summary: 'Invoices, newest period first',
        querystring: z.strictObject({ ...pageQuery, status: z.enum(INVOICE_STATUSES).optional() }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await listInvoices(deps, principal(req).orgId, { status: q.status, before: decodeCursor(q.cursor, Cursor), limit: q.limit + 1 });
      return page(rows, q.limit, (x) => ({ periodStart: x.periodStart, id: x.id }));
    });

    r.get('/v1/billing/invoices/:id', {
      config: { permission: 'billing:read' },
      schema: { tags: ['billing'], summary: 'One invoice with its lines (amounts in integer cents)', params: IdParams },
    }, async (req) => getInvoice(deps, principal(req).orgId, req.params.id));

    r.get('/v1/billing/invoices/:id/download', {
      config: { permission: 'billing:read' },
      schema: {
        tags: ['billing'],
        summary: 'The invoice as a file: JSON, or a standalone printable HTML page',
        params: IdParams,
        querystring: z.strictObject({ format: z.enum(['json', 'html']).default('html') }),
      },
    }, async (req, reply) => {
      const inv = await getInvoice(deps, principal(req).orgId, req.params.id);
      const name = inv.invoiceNumber.replace(/[^A-Za-z0-9-]/g, '_');
      void reply.header('content-disposition', `attachment; filename="${name}.${req.query.format}"`);
      void reply.header('x-content-type-options', 'nosniff');
      if (req.query.format === 'json') return reply.type('application/json; charset=utf-8').send(JSON.stringify(invoiceJson(inv), null, 2));
      void reply.header('content-security-policy', DOCUMENT_CSP);
      return reply.type('text/html; charset=utf-8').send(invoiceHtml(inv));
    });

    r.post('/v1/billing/invoices/:id/pay', {
      config: { permission: 'billing:write' },
      schema: {
        tags: ['billing'],
        summary: 'Charge an open invoice through the payment provider (402 payment_failed when declined: the invoice stays open, the subscription becomes past_due)',
        params: IdParams,
      },
    }, async (req) => payInvoice(deps, actor(req), req.params.id));

    r.post('/v1/billing/invoices/:id/void', {
      config: { permission: 'billing:write' },
      schema: { tags: ['billing'], summary: 'Void a draft or open invoice (paid and void ones answer 409)', params: IdParams },
    }, async (req) => voidInvoice(deps, actor(req), req.params.id));
  };
}
