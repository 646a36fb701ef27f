import type { PlanLimits } from '../../identity/index.js';

/**
 * The plan catalogue, as code constants rather than a table: prices and
 * limits are product decisions released (and tested) with the code that
 * charges them; every invoice line copies the unit price it used, so an old
 * invoice never depends on today's catalogue; and the migration's CHECKs keep
 * plan names valid in the database. Prices are integer cents (USD).
 *
 * free's limits are exactly the organizations columns' defaults (0002, 0013),
 * so an organization without a subscription already is on free.
 */

export const PLAN_NAMES = ['free', 'pro', 'enterprise'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

export const METERED_ITEMS = ['runs', 'ingested_spans', 'tokens', 'storage', 'seats'] as const;
export type MeteredItem = (typeof METERED_ITEMS)[number];

/** A metered price: unitPriceCents per unitSize units used beyond `included` in a period. */
export interface MeteredPrice {
  item: MeteredItem;
  included: number;
  unitSize: number;
  unitPriceCents: number;
  /** what the unit is, for invoices and GET /v1/billing/plans */
  unit: string;
}

export interface Plan {
  name: PlanName;
  title: string;
  /** per monthly period; prorated by days for a partial period and a trial */
  basePriceCents: number;
  limits: PlanLimits;
  metered: MeteredPrice[];
}

const GB = 1_000_000_000;

export const PLANS: Record<PlanName, Plan> = {
  free: {
    name: 'free',
    title: 'Free',
    basePriceCents: 0,
    limits: { maxAgents: 10, maxExecutionsPerMonth: 1000, maxTeamMembers: 5, maxIngestedSpansPerMonth: 10_000_000, maxIngestedSpansPerSecond: 10_000 },
    // Hard limits and nothing metered: free never invoices.
    metered: [],
  },
  pro: {
    name: 'pro',
    title: 'Pro',
    basePriceCents: 4900,
    limits: { maxAgents: 100, maxExecutionsPerMonth: 50_000, maxTeamMembers: 20, maxIngestedSpansPerMonth: 100_000_000, maxIngestedSpansPerSecond: 50_000 },
    metered: [
      { item: 'runs', included: 10_000, unitSize: 1000, unitPriceCents: 200, unit: '1,000 runs' },
      { item: 'ingested_spans', included: 10_000_000, unitSize: 100_000, unitPriceCents: 25, unit: '100,000 spans' },
      { item: 'tokens', included: 10_000_000, unitSize: 1_000_000, unitPriceCents: 50, unit: '1M tokens' },
      { item: 'storage', included: 10 * GB, unitSize: GB, unitPriceCents: 25, unit: 'GB' },
      { item: 'seats', included: 5, unitSize: 1, unitPriceCents: 1000, unit: 'seat' },
    ],
  },
  enterprise: {
    name: 'enterprise',
    title: 'Enterprise',
    basePriceCents: 49_900,
    limits: { maxAgents: 1000, maxExecutionsPerMonth: 1_000_000, maxTeamMembers: 200, maxIngestedSpansPerMonth: 1_000_000_000, maxIngestedSpansPerSecond: 200_000 },
    metered: [
      { item: 'runs', included: 200_000, unitSize: 1000, unitPriceCents: 150, unit: '1,000 runs' },
      { item: 'ingested_spans', included: 100_000_000, unitSize: 100_000, unitPriceCents: 20, unit: '100,000 spans' },
      { item: 'tokens', included: 100_000_000, unitSize: 1_000_000, unitPriceCents: 40, unit: '1M tokens' },
      { item: 'storage', included: 100 * GB, unitSize: GB, unitPriceCents: 20, unit: 'GB' },
      { item: 'seats', included: 25, unitSize: 1, unitPriceCents: 800, unit: 'seat' },
    ],
  },
};

export const planOf = (name: string): Plan => PLANS[name as PlanName] ?? PLANS.free;
