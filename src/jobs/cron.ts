import type * as CronParser from 'cron-parser';
import { lazyRequire } from '../lazy-require.js';

// Loaded by the first schedule created or due.
const cronParser = lazyRequire<typeof CronParser>('cron-parser');

/**
 * Cron schedules: standard 5-field expressions (minute hour day-of-month month
 * day-of-week) in an IANA time zone, read by cron-parser. Its extensions that
 * standard cron has (L, W, #, names) are accepted; a seconds or year field and
 * the hashed H (random without a seed, so two processes would disagree) are not.
 * Like cron, a day-of-month and a day-of-week both restricted match either.
 */

/** Why the expression is not usable, or null when it is. */
export function cronProblem(expr: string): string | null {
  const fields = expr.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) return `must have 5 fields (minute hour day-of-month month day-of-week), not ${fields.length}`;
  if (fields.some((f) => /(^|[,(/-])h/i.test(f))) return 'the hashed value H is not supported';
  try {
    cronParser().CronExpressionParser.parse(expr, { tz: 'UTC', currentDate: new Date() }).next();
    return null;
  } catch (err) {
    return `is not a valid cron expression: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Why the time zone is not usable, or null when it is. */
export function timezoneProblem(tz: string): string | null {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return null;
  } catch {
    return 'must be an IANA time zone such as UTC or Europe/Berlin';
  }
}

/** The first slot strictly after `after`. */
export function nextCronRun(expr: string, timezone: string, after: Date): Date {
  return cronParser().CronExpressionParser.parse(expr, { tz: timezone, currentDate: after }).next().toDate();
}
