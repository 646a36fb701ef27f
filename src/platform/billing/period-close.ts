import { appendAudit, type Actor } from '../../audit/index.js';
import type { Database, Sql } from '../../db/index.js';
import { enqueue, type JobHandler } from '../../jobs/index.js';
import { clock, type BillingDeps } from './deps.js';
import { issueInvoiceIn } from './invoices-service.js';
import { monthStart } from './period.js';
import * as subs from './subscriptions-repo.js';
import { applyPlanLimits } from './subscriptions-service.js';
import { recordUsageIn } from './usage-service.js';

/**
 * Period end, as a job on the job queue: maintenance (server.ts maintain())
 * asks which subscriptions have something due and enqueues one
 * `billing.close_period` job per organization and due moment (an idempotency
 * key), and the job does, in one tenant transaction, everything due up to
 * its clock: a trial that ended becomes active; a period that ended gets its
 * usage record and its invoice, then either renews for the next month or, if
 * canceled at period end, ends (status canceled, the organization back on
 * free's limits). Running it twice does nothing the second time: the
 * subscription has moved on, and invoices are one per organization and month.
 */

export const BILLING_CLOSE_TASK = 'billing.close_period';
const QUEUE = 'billing';

export interface CloseReport {
  trialsEnded: number;
  periodsClosed: number;
  invoiceIds: string[];
  canceled: boolean;
}

/** At most this many periods in one go (an organization missed by maintenance for twenty years). */
const MAX_STEPS = 240;

export function closeDuePeriods(deps: BillingDeps, orgId: string, now = clock(deps)): Promise<CloseReport> {
  return deps.db.tenant(orgId, (sql) => closeDueIn(deps, sql, orgId, now));
}

async function closeDueIn(deps: BillingDeps, sql: Sql, orgId: string, now: Date): Promise<CloseReport> {
  const actor: Actor = { orgId, actorType: 'system', userId: null };
  const report: CloseReport = { trialsEnded: 0, periodsClosed: 0, invoiceIds: [], canceled: false };
  let sub = await subs.lockCurrent(sql, orgId);
  for (let step = 0; sub && step < MAX_STEPS; step++) {
    if (sub.status === 'trialing' && sub.trialEnd && sub.trialEnd <= now && sub.trialEnd <= sub.currentPeriodEnd) {
      sub = await subs.updateSubscription(sql, orgId, sub.id, { status: 'active' });
      await appendAudit(sql, actor, {
        action: 'subscription.trial_ended', resourceType: 'subscription', resourceId: sub.id,
        oldValues: { status: 'trialing' }, newValues: { status: 'active', trialEnd: sub.trialEnd!.toISOString() },
      });
      report.trialsEnded++;
      continue;
    }
    if (sub.currentPeriodEnd > now) break;
    const end = sub.currentPeriodEnd;
    const usage = await recordUsageIn(sql, orgId, sub.currentPeriodStart);
    // free has nothing to charge (hard limits, no metered prices): no invoice.
    if (sub.plan !== 'free') {
      const inv = await issueInvoiceIn(deps, sql, orgId, sub, usage, now);
      if (inv) report.invoiceIds.push(inv.id);
    }
    report.periodsClosed++;
    if (sub.cancelAtPeriodEnd) {
      sub = await subs.updateSubscription(sql, orgId, sub.id, { status: 'canceled', canceledAt: end });
      await applyPlanLimits(sql, orgId, 'free');
      await appendAudit(sql, actor, {
        action: 'subscription.canceled', resourceType: 'subscription', resourceId: sub.id,
        oldValues: { plan: sub.plan }, newValues: { status: 'canceled', canceledAt: end.toISOString(), plan: 'free' },
      });
      report.canceled = true;
      break;
    }
    sub = await subs.updateSubscription(sql, orgId, sub.id, { periodStart: end, periodEnd: monthStart(end, 1) });
    await appendAudit(sql, actor, {
      action: 'subscription.renewed', resourceType: 'subscription', resourceId: sub.id,
      newValues: { currentPeriodStart: sub.currentPeriodStart.toISOString(), currentPeriodEnd: sub.currentPeriodEnd.toISOString() },
    });
  }
  return report;
}

/** The job queue's handlers of billing (src/server.ts registers them). */
export function billingJobHandlers(deps: BillingDeps): Record<string, JobHandler> {
  return { [BILLING_CLOSE_TASK]: (job) => closeDuePeriods(deps, job.orgId) };
}

/**
 * Maintenance: one close job per organization with something due, keyed by
 * the due moment, so maintenance passes before the job runs enqueue nothing
 * more. Returns how many jobs were new.
 */
export async function enqueueDueBillingJobs(db: Database, now = new Date()): Promise<number> {
  const due = await db.transaction(async (sql) =>
    (await sql.query<{ org_id: string; due_at: Date }>(`SELECT org_id, due_at FROM billing_due_subscriptions($1)`, [now.toISOString()])).rows);
  let created = 0;
  for (const d of due) {
    const r = await enqueue({ db }, d.org_id, {
      queue: QUEUE, task: BILLING_CLOSE_TASK, payload: { dueAt: new Date(d.due_at).toISOString() },
      idempotencyKey: `${BILLING_CLOSE_TASK}:${new Date(d.due_at).toISOString()}`,
    });
    if (r.created) created++;
  }
  return created;
}
