import type { Sql } from '../db/index.js';
import type { StepType } from './definition-schema.js';
import type { RunRef } from './runs-repo.js';

export const STEP_RUN_STATUSES = ['pending', 'running', 'waiting', 'completed', 'failed', 'skipped', 'cancelled'] as const;
export type StepRunStatus = (typeof STEP_RUN_STATUSES)[number];

/** One step of one run (workflow_step_runs); fan-out items are rows keyed "<fan_out key>.<index>". */
export interface StepRunRow {
  id: string;
  stepKey: string;
  stepType: StepType;
  status: StepRunStatus;
  attempts: number;
  input: unknown;
  output: unknown;
  errorMessage: string | null;
  executionId: string | null;
  jobId: string | null;
  waitingFor: Record<string, unknown> | null;
  decidedBy: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  updatedAt: Date;
}

const COLUMNS = `id, step_key AS "stepKey", step_type AS "stepType", status, attempts, input, output,
  error_message AS "errorMessage", execution_id AS "executionId", job_id AS "jobId", waiting_for AS "waitingFor",
  decided_by AS "decidedBy", created_at AS "createdAt", started_at AS "startedAt", completed_at AS "completedAt",
  updated_at AS "updatedAt"`;

// Every statement names the run's partition (id and started_at): the unique key
// (workflow_execution_id, workflow_started_at, step_key) answers it in one partition.
const RUN = 'org_id = $1 AND workflow_execution_id = $2 AND workflow_started_at = $3';
const runParams = (orgId: string, run: RunRef): unknown[] => [orgId, run.id, run.startedAt.toISOString()];

export interface NewStepRun {
  id: string;
  key: string;
  type: StepType;
  /** known up front for fan-out items (their input is built when the fan_out runs) */
  input?: unknown;
}

/**
 * Inserts pending step runs; a key that already has a row is left alone (the
 * unique key), so scheduling a step twice cannot happen. Returns the keys inserted.
 */
export async function insertStepRuns(sql: Sql, orgId: string, run: RunRef, rows: NewStepRun[]): Promise<Set<string>> {
  if (!rows.length) return new Set();
  const r = await sql.query<{ key: string }>(
    `INSERT INTO workflow_step_runs (id, org_id, workflow_execution_id, workflow_started_at, step_key, step_type, status, input)
     SELECT x.id, $1, $2, $3, x.key, x.type, 'pending', x.input
     FROM jsonb_to_recordset($4::jsonb) AS x(id uuid, key text, type text, input jsonb)
     ON CONFLICT (workflow_execution_id, workflow_started_at, step_key) DO NOTHING
     RETURNING step_key AS key`,
    [...runParams(orgId, run), JSON.stringify(rows.map((x) => ({ ...x, input: x.input === undefined ? null : x.input })))],
  );
  return new Set(r.rows.map((x) => x.key));
}

/** The step run row-locked (taken after the run's lock, never before). */
export async function lockStepRun(sql: Sql, orgId: string, run: RunRef, key: string): Promise<StepRunRow | undefined> {
  const r = await sql.query<StepRunRow>(`SELECT ${COLUMNS} FROM workflow_step_runs WHERE ${RUN} AND step_key = $4 FOR UPDATE`, [
    ...runParams(orgId, run),
    key,
  ]);
  return r.rows[0];
}

/** An attempt begins: attempts + 1, before anything of the step runs. */
export async function startStepRun(
  sql: Sql,
  orgId: string,
  run: RunRef,
  key: string,
  s: { status: 'running' | 'waiting'; input: unknown; jobId: string | null; waitingFor?: Record<string, unknown> },
): Promise<StepRunRow> {
  const r = await sql.query<StepRunRow>(
    `UPDATE workflow_step_runs SET status = $5::varchar, attempts = attempts + 1, input = $6::jsonb, job_id = $7, waiting_for = $8::jsonb,
       started_at = now(), error_message = NULL
     WHERE ${RUN} AND step_key = $4 RETURNING ${COLUMNS}`,
    [...runParams(orgId, run), key, s.status, JSON.stringify(s.input ?? null), s.jobId,
      s.waitingFor === undefined ? null : JSON.stringify(s.waitingFor)],
  );
  return r.rows[0]!;
}

export interface StepOutcome {
  status: 'completed' | 'failed' | 'pending' | 'cancelled';
  output?: unknown;
  errorMessage?: string | null;
  executionId?: string | null;
  decidedBy?: string | null;
}

/** Records an outcome: completed, failed, cancelled (final, with completed_at), or pending again for a retry. */
export async function settleStepRun(sql: Sql, orgId: string, run: RunRef, key: string, o: StepOutcome): Promise<StepRunRow> {
  const r = await sql.query<StepRunRow>(
    `UPDATE workflow_step_runs SET status = $5::varchar,
       output = CASE WHEN $6::boolean THEN $7::jsonb ELSE output END,
       error_message = $8::text,
       execution_id = coalesce($9::uuid, execution_id),
       decided_by = coalesce($10::uuid, decided_by),
       completed_at = CASE WHEN $5::varchar IN ('completed', 'failed', 'cancelled') THEN now() END
     WHERE ${RUN} AND step_key = $4 RETURNING ${COLUMNS}`,
    [
      ...runParams(orgId, run), key, o.status, o.output !== undefined, o.output === undefined ? null : JSON.stringify(o.output),
      o.errorMessage ?? null, o.executionId ?? null, o.decidedBy ?? null,
    ],
  );
  return r.rows[0]!;
}

/** Every step run of a run: top-level steps in creation order, then by key. */
export async function listStepRuns(sql: Sql, orgId: string, run: RunRef): Promise<StepRunRow[]> {
  const r = await sql.query<StepRunRow>(
    `SELECT ${COLUMNS} FROM workflow_step_runs WHERE ${RUN}
     ORDER BY created_at, split_part(step_key, '.', 1), nullif(split_part(step_key, '.', 2), '')::int NULLS FIRST`,
    runParams(orgId, run),
  );
  return r.rows;
}

/** Outputs of the completed steps among keys (what a mapping reads). */
export async function stepOutputs(sql: Sql, orgId: string, run: RunRef, keys: string[]): Promise<Record<string, unknown>> {
  if (!keys.length) return {};
  const r = await sql.query<{ key: string; output: unknown }>(
    `SELECT step_key AS key, output FROM workflow_step_runs WHERE ${RUN} AND step_key = ANY($4::text[]) AND status = 'completed'`,
    [...runParams(orgId, run), keys],
  );
  return Object.fromEntries(r.rows.map((x) => [x.key, x.output]));
}

/** The outputs of a fan_out's items in item order (what its fan_in returns). */
export async function itemOutputs(sql: Sql, orgId: string, run: RunRef, fanOutKey: string): Promise<unknown[]> {
  const r = await sql.query<{ output: unknown }>(
    `SELECT output FROM workflow_step_runs WHERE ${RUN} AND strpos(step_key, '.') > 0 AND split_part(step_key, '.', 1) = $4
     ORDER BY split_part(step_key, '.', 2)::int`,
    [...runParams(orgId, run), fanOutKey],
  );
  return r.rows.map((x) => x.output ?? null);
}

export interface StepProgress {
  /** status of each top-level step that has a row */
  steps: Map<string, StepRunStatus>;
  /** per fan_out key: how many items exist and how many completed */
  items: Map<string, { total: number; completed: number }>;
  /** step runs (items included) by status */
  counts: Partial<Record<StepRunStatus, number>>;
}

/** Where a run stands, in one aggregate over its step runs (items are counted, not listed). */
export async function stepProgress(sql: Sql, orgId: string, run: RunRef): Promise<StepProgress> {
  const r = await sql.query<{ key: string; item: boolean; status: StepRunStatus; n: number }>(
    `SELECT split_part(step_key, '.', 1) AS key, strpos(step_key, '.') > 0 AS item, status, count(*)::int AS n
     FROM workflow_step_runs WHERE ${RUN} GROUP BY 1, 2, 3`,
    runParams(orgId, run),
  );
  const p: StepProgress = { steps: new Map(), items: new Map(), counts: {} };
  for (const x of r.rows) {
    p.counts[x.status] = (p.counts[x.status] ?? 0) + x.n;
    if (!x.item) {
      p.steps.set(x.key, x.status);
      continue;
    }
    const it = p.items.get(x.key) ?? { total: 0, completed: 0 };
    it.total += x.n;
    if (x.status === 'completed') it.completed += x.n;
    p.items.set(x.key, it);
  }
  return p;
}

/** Cancels what has not finished (pending, running, waiting); a running attempt's late result is then discarded. */
export async function cancelOpenStepRuns(sql: Sql, orgId: string, run: RunRef, message: string): Promise<number> {
  const r = await sql.query(
    `UPDATE workflow_step_runs SET status = 'cancelled', error_message = $4, completed_at = now()
     WHERE ${RUN} AND status IN ('pending', 'running', 'waiting')`,
    [...runParams(orgId, run), message],
  );
  return r.rowCount;
}

/** The wait steps of a run parked on this event, row-locked. */
export async function lockWaitingForEvent(sql: Sql, orgId: string, run: RunRef, event: string): Promise<StepRunRow[]> {
  const r = await sql.query<StepRunRow>(
    `SELECT ${COLUMNS} FROM workflow_step_runs
     WHERE ${RUN} AND status = 'waiting' AND step_type = 'wait' AND waiting_for ->> 'event' = $4
     ORDER BY step_key FOR UPDATE`,
    [...runParams(orgId, run), event],
  );
  return r.rows;
}
