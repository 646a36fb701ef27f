import type { Sql } from '../db/index.js';
import type { JobStatus } from './jobs-schemas.js';

/** A job as an organization sees it. */
export interface JobRow {
  id: string;
  queue: string;
  task: string;
  payload: unknown;
  result: unknown;
  status: JobStatus;
  priority: number;
  runAt: Date;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  lockedBy: string | null;
  lockedUntil: Date | null;
  idempotencyKey: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

const COLUMNS = `id, queue, task, payload, result, status, priority, run_at AS "runAt", attempts,
  max_attempts AS "maxAttempts", last_error AS "lastError", locked_by AS "lockedBy", locked_until AS "lockedUntil",
  idempotency_key AS "idempotencyKey", created_at AS "createdAt", updated_at AS "updatedAt", finished_at AS "finishedAt"`;

export interface NewJob {
  id: string;
  queue: string;
  task: string;
  payload: unknown;
  priority: number;
  runAt: string | null;
  maxAttempts: number;
  idempotencyKey: string | null;
}

/**
 * Inserts into the transaction's tenant (app_current_org()), so a caller's own
 * tenant transaction can enqueue atomically with the change that needs the job.
 * Undefined when the idempotency key is already taken.
 */
export async function insertJob(sql: Sql, j: NewJob): Promise<JobRow | undefined> {
  const r = await sql.query<JobRow>(
    `INSERT INTO background_jobs (id, org_id, queue, task, payload, priority, run_at, max_attempts, idempotency_key)
     VALUES ($1, app_current_org(), $2, $3, $4::jsonb, $5, coalesce($6::timestamptz, now()), $7, $8)
     ON CONFLICT (org_id, queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
     RETURNING ${COLUMNS}`,
    [j.id, j.queue, j.task, JSON.stringify(j.payload), j.priority, j.runAt, j.maxAttempts, j.idempotencyKey],
  );
  return r.rows[0];
}

/**
 * Inserts many jobs in one statement (the rows travel as one JSON parameter).
 * Returns the rows created; a job whose idempotency key is taken — by an
 * earlier job or by an earlier row of this call — is left out.
 */
export async function insertJobs(sql: Sql, jobs: NewJob[]): Promise<JobRow[]> {
  if (!jobs.length) return [];
  const r = await sql.query<JobRow>(
    `INSERT INTO background_jobs (id, org_id, queue, task, payload, priority, run_at, max_attempts, idempotency_key)
     SELECT x.id, app_current_org(), x.queue, x.task, coalesce(x.payload, 'null'::jsonb), x.priority,
       coalesce(x."runAt", now()), x."maxAttempts", x."idempotencyKey"
     FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, queue text, task text, payload jsonb, priority int,
       "runAt" timestamptz, "maxAttempts" int, "idempotencyKey" text, n int)
     -- Input order, so of two rows with one idempotency key the first wins.
     ORDER BY x.n
     ON CONFLICT (org_id, queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
     RETURNING ${COLUMNS}`,
    [JSON.stringify(jobs.map((j, n) => ({ ...j, n })))],
  );
  return r.rows;
}

/** The stored jobs of (queue, idempotency key) pairs. */
export async function jobsByIdempotencyKeys(sql: Sql, keys: { queue: string; key: string }[]): Promise<JobRow[]> {
  if (!keys.length) return [];
  const r = await sql.query<JobRow>(
    `SELECT ${COLUMNS} FROM background_jobs
     WHERE (queue, idempotency_key) IN (SELECT k.queue, k.key FROM jsonb_to_recordset($1::jsonb) AS k(queue text, key text))`,
    [JSON.stringify(keys)],
  );
  return r.rows;
}

export async function jobByIdempotencyKey(sql: Sql, queue: string, key: string): Promise<JobRow | undefined> {
  const r = await sql.query<JobRow>(`SELECT ${COLUMNS} FROM background_jobs WHERE queue = $1 AND idempotency_key = $2`, [queue, key]);
  return r.rows[0];
}

export async function getJob(sql: Sql, id: string): Promise<JobRow | undefined> {
  const r = await sql.query<JobRow>(`SELECT ${COLUMNS} FROM background_jobs WHERE id = $1`, [id]);
  return r.rows[0];
}

export interface JobFilter {
  status?: JobStatus | undefined;
  queue?: string | undefined;
  /** the id of the last job of the previous page */
  after?: string | undefined;
  limit: number;
}

/** Newest first; ids are UUIDv7, so id order is creation order and an exact keyset. */
export async function listJobs(sql: Sql, f: JobFilter): Promise<JobRow[]> {
  const r = await sql.query<JobRow>(
    `SELECT ${COLUMNS} FROM background_jobs
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR queue = $2) AND ($3::uuid IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [f.status ?? null, f.queue ?? null, f.after ?? null, f.limit],
  );
  return r.rows;
}

/** A job waiting to run (queued, or failed and waiting for its retry) becomes cancelled. */
export async function cancelJob(sql: Sql, id: string): Promise<JobRow | undefined> {
  const r = await sql.query<JobRow>(
    `UPDATE background_jobs SET status = 'cancelled', finished_at = now()
     WHERE id = $1 AND status IN ('queued', 'failed') RETURNING ${COLUMNS}`,
    [id],
  );
  return r.rows[0];
}

/** A dead job is queued again with its attempts reset; its last error stays for the record. */
export async function redriveJob(sql: Sql, id: string): Promise<JobRow | undefined> {
  const r = await sql.query<JobRow>(
    `UPDATE background_jobs SET status = 'queued', attempts = 0, run_at = now(), finished_at = NULL
     WHERE id = $1 AND status = 'dead' RETURNING ${COLUMNS}`,
    [id],
  );
  return r.rows[0];
}

/** Every organization's id (ops_organization_ids, migration 0002): retention visits each under its own RLS. */
export async function organizationIds(sql: Sql): Promise<string[]> {
  const r = await sql.query<{ id: string }>(`SELECT ops_organization_ids() AS id`);
  return r.rows.map((x) => x.id);
}

/**
 * Deletes up to `limit` jobs of one status that finished before `finishedBefore`
 * (retention). `idBelow` is implied by it for UUIDv7 ids and only lets the
 * index bound the scan; see prune.ts. A job whose status changed meanwhile (a
 * dead one redriven) is not deleted. Returns how many were deleted.
 */
export async function deleteFinishedJobs(
  sql: Sql, orgId: string, status: 'succeeded' | 'cancelled' | 'dead', finishedBefore: string, idBelow: string, limit: number,
): Promise<number> {
  const r = await sql.query(
    // The outer conditions repeat the inner ones: a row changed after the subquery read it (a dead
    // job redriven meanwhile) is checked again once its lock is had, and kept if it no longer matches.
    `DELETE FROM background_jobs WHERE id IN (
       SELECT id FROM background_jobs
       WHERE org_id = $1 AND status = $2 AND id < $3::uuid AND finished_at < $4::timestamptz
       LIMIT $5)
     AND status = $2 AND finished_at < $4::timestamptz`,
    [orgId, status, idBelow, finishedBefore, limit],
  );
  return r.rowCount;
}
