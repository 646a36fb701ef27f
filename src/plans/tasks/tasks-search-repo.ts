import type { Sql } from '../../db/index.js';
import type { TaskFilter } from './tasks-query-repo.js';
import { TASK_COLUMNS, type TaskRow } from './tasks-repo.js';

/**
 * At most this many tasks matching the words are ranked (task_text_hits,
 * migration 0019): a query matching more ranks the first ones the index
 * finds and the answer says so (`partial`). Ranking reads every matching row;
 * as for knowledge (TEXT_RANK_MAX there), 1,000 keeps a broad word cheap.
 * More words or a filter narrow such a query.
 */
export const TASK_RANK_MAX = 1000;

export interface TaskHit extends TaskRow {
  /** ts_rank of the words against title and description */
  score: number;
}

export interface TaskSearchPage {
  rows: TaskHit[];
  /** more tasks matched than were ranked */
  partial: boolean;
}

/**
 * Tasks matching websearch words (`"exact phrase"`, `-without`, `or`), best
 * first, skipping `offset` of them. task_text_hits matches through the GIN
 * index (which RLS keeps from this role: @@ is not leakproof), applies the
 * tenant and the filters, and returns ids and scores; this statement reads
 * the tasks back under RLS, in the function's order.
 */
export async function searchTasks(sql: Sql, orgId: string, query: string, f: TaskFilter, offset: number, limit: number): Promise<TaskSearchPage> {
  const r = await sql.query<TaskHit & { ranked: number }>(
    `WITH hits AS (
       SELECT h.id, h.text_score, h.ranked
       FROM task_text_hits($2::text, $3::uuid, $4::uuid, $5::uuid, $6::text, $7::date, $8::boolean, $9::int, $10::int) h)
     SELECT ${TASK_COLUMNS('t')}, h.text_score::float8 AS score, h.ranked::int AS ranked
     FROM hits h JOIN tasks t ON t.id = h.id AND t.org_id = $1 AND t.deleted_at IS NULL
     ORDER BY h.text_score DESC, h.id OFFSET $11 LIMIT $12`,
    [orgId, query, f.userId ?? null, f.projectId ?? null, f.listId ?? null, f.status ?? null, f.dueBefore ?? null,
      f.overdue ?? false, offset + limit, TASK_RANK_MAX, offset, limit],
  );
  const partial = (r.rows[0]?.ranked ?? 0) >= TASK_RANK_MAX;
  return { rows: r.rows.map(({ ranked: _ranked, ...row }) => row), partial };
}
