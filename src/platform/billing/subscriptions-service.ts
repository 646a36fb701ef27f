import { appendAudit, type Actor } from '../../audit/index.js';
import { uuidv7, type Sql } from '../../db/index.js';
import { AppError, badRequest, conflict, notFound } from '../../errors.js';
import { getOrganization, setOrganizationLimits } from '../../identity/index.js';
import { clock, type BillingDeps } from './deps.js';
import { DAY_MS, monthStart } from './period.js';
import { PLANS, type PlanName } from './plans.js';
import * as repo from './subscriptions-repo.js';
import type { SubscriptionRow } from './subscriptions-repo.js';

export interface SubscriptionView {
  /** the plan in force: the current subscription's, or free without one */
  plan: PlanName;
  subscription: Omit<SubscriptionRow, 'providerCustomerId'> | null;
}

const view = (row: SubscriptionRow | undefined): SubscriptionView => {
  if (!row) return { plan: 'free', subscription: null };
  const { providerCustomerId: _hidden, ...s } = row;
  return { plan: row.plan, subscription: s };
};

/** Writes the plan's limits onto the organization, in the caller's transaction: from its commit the quota checks enforce them. */
export async function applyPlanLimits(sql: Sql, orgId: string, plan: PlanName): Promise<void> {
  if (!(await setOrganizationLimits(sql, orgId, PLANS[plan].limits))) throw notFound('organization', orgId);
}

export function getSubscription(deps: BillingDeps, orgId: string): Promise<SubscriptionView> {
  return deps.db.tenant(orgId, async (sql) => view(await repo.getCurrent(sql, orgId)));
}

export interface PlanChange {
  plan: PlanName;
  trialDays?: number | undefined;
}

const TRIAL_MAX_DAYS = 90;

/**
 * Subscribes, upgrades or downgrades, effective now: the organization's
 * limits are the new plan's from this transaction's commit. A trial is only
 * for a first paid plan (no subscription yet, or a free one never trialed). The period is not restarted by a
 * change: the invoice at its end bills the plan then in force (see README).
 */
export async function changePlan(
  deps: BillingDeps, actor: Actor, input: PlanChange, now = clock(deps),
): Promise<{ view: SubscriptionView; created: boolean }> {
  const trialDays = input.trialDays;
  if (trialDays !== undefined) {
    if (input.plan === 'free') throw badRequest('a trial is for a paid plan; leave out trialDays for free', { field: 'trialDays' });
    if (!Number.isInteger(trialDays) || trialDays < 1 || trialDays > TRIAL_MAX_DAYS) {
      throw badRequest(`trialDays must be a whole number of days from 1 to ${TRIAL_MAX_DAYS}`, { field: 'trialDays' });
    }
  }
  return deps.db.tenant(actor.orgId, async (sql) => {
    const current = await repo.lockCurrent(sql, actor.orgId);
    if (!current) {
      const created = await subscribe(deps, sql, actor, input.plan, trialDays, now);
      return { view: view(created), created: true };
    }
    // A trial is for an organization's first paid plan: from no subscription, or from a free one that never had a trial.
    const trialEnd = trialDays === undefined ? undefined : new Date(now.getTime() + trialDays * DAY_MS);
    if (trialEnd && (current.plan !== 'free' || current.trialEnd !== null)) {
      throw conflict('a trial starts only with a first paid plan, and this organization already has one (or had a trial); change the plan without trialDays', {
        subscriptionId: current.id,
      });
    }
    if (current.plan === input.plan) return { view: view(current), created: false };
    const updated = await repo.updateSubscription(sql, actor.orgId, current.id, {
      plan: input.plan, ...(trialEnd ? { status: 'trialing' as const, trialStart: now, trialEnd } : {}),
    });
    await applyPlanLimits(sql, actor.orgId, input.plan);
    await appendAudit(sql, actor, {
      action: 'subscription.plan_changed', resourceType: 'subscription', resourceId: current.id,
      oldValues: { plan: current.plan }, newValues: { plan: input.plan, limits: PLANS[input.plan].limits, ...(trialEnd ? { trialEnd: trialEnd.toISOString() } : {}) },
    });
    return { view: view(updated), created: false };
  });
}

async function subscribe(
  deps: BillingDeps, sql: Sql, actor: Actor, plan: PlanName, trialDays: number | undefined, now: Date,
): Promise<SubscriptionRow> {
  const org = await getOrganization(sql, actor.orgId);
  if (!org) throw notFound('organization', actor.orgId);
  const customerId = (await repo.previousCustomer(sql, actor.orgId, deps.provider.name))
    ?? (await deps.provider.createCustomer({ id: org.id, name: org.name })).customerId;
  const trialEnd = trialDays === undefined ? null : new Date(now.getTime() + trialDays * DAY_MS);
  const row = await repo.insertSubscription(sql, actor.orgId, {
    id: uuidv7(), plan, status: trialEnd ? 'trialing' : 'active', paymentProvider: deps.provider.name, providerCustomerId: customerId,
    periodStart: now, periodEnd: monthStart(now, 1), trialEnd,
  });
  if (!row) throw conflict('another request subscribed this organization at the same moment; read GET /v1/billing/subscription and retry');
  await applyPlanLimits(sql, actor.orgId, plan);
  await appendAudit(sql, actor, {
    action: 'subscription.created', resourceType: 'subscription', resourceId: row.id,
    newValues: { plan, status: row.status, trialEnd: row.trialEnd?.toISOString() ?? null, limits: PLANS[plan].limits },
  });
  return row;
}

async function lockOrRefuse(sql: Sql, orgId: string): Promise<SubscriptionRow> {
  const current = await repo.lockCurrent(sql, orgId);
  if (!current) throw new AppError(409, 'conflict', 'this organization has no subscription (it is on free); subscribe with PUT /v1/billing/subscription');
  return current;
}

/** Cancels at the end of the current period: until then nothing changes; then the organization falls back to free. */
export function cancelSubscription(deps: BillingDeps, actor: Actor, reason: string | undefined): Promise<SubscriptionView> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const current = await lockOrRefuse(sql, actor.orgId);
    if (current.plan === 'free') throw conflict('the subscription is on free, which has nothing to cancel');
    if (current.cancelAtPeriodEnd) {
      throw conflict(`the subscription is already canceled at its period end (${current.currentPeriodEnd.toISOString()}); POST /v1/billing/subscription/resume undoes that`);
    }
    const updated = await repo.updateSubscription(sql, actor.orgId, current.id, {
      cancelAtPeriodEnd: true, cancelAt: current.currentPeriodEnd, cancellationReason: reason ?? null,
    });
    await appendAudit(sql, actor, {
      action: 'subscription.cancel_scheduled', resourceType: 'subscription', resourceId: current.id,
      newValues: { cancelAt: current.currentPeriodEnd.toISOString(), reason: reason ?? null },
    });
    return view(updated);
  });
}

/** Undoes a cancellation that has not happened yet. */
export function resumeSubscription(deps: BillingDeps, actor: Actor): Promise<SubscriptionView> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const current = await lockOrRefuse(sql, actor.orgId);
    if (!current.cancelAtPeriodEnd) throw conflict('the subscription is not canceled; there is nothing to resume');
    const updated = await repo.updateSubscription(sql, actor.orgId, current.id, {
      cancelAtPeriodEnd: false, cancelAt: null, cancellationReason: null,
    });
    await appendAudit(sql, actor, {
      action: 'subscription.resumed', resourceType: 'subscription', resourceId: current.id,
      oldValues: { cancelAt: current.cancelAt?.toISOString() ?? null },
    });
    return view(updated);
  });
}
