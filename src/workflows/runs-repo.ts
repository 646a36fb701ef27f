import type { Sql } from '../db/index.js';

export const RUN_STATUSES = ['pending', 'running', 'waiting', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled']);

/** An event posted to a run, kept in execution_data.events so a wait step reached later still sees it. */
export interface RunEvent {
  name: string;
  payload: unknown;
  receivedAt: string;
  /** the wait steps it completed; an event is used up by the first that take it */
  consumedBy?: string[];
}

/** A workflow run (a row of workflow_executions). */
export interface RunRow {
  id: string;
  workflowId: string;
  workflowVersion: number;
  status: RunStatus;
  input: unknown;
  output: unknown;
  errorMessage: string | null;
  events: RunEvent[];
  createdBy: string | null;
  startedAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

/** What names a run's partition: every statement on a run or its steps carries both. */
export interface RunRef {
  id: string;
  startedAt: Date;
}

const COLUMNS = `id, workflow_id AS "workflowId", workflow_version AS "workflowVersion", status, input, output,
  error_message AS "errorMessage", coalesce(execution_data -> 'events', '[]') AS events, created_by AS "createdBy",
  started_at AS "startedAt", updated_at AS "updatedAt", completed_at AS "completedAt"`;

export interface NewRun {
  id: string;
  workflowId: string;
  workflowVersion: number;
  input: unknown;
  createdBy: string | null;
  /** the partition key, from the service clock (millisecond precision, exact in a cursor) */
  startedAt: Date;
}

export async function insertRun(sql: Sql, orgId: string, r: NewRun): Promise<RunRow> {
  const res = await sql.query<RunRow>(
    `INSERT INTO workflow_executions (id, org_id, workflow_id, workflow_version, status, input, created_by, started_at)
     VALUES ($1, $2, $3, $4, 'pending', $5::jsonb, $6, $7) RETURNING ${COLUMNS}`,
    [r.id, orgId, r.workflowId, r.workflowVersion, JSON.stringify(r.input), r.createdBy, r.startedAt.toISOString()],
  );
  return res.rows[0]!;
}

/** By id alone (an API caller knows no partition): idx_workflow_executions_id in each partition. */
export async function getRun(sql: Sql, orgId: string, id: string, lock = false): Promise<RunRow | undefined> {
  const r = await sql.query<RunRow>(
    `SELECT ${COLUMNS} FROM workflow_executions WHERE org_id = $1 AND id = $2 ${lock ? 'FOR UPDATE' : ''}`,
    [orgId, id],
  );
  return r.rows[0];
}

/**
 * The run row-locked: every change to a run or its steps takes this lock first,
 * so the engine's transactions, cancellation, events and approvals of one run
 * serialize, and always in the same order (run, then step), which rules out deadlocks.
 */
export async function lockRun(sql: Sql, orgId: string, ref: RunRef): Promise<RunRow | undefined> {
  const r = await sql.query<RunRow>(
    `SELECT ${COLUMNS} FROM workflow_executions WHERE org_id = $1 AND id = $2 AND started_at = $3 FOR UPDATE`,
    [orgId, ref.id, ref.startedAt.toISOString()],
  );
  return r.rows[0];
}

export interface RunFilter {
  workflowId?: string;
  status?: RunStatus;
  from?: string;
  to?: string;
  /** keyset: rows strictly older than this (started_at, id) */
  before?: { startedAt: string; id: string };
  limit: number;
}

/** Newest first; with a workflow or a status, a range of the matching (org_id, …, started_at DESC) index. */
export async function listRuns(sql: Sql, orgId: string, f: RunFilter): Promise<RunRow[]> {
  const params: unknown[] = [orgId, f.limit];
  const where = ['org_id = $1'];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replaceAll('?', `$${params.length}`));
  };
  if (f.workflowId) add('workflow_id = ?', f.workflowId);
  if (f.status) add('status = ?', f.status);
  if (f.from) add('started_at >= ?::timestamptz', f.from);
  if (f.to) add('started_at < ?::timestamptz', f.to);
  if (f.before) {
    params.push(f.before.startedAt, f.before.id);
    where.push(`(started_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  const r = await sql.query<RunRow>(
    `SELECT ${COLUMNS} FROM workflow_executions WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT $2`,
    params,
  );
  return r.rows;
}

/** Sets the status; a final one also sets completed_at (the table's CHECK) and, when given, output or error. */
export async function setRunStatus(
  sql: Sql,
  orgId: string,
  ref: RunRef,
  s: { status: RunStatus; output?: unknown; errorMessage?: string | null },
): Promise<RunRow> {
  const r = await sql.query<RunRow>(
    `UPDATE workflow_executions SET status = $4::varchar,
       output = CASE WHEN $5::boolean THEN $6::jsonb ELSE output END,
       error_message = CASE WHEN $7::boolean THEN $8::text ELSE error_message END,
       completed_at = CASE WHEN $4::varchar IN ('completed', 'failed', 'cancelled') THEN coalesce(completed_at, now()) END
     WHERE org_id = $1 AND id = $2 AND started_at = $3 RETURNING ${COLUMNS}`,
    [
      orgId, ref.id, ref.startedAt.toISOString(), s.status,
      s.output !== undefined, s.output === undefined ? null : JSON.stringify(s.output),
      s.errorMessage !== undefined, s.errorMessage ?? null,
    ],
  );
  return r.rows[0]!;
}

export async function appendRunEvent(sql: Sql, orgId: string, ref: RunRef, event: RunEvent): Promise<void> {
  await sql.query(
    `UPDATE workflow_executions
     SET execution_data = jsonb_set(execution_data, '{events}', coalesce(execution_data -> 'events', '[]') || jsonb_build_array($4::jsonb))
     WHERE org_id = $1 AND id = $2 AND started_at = $3`,
    [orgId, ref.id, ref.startedAt.toISOString(), JSON.stringify(event)],
  );
}

/** Records that the event at this position of the run's events completed these wait steps. */
export async function markEventConsumed(sql: Sql, orgId: string, ref: RunRef, index: number, stepKeys: string[]): Promise<void> {
  await sql.query(
    `UPDATE workflow_executions
     SET execution_data = jsonb_set(execution_data, ARRAY['events', $4::int::text, 'consumedBy'], to_jsonb($5::text[]))
     WHERE org_id = $1 AND id = $2 AND started_at = $3`,
    [orgId, ref.id, ref.startedAt.toISOString(), index, stepKeys],
  );
}

/** Whether a workflow has runs that have not finished (deleting it is refused meanwhile). */
export async function countOpenRuns(sql: Sql, orgId: string, workflowId: string): Promise<number> {
  const r = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM workflow_executions
     WHERE org_id = $1 AND workflow_id = $2 AND status IN ('pending', 'running', 'waiting')`,
    [orgId, workflowId],
  );
  return r.rows[0]!.n;
}
