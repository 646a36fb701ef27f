import { uuidv7, type Sql } from '../../db/index.js';

export const TASK_STATUSES = ['todo', 'in_progress', 'blocked', 'completed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** A task (seed 004), as the API shows it. */
export interface TaskRow {
  id: string;
  userId: string;
  projectId: string | null;
  listId: string | null;
  title: string;
  description: string | null;
  status: TaskStatus;
  /** 0 none, 1 low, 2 medium, 3 high, 4 urgent */
  priority: number;
  /** YYYY-MM-DD */
  dueDate: string | null;
  /** 0-based place in its list; null when in no list */
  position: number | null;
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** The fields a PATCH may change (list and position change only by a move). */
export interface TaskFields {
  userId: string;
  projectId: string | null;
  title: string;
  description: string | null;
  status: TaskStatus;
  priority: number;
  dueDate: string | null;
}

export const TASK_COLUMNS = (t: string) => `${t}.id, ${t}.user_id AS "userId", ${t}.project_id AS "projectId", ${t}.list_id AS "listId",
  ${t}.title, ${t}.description, ${t}.status, ${t}.priority, ${t}.due_date::text AS "dueDate", ${t}.position_in_list AS "position",
  ${t}.completed_at AS "completedAt", ${t}.created_at AS "createdAt", ${t}.updated_at AS "updatedAt", ${t}.version`;
const COLUMNS = TASK_COLUMNS('tasks');

/** completed_at follows the status: set when it becomes completed, kept while it stays so, cleared otherwise. */
const COMPLETED_AT = (status: string, prevStatus: string, prev: string, at: string) =>
  `CASE WHEN ${status} <> 'completed' THEN NULL WHEN ${prevStatus} = 'completed' THEN ${prev} ELSE ${at}::timestamptz END`;

export async function insertTask(
  sql: Sql, orgId: string, f: TaskFields, place: { listId: string; position: number } | null, at: Date,
): Promise<TaskRow> {
  const r = await sql.query<TaskRow>(
    `INSERT INTO tasks (id, org_id, user_id, project_id, list_id, title, description, status, priority, due_date,
       position_in_list, completed_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text, $9, $10::date, $11, CASE WHEN $8::text = 'completed' THEN $12::timestamptz END, $12, $12)
     RETURNING ${COLUMNS}`,
    [uuidv7(), orgId, f.userId, f.projectId, place?.listId ?? null, f.title, f.description, f.status, f.priority, f.dueDate,
      place?.position ?? null, at.toISOString()],
  );
  return r.rows[0]!;
}

/** A live task; `lock` takes its row lock. */
export async function getTask(sql: Sql, orgId: string, id: string, lock = false): Promise<TaskRow | undefined> {
  const r = await sql.query<TaskRow>(
    `SELECT ${COLUMNS} FROM tasks WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [orgId, id],
  );
  return r.rows[0];
}

export async function updateTask(sql: Sql, orgId: string, id: string, f: TaskFields, at: Date): Promise<TaskRow> {
  const r = await sql.query<TaskRow>(
    `UPDATE tasks SET user_id = $3, project_id = $4, title = $5, description = $6, status = $7::text, priority = $8,
       due_date = $9::date, completed_at = ${COMPLETED_AT('$7::text', 'status', 'completed_at', '$10')}, updated_at = $10, version = version + 1
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, f.userId, f.projectId, f.title, f.description, f.status, f.priority, f.dueDate, at.toISOString()],
  );
  return r.rows[0]!;
}

/** Puts the task at a place (or in no list) and moves its version. */
export async function placeTask(
  sql: Sql, orgId: string, id: string, place: { listId: string; position: number; projectId: string | null }, at: Date,
): Promise<TaskRow> {
  const r = await sql.query<TaskRow>(
    `UPDATE tasks SET list_id = $3, position_in_list = $4, project_id = $5, updated_at = $6, version = version + 1
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, place.listId, place.position, place.projectId, at.toISOString()],
  );
  return r.rows[0]!;
}

export async function softDeleteTask(sql: Sql, orgId: string, id: string, at: Date): Promise<void> {
  await sql.query(
    `UPDATE tasks SET deleted_at = $3, position_in_list = NULL, updated_at = $3, version = version + 1 WHERE org_id = $1 AND id = $2`,
    [orgId, id, at.toISOString()],
  );
}

/** Soft-deletes the live tasks of some lists or of a project; returns how many. */
export async function softDeleteTasksOf(
  sql: Sql, orgId: string, of: { listIds?: readonly string[]; projectId?: string }, at: Date,
): Promise<number> {
  const r = await sql.query(
    `UPDATE tasks SET deleted_at = $4, position_in_list = NULL, updated_at = $4, version = version + 1
     WHERE org_id = $1 AND deleted_at IS NULL AND (list_id = ANY($2::uuid[]) OR project_id = $3)`,
    [orgId, of.listIds ?? [], of.projectId ?? null, at.toISOString()],
  );
  return r.rowCount;
}

/** The live tasks of a list follow it into another project. */
export async function setProjectOfList(sql: Sql, orgId: string, listId: string, projectId: string | null): Promise<void> {
  await sql.query(
    `UPDATE tasks SET project_id = $3 WHERE org_id = $1 AND list_id = $2 AND deleted_at IS NULL AND project_id IS DISTINCT FROM $3`,
    [orgId, listId, projectId],
  );
}
