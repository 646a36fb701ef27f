/**
 * Billing periods are calendar months (UTC): the months usage_counters and
 * cost_daily count in, so a period's usage is read, never apportioned. A
 * subscription's first period runs from its creation to the next month's
 * start.
 */

export const DAY_MS = 86_400_000;

export const monthStart = (d: Date, add = 0): Date => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + add, 1));
export const dayText = (d: Date): string => d.toISOString().slice(0, 10);
export const monthText = (d: Date): string => d.toISOString().slice(0, 7);
export const daysInMonth = (d: Date): number => Math.round((monthStart(d, 1).getTime() - monthStart(d).getTime()) / DAY_MS);

/** The month named YYYY-MM, as its first instant. */
export const parseMonth = (m: string): Date => new Date(`${m}-01T00:00:00Z`);

/**
 * Days of [from, to) charged the base price: those after the trial. A
 * started day counts whole (ceil), capped at the month's days.
 */
export function billedDays(from: Date, to: Date, trialEnd: Date | null): number {
  const start = trialEnd && trialEnd > from ? trialEnd : from;
  if (start >= to) return 0;
  return Math.min(daysInMonth(from), Math.ceil((to.getTime() - start.getTime()) / DAY_MS));
}
