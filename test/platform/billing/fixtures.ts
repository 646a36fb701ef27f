import { expect } from 'vitest';
import { billingDeps, offlineProvider, type BillingDeps } from '../../../src/platform/index.js';
import type { SignedUp, TestApp } from '../../helpers/app.js';

export type Auth = { authorization: string };

/** Billing's services on the test database, with a clock the test sets (the period-close job and pay take `now` from it). */
export function deps(t: TestApp, over: Partial<BillingDeps> & { at?: Date } = {}): BillingDeps {
  const { at, ...rest } = over;
  return { ...billingDeps(t.db, t.config.billing), ...(at ? { now: () => at } : {}), ...rest };
}
export const decliningProvider = () => offlineProvider({ decline: true });

export const monthStart = (d: Date, add = 0) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + add, 1));
export const dayText = (d: Date) => d.toISOString().slice(0, 10);
/** An hour into the next month: the current period has ended. */
export const nextMonth = (add = 1) => new Date(monthStart(new Date(), add).getTime() + 3_600_000);

export async function orgLimits(t: TestApp, orgId: string) {
  const r = await t.db.admin.query<Record<string, number>>(
    `SELECT max_agents AS "maxAgents", max_executions_per_month AS "maxExecutionsPerMonth", max_team_members AS "maxTeamMembers",
       max_ingested_spans_per_month::float8 AS "maxIngestedSpansPerMonth", max_ingested_spans_per_second AS "maxIngestedSpansPerSecond"
     FROM organizations WHERE id = $1`,
    [orgId],
  );
  return r.rows[0]!;
}

/** Sets a month's usage counter of the usage module (fixture data: the counters are what the quotas and billing read). */
export async function setCounter(t: TestApp, orgId: string, metric: 'runs' | 'ingested_spans', value: number, month = monthStart(new Date())) {
  await t.db.admin.query(
    `INSERT INTO usage_counters (org_id, period, metric, shard, value) VALUES ($1, $2, $3, 0, $4)
     ON CONFLICT (org_id, period, metric, shard) DO UPDATE SET value = EXCLUDED.value`,
    [orgId, dayText(month), metric, value],
  );
}

export async function rows(t: TestApp, table: 'subscriptions' | 'usage_records' | 'invoices' | 'invoice_lines', orgId?: string): Promise<number> {
  const r = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ($1::uuid IS NULL OR org_id = $1)`, [orgId ?? null]);
  return r.rows[0]!.n;
}

export async function billingCounts(t: TestApp) {
  return {
    subscriptions: await rows(t, 'subscriptions'), usage_records: await rows(t, 'usage_records'),
    invoices: await rows(t, 'invoices'), invoice_lines: await rows(t, 'invoice_lines'),
  };
}

export const actorOf = (u: SignedUp) => ({ orgId: u.orgId, actorType: 'user' as const, userId: u.userId });

export function expectCode(res: { statusCode: number; json(): unknown }, status: number, code: string) {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(status);
  expect((res.json() as { error: { code: string } }).error.code).toBe(code);
}
