import { notFound } from '../errors.js';
import { findSession, matchKeysOf } from '../sessions/index.js';
import type { RunsDeps } from './deps.js';
import * as repo from './timeline-repo.js';
import type { TimelineQuery } from './timeline-repo.js';

/**
 * A session's timeline: its executions (run by the runtime or ingested),
 * decisions and messages in time order. The session is named by its id or by
 * the application's key for it.
 */
export function sessionTimeline(deps: RunsDeps, orgId: string, ref: string, page: Omit<TimelineQuery, 'sessionKeys'>) {
  return deps.db.tenant(orgId, async (sql) => {
    const session = await findSession(sql, orgId, ref);
    if (!session) throw notFound('session', ref);
    const entries = await repo.sessionTimeline(sql, orgId, { ...page, sessionKeys: matchKeysOf(session) });
    return { session, entries };
  });
}
