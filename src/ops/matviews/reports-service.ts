import type { Database, Sql } from '../../db/index.js';
import * as repo from './reports-repo.js';
import type { AgentPerformanceRow, DailyCostRow, DailyCostsBy } from './reports-repo.js';

/**
 * Tenant reports from the materialized views: as fresh as their last refresh,
 * which each answer carries (refreshedAt; null before the first). A view not
 * yet populated answers no rows rather than an error.
 */

export interface Report<T> {
  refreshedAt: string | null;
  data: T[];
  /** more rows matched than the limit */
  truncated: boolean;
}

async function report<T>(db: Database, orgId: string, matview: string, limit: number, read: (sql: Sql) => Promise<T[]>): Promise<Report<T>> {
  return db.tenant(orgId, async (sql) => {
    const at = await repo.refreshedAt(sql, matview);
    if (!(await repo.populated(sql, matview))) return { refreshedAt: at?.toISOString() ?? null, data: [], truncated: false };
    const rows = await read(sql);
    return { refreshedAt: at?.toISOString() ?? null, data: rows.slice(0, limit), truncated: rows.length > limit };
  });
}

export function dailyCostsReport(
  db: Database, orgId: string, by: DailyCostsBy, q: { from: string; to: string; id?: string | undefined; limit: number },
): Promise<Report<DailyCostRow>> {
  return report(db, orgId, repo.DAILY_COST_VIEWS[by].matview, q.limit, (sql) => repo.dailyCosts(sql, by, { ...q, limit: q.limit + 1 }));
}

export function agentPerformanceReport(db: Database, orgId: string, q: { agentId?: string | undefined; limit: number }): Promise<Report<AgentPerformanceRow>> {
  return report(db, orgId, 'mv_agent_performance', q.limit, (sql) => repo.agentPerformance(sql, q.agentId, q.limit + 1));
}
