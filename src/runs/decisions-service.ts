import { clock, type RunsDeps } from './deps.js';
import * as repo from './decisions-repo.js';
import type { DecisionFilter, DecisionRow, DecisionStat } from './decisions-repo.js';
import { checkRangeOrder } from './query-range.js';
import { withSessionKeys } from './session-filter.js';

export type { DecisionFilter, DecisionRow, DecisionStat } from './decisions-repo.js';

const STATS_DEFAULT_MS = 30 * 86_400_000;

/** Decisions newest first; the caller asks for limit + 1 and pages on (cursorAt, id). */
export function listDecisions(
  deps: RunsDeps,
  orgId: string,
  f: DecisionFilter & { sessionId?: string | undefined },
): Promise<Array<DecisionRow & { cursorAt: string }>> {
  checkRangeOrder(f.from, f.to);
  return deps.db.tenant(orgId, async (sql) => repo.listDecisions(sql, await withSessionKeys(sql, orgId, f)));
}

/**
 * Per decision type over [from, to): by default the 30 days before to, and
 * with no to, everything since from, as v_decision_analytics counts (it has
 * no upper bound, so decisions dated ahead are included).
 */
export async function decisionStats(
  deps: RunsDeps,
  orgId: string,
  q: { from?: string | undefined; to?: string | undefined },
): Promise<{ from: Date; to: Date | null; data: DecisionStat[] }> {
  checkRangeOrder(q.from, q.to);
  const to = q.to ? new Date(q.to) : null;
  const from = q.from ? new Date(q.from) : new Date((to ?? clock(deps)).getTime() - STATS_DEFAULT_MS);
  const data = await deps.db.tenant(orgId, (sql) => repo.decisionStats(sql, from.toISOString(), to?.toISOString() ?? null));
  return { from, to, data };
}
