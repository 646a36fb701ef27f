import type { Sql } from '../../db/index.js';
import type { PlanName } from './plans.js';

/** SQL of subscriptions (migration 0024). Every function runs in a tenant transaction of orgId. */

export type SubscriptionStatus = 'trialing' | 'active' | 'past_due' | 'canceled';

export interface SubscriptionRow {
  id: string;
  plan: PlanName;
  status: SubscriptionStatus;
  paymentProvider: string;
  providerCustomerId: string;
  currentPeriodStart: Date;
  currentPeriodEnd: Date;
  trialStart: Date | null;
  trialEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: Date | null;
  canceledAt: Date | null;
  cancellationReason: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, plan, status, payment_provider AS "paymentProvider", provider_customer_id AS "providerCustomerId",
  current_period_start AS "currentPeriodStart", current_period_end AS "currentPeriodEnd",
  trial_start AS "trialStart", trial_end AS "trialEnd", cancel_at_period_end AS "cancelAtPeriodEnd",
  cancel_at AS "cancelAt", canceled_at AS "canceledAt", cancellation_reason AS "cancellationReason",
  version, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The current (not canceled) subscription, locked until the transaction ends so changes to it take turns. */
export async function lockCurrent(sql: Sql, orgId: string): Promise<SubscriptionRow | undefined> {
  const r = await sql.query<SubscriptionRow>(
    `SELECT ${COLUMNS} FROM subscriptions WHERE org_id = $1 AND status <> 'canceled' FOR UPDATE`,
    [orgId],
  );
  return r.rows[0];
}

export async function getCurrent(sql: Sql, orgId: string): Promise<SubscriptionRow | undefined> {
  const r = await sql.query<SubscriptionRow>(`SELECT ${COLUMNS} FROM subscriptions WHERE org_id = $1 AND status <> 'canceled'`, [orgId]);
  return r.rows[0];
}

/** Any subscription of the organization, canceled ones too (an invoice names the one it billed). */
export async function getById(sql: Sql, orgId: string, id: string): Promise<SubscriptionRow | undefined> {
  const r = await sql.query<SubscriptionRow>(`SELECT ${COLUMNS} FROM subscriptions WHERE org_id = $1 AND id = $2`, [orgId, id]);
  return r.rows[0];
}

/** The customer id an earlier (canceled) subscription got from the provider, so one is made once per organization. */
export async function previousCustomer(sql: Sql, orgId: string, provider: string): Promise<string | undefined> {
  const r = await sql.query<{ id: string }>(
    `SELECT provider_customer_id AS id FROM subscriptions WHERE org_id = $1 AND payment_provider = $2
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    [orgId, provider],
  );
  return r.rows[0]?.id;
}

export interface NewSubscription {
  id: string;
  plan: PlanName;
  status: 'trialing' | 'active';
  paymentProvider: string;
  providerCustomerId: string;
  periodStart: Date;
  periodEnd: Date;
  trialEnd: Date | null;
}

/** Undefined when another current subscription won the race (the partial unique index). */
export async function insertSubscription(sql: Sql, orgId: string, s: NewSubscription): Promise<SubscriptionRow | undefined> {
  const r = await sql.query<SubscriptionRow>(
    `INSERT INTO subscriptions (id, org_id, payment_provider, provider_customer_id, provider_subscription_id, plan, status,
       current_period_start, current_period_end, trial_start, trial_end, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $10, $5, $6, $7, $8, CASE WHEN $9::timestamptz IS NULL THEN NULL ELSE $7::timestamptz END, $9, $7, $7)
     ON CONFLICT (org_id) WHERE status <> 'canceled' DO NOTHING
     RETURNING ${COLUMNS}`,
    [s.id, orgId, s.paymentProvider, s.providerCustomerId, s.plan, s.status, s.periodStart.toISOString(), s.periodEnd.toISOString(),
      s.trialEnd?.toISOString() ?? null, s.id],
  );
  return r.rows[0];
}

export interface SubscriptionChange {
  plan?: PlanName;
  status?: SubscriptionStatus;
  periodStart?: Date;
  periodEnd?: Date;
  trialStart?: Date;
  trialEnd?: Date;
  cancelAtPeriodEnd?: boolean;
  cancelAt?: Date | null;
  canceledAt?: Date | null;
  cancellationReason?: string | null;
}

// Allow-list from field to column: the only identifiers that reach the SQL text.
const CHANGE_COLUMNS: Record<keyof SubscriptionChange, string> = {
  plan: 'plan',
  status: 'status',
  periodStart: 'current_period_start',
  periodEnd: 'current_period_end',
  trialStart: 'trial_start',
  trialEnd: 'trial_end',
  cancelAtPeriodEnd: 'cancel_at_period_end',
  cancelAt: 'cancel_at',
  canceledAt: 'canceled_at',
  cancellationReason: 'cancellation_reason',
};

export async function updateSubscription(sql: Sql, orgId: string, id: string, c: SubscriptionChange): Promise<SubscriptionRow> {
  const sets: string[] = [];
  const params: unknown[] = [orgId, id];
  for (const [k, col] of Object.entries(CHANGE_COLUMNS) as [keyof SubscriptionChange, string][]) {
    const v = c[k];
    if (v === undefined) continue;
    params.push(v instanceof Date ? v.toISOString() : v);
    sets.push(`${col} = $${params.length}`);
  }
  if (!sets.length) sets.push('version = version');
  const r = await sql.query<SubscriptionRow>(
    `UPDATE subscriptions SET ${sets.join(', ')} WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    params,
  );
  const row = r.rows[0];
  if (!row) throw new Error(`subscription ${id} vanished under its lock`);
  return row;
}
