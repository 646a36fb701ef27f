import type { MeteredItem, Plan } from './plans.js';

/**
 * Invoice arithmetic, in integer cents with bigint: no float ever touches an
 * amount. Each line is rounded once (half up, to the cent); subtotal and total
 * are exact sums of rounded lines, so the lines always add up to the total.
 */

/** round(n / d), halves up, for n ≥ 0 and d > 0 */
export function divRoundHalfUp(n: bigint, d: bigint): bigint {
  if (n < 0n || d <= 0n) throw new RangeError('divRoundHalfUp takes n >= 0 and d > 0');
  return (2n * n + d) / (2n * d);
}

/** A period's usage, as the usage record holds it. */
export interface UsageFigures {
  runs: number;
  ingestedSpans: number;
  inputTokens: number;
  outputTokens: number;
  tokensUsed: number;
  /** the ledger's priced LLM cost, numeric as text (exact) */
  llmCostUsd: string;
  storageBytes: number;
  seats: number;
}

export const USAGE_OF_ITEM: Record<MeteredItem, (u: UsageFigures) => number> = {
  runs: (u) => u.runs,
  ingested_spans: (u) => u.ingestedSpans,
  tokens: (u) => u.tokensUsed,
  storage: (u) => u.storageBytes,
  seats: (u) => u.seats,
};

export interface PricedLine {
  position: number;
  item: 'base' | MeteredItem;
  description: string;
  quantity: bigint;
  includedQuantity: bigint;
  billableQuantity: bigint;
  unitSize: bigint;
  unitPriceCents: bigint;
  amountCents: bigint;
}

export interface PricedInvoice {
  lines: PricedLine[];
  subtotalCents: bigint;
  taxRateBps: number;
  taxCents: bigint;
  totalCents: bigint;
}

/** What part of the period is charged the base price: the days not in a trial. */
export interface BaseDays {
  billedDays: number;
  daysInMonth: number;
}

const DESCRIPTIONS: Record<MeteredItem, string> = {
  runs: 'Runs',
  ingested_spans: 'Ingested spans',
  tokens: 'LLM tokens (input + output)',
  storage: 'Storage (estimated bytes)',
  seats: 'Seats (members)',
};

export function priceInvoice(plan: Plan, usage: UsageFigures, base: BaseDays, taxRateBps: number): PricedInvoice {
  const lines: PricedLine[] = [];
  const days = BigInt(Math.max(0, Math.min(base.billedDays, base.daysInMonth)));
  lines.push({
    position: 1,
    item: 'base',
    description: `${plan.title} plan, ${days} of ${base.daysInMonth} days`,
    quantity: days,
    includedQuantity: 0n,
    billableQuantity: days,
    unitSize: BigInt(base.daysInMonth),
    unitPriceCents: BigInt(plan.basePriceCents),
    amountCents: divRoundHalfUp(days * BigInt(plan.basePriceCents), BigInt(base.daysInMonth)),
  });
  for (const m of plan.metered) {
    const quantity = BigInt(USAGE_OF_ITEM[m.item](usage));
    const included = BigInt(m.included);
    const billable = quantity > included ? quantity - included : 0n;
    lines.push({
      position: lines.length + 1,
      item: m.item,
      description: `${DESCRIPTIONS[m.item]} over ${m.included.toLocaleString('en-US')} included, per ${m.unit}`,
      quantity,
      includedQuantity: included,
      billableQuantity: billable,
      unitSize: BigInt(m.unitSize),
      unitPriceCents: BigInt(m.unitPriceCents),
      amountCents: divRoundHalfUp(billable * BigInt(m.unitPriceCents), BigInt(m.unitSize)),
    });
  }
  const subtotalCents = lines.reduce((s, l) => s + l.amountCents, 0n);
  const taxCents = divRoundHalfUp(subtotalCents * BigInt(taxRateBps), 10_000n);
  return { lines, subtotalCents, taxRateBps, taxCents, totalCents: subtotalCents + taxCents };
}

/** Cents as a plain decimal string, "1234" → "12.34" (documents; never parsed back). */
export function centsText(cents: bigint): string {
  const neg = cents < 0n;
  const a = neg ? -cents : cents;
  return `${neg ? '-' : ''}${a / 100n}.${(a % 100n).toString().padStart(2, '0')}`;
}
