import type { Sql } from '../../db/index.js';
import { TASK_COLUMNS, type TaskRow, type TaskStatus } from './tasks-repo.js';

/** The filters GET /v1/tasks takes (with or without words). */
export interface TaskFilter {
  status?: TaskStatus | undefined;
  projectId?: string | undefined;
  listId?: string | undefined;
  userId?: string | undefined;
  /** due strictly before this date (YYYY-MM-DD) */
  dueBefore?: string | undefined;
  /** due before today and neither completed nor cancelled */
  overdue?: boolean | undefined;
}

/** Keyset cursors: in a list, by position; otherwise newest first. */
export type TaskCursor = { position: number } | { createdAt: string; id: string };

/**
 * Tasks of the organization, filtered. With listId: in list order (position,
 * along idx_tasks_list_position); otherwise newest first (idx_tasks_org_created,
 * or the user/status, project and overdue indexes when those filters narrow more).
 */
export async function listTasks(sql: Sql, orgId: string, f: TaskFilter, before: TaskCursor | undefined, limit: number): Promise<TaskRow[]> {
  const params: unknown[] = [orgId];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = ['t.org_id = $1', 't.deleted_at IS NULL'];
  if (f.status !== undefined) where.push(`t.status = ${p(f.status)}`);
  if (f.projectId !== undefined) where.push(`t.project_id = ${p(f.projectId)}::uuid`);
  if (f.listId !== undefined) where.push(`t.list_id = ${p(f.listId)}::uuid`);
  if (f.userId !== undefined) where.push(`t.user_id = ${p(f.userId)}::uuid`);
  if (f.dueBefore !== undefined) where.push(`t.due_date < ${p(f.dueBefore)}::date`);
  // The predicate of idx_tasks_overdue, plus the part that moves with the day.
  if (f.overdue) where.push(`t.status NOT IN ('completed', 'cancelled') AND t.due_date IS NOT NULL AND t.due_date < current_date`);
  let order: string;
  if (f.listId !== undefined) {
    if (before && 'position' in before) where.push(`t.position_in_list > ${p(before.position)}::int`);
    order = 't.position_in_list';
  } else {
    if (before && 'createdAt' in before) where.push(`(t.created_at, t.id) < (${p(before.createdAt)}::timestamptz, ${p(before.id)}::uuid)`);
    order = 't.created_at DESC, t.id DESC';
  }
  const r = await sql.query<TaskRow>(
    `SELECT ${TASK_COLUMNS('t')} FROM tasks t WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${p(limit)}`,
    params,
  );
  return r.rows;
}

/** Seed 004's user_activity_summary for one user, computed live. */
export interface ActivitySummary {
  userId: string;
  totalTasks: number;
  totalProjects: number;
  totalLists: number;
  completedTasks: number;
  /** created in the last 30 days */
  recentTasks: number;
  overdueTasks: number;
  /** the latest updatedAt of the user's tasks, projects and lists */
  lastActivity: Date | null;
}

/**
 * Counts in three independent subqueries (the seed's view LEFT JOINs tasks,
 * projects and lists at once, which multiplies rows and needs DISTINCT).
 * Live rows only; each count reads an index led by (org_id, user_id).
 */
export async function activitySummary(sql: Sql, orgId: string, userId: string): Promise<ActivitySummary> {
  const r = await sql.query<ActivitySummary>(
    `SELECT $2::uuid AS "userId", t.total AS "totalTasks", p.total AS "totalProjects", l.total AS "totalLists",
       t.completed AS "completedTasks", t.recent AS "recentTasks", t.overdue AS "overdueTasks",
       greatest(t.last, p.last, l.last) AS "lastActivity"
     FROM (SELECT count(*)::int AS total,
             count(*) FILTER (WHERE status = 'completed')::int AS completed,
             count(*) FILTER (WHERE created_at >= now() - interval '30 days')::int AS recent,
             count(*) FILTER (WHERE status NOT IN ('completed', 'cancelled') AND due_date < current_date)::int AS overdue,
             max(updated_at) AS last
           FROM tasks WHERE org_id = $1 AND user_id = $2 AND deleted_at IS NULL) t,
          (SELECT count(*)::int AS total, max(updated_at) AS last
           FROM projects WHERE org_id = $1 AND user_id = $2 AND deleted_at IS NULL) p,
          (SELECT count(*)::int AS total, max(updated_at) AS last
           FROM lists WHERE org_id = $1 AND user_id = $2 AND deleted_at IS NULL) l`,
    [orgId, userId],
  );
  return r.rows[0]!;
}
