import { validationFailed } from '../errors.js';
import { clock, type RunsDeps } from './deps.js';
import { MESSAGE_STATUSES } from './ingest-schemas.js';
import * as repo from './messages-repo.js';
import type { MessageAggregate, MessageFilter, MessageRow } from './messages-repo.js';
import { checkRangeOrder } from './query-range.js';
import { withSessionKeys } from './session-filter.js';

export type { MessageFilter, MessageRow } from './messages-repo.js';

const HOUR = 3_600_000;
const STATS_DEFAULT_MS = 24 * HOUR;
export const STATS_MAX_DAYS = 31;
/** Bounds the answer for organizations that invent a message type per message. */
export const STATS_MAX_TYPES = 1000;

export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export interface MessageGroupStats {
  total: number;
  failed: number;
  /** (failed + timeout) / total; null with no messages. */
  failureRate: number | null;
  avgResponseTimeMs: number | null;
  p95ResponseTimeMs: number | null;
}

export interface MessageStats extends MessageGroupStats {
  from: Date;
  to: Date;
  byStatus: Record<MessageStatus, number>;
  byMessageType: Array<MessageGroupStats & { messageType: string }>;
  /** True when there were more than STATS_MAX_TYPES message types and only the most frequent are listed. */
  byMessageTypeTruncated: boolean;
}

function withRate<T extends MessageAggregate>(a: T): T & { failureRate: number | null } {
  return { ...a, failureRate: a.total ? a.failed / a.total : null };
}

/** Messages newest first; the caller asks for limit + 1 and pages on (cursorAt, id). */
export function listMessages(
  deps: RunsDeps,
  orgId: string,
  f: MessageFilter & { sessionId?: string | undefined },
): Promise<Array<MessageRow & { cursorAt: string }>> {
  checkRangeOrder(f.from, f.to);
  return deps.db.tenant(orgId, async (sql) => repo.listMessages(sql, await withSessionKeys(sql, orgId, f)));
}

/**
 * Over [from, to): by default the 24 hours before to, and to defaults to now.
 * The range is capped because the percentile sorts every message in it.
 */
export async function messageStats(
  deps: RunsDeps,
  orgId: string,
  q: { from?: string | undefined; to?: string | undefined },
): Promise<MessageStats> {
  const to = q.to ? new Date(q.to) : clock(deps);
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - STATS_DEFAULT_MS);
  if (from > to) {
    const message = q.to ? 'must not be after to' : 'must not be after to, which defaults to now';
    throw validationFailed(`query.from: ${message}`, [{ path: 'query.from', message }]);
  }
  if (to.getTime() - from.getTime() > STATS_MAX_DAYS * 24 * HOUR) {
    const message = `the range from..to must be at most ${STATS_MAX_DAYS} days (to defaults to now)`;
    throw validationFailed(`query.from: ${message}`, [{ path: 'query.from', message }]);
  }
  const [f, t] = [from.toISOString(), to.toISOString()];
  const { totals, statuses, types } = await deps.db.tenant(orgId, async (sql) => ({
    totals: await repo.messageTotals(sql, f, t),
    statuses: await repo.messageStatusCounts(sql, f, t),
    types: await repo.messageTypeStats(sql, f, t, STATS_MAX_TYPES + 1),
  }));
  const byStatus = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as Record<MessageStatus, number>;
  for (const s of statuses) byStatus[s.status as MessageStatus] = s.count;
  return {
    from,
    to,
    ...withRate(totals),
    byStatus,
    byMessageType: types.slice(0, STATS_MAX_TYPES).map(withRate),
    byMessageTypeTruncated: types.length > STATS_MAX_TYPES,
  };
}
