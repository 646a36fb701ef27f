import type { FastifyPluginAsync } from 'fastify';
import type { BillingConfig } from '../../config/index.js';
import type { Database } from '../../db/index.js';
import type { JobHandler } from '../../jobs/index.js';
import type { BillingDeps } from './deps.js';
import { providerFromConfig } from './payment-provider.js';
import { billingJobHandlers as handlers } from './period-close.js';
import { billingRoutes as routes } from './routes/billing-routes.js';

/**
 * Billing (seed 002's subscriptions, usage_records, invoices).
 *
 * Terminology:
 * - plan:         free | pro | enterprise (plans.ts): a base price per period,
 *                 metered prices over included amounts, and the limits it
 *                 writes onto the organization (the quotas enforce them).
 * - subscription: the organization's current plan and status (trialing,
 *                 active, past_due, canceled); none means free.
 * - period:       a calendar month (UTC); a subscription's first one starts
 *                 when it is made.
 * - usage record: one row per organization and month: runs, ingested spans,
 *                 tokens and LLM cost from the ledger and counters; storage
 *                 and seats measured when the month is recorded.
 * - invoice:      one per organization and month, issued by the period-close
 *                 job: lines in integer cents; draft → open → paid | void.
 * - provider:     the PaymentProvider that charges invoices (offline here).
 */

export type { BillingDeps } from './deps.js';
export type { PaymentProvider, ChargeRequest, ChargeResult } from './payment-provider.js';
export { offlineProvider } from './payment-provider.js';
export { PLANS, PLAN_NAMES, type Plan, type PlanName } from './plans.js';
export { priceInvoice, divRoundHalfUp, type UsageFigures } from './pricing.js';
export { escapeHtml, invoiceHtml } from './invoice-document.js';
export { BILLING_CLOSE_TASK, closeDuePeriods, enqueueDueBillingJobs, type CloseReport } from './period-close.js';
export { changePlan, cancelSubscription, resumeSubscription, getSubscription } from './subscriptions-service.js';
export { recordUsage, usageView } from './usage-service.js';
export { getInvoice, payInvoice, voidInvoice } from './invoices-service.js';

/** The deps the service wiring makes from configuration. */
export function billingDeps(db: Database, config: BillingConfig): BillingDeps {
  return { db, provider: providerFromConfig(config.provider), taxRateBps: config.taxRateBps };
}

export function billingRoutes(deps: BillingDeps): FastifyPluginAsync {
  return routes(deps);
}

export function billingJobHandlers(deps: BillingDeps): Record<string, JobHandler> {
  return handlers(deps);
}
