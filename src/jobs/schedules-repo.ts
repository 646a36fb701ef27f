import type { Sql } from '../db/index.js';

/** What a schedule is made of: written on create, changed by a patch. */
export interface ScheduleFields {
  name: string;
  cron: string;
  timezone: string;
  queue: string;
  task: string;
  payload: unknown;
  priority: number;
  maxAttempts: number;
  enabled: boolean;
  nextRunAt: Date;
}

/** A cron schedule as its organization sees it. */
export interface ScheduleRow extends ScheduleFields {
  id: string;
  lastRunAt: Date | null;
  lastJobId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, name, cron, timezone, queue, task, payload, priority, max_attempts AS "maxAttempts", enabled,
  next_run_at AS "nextRunAt", last_run_at AS "lastRunAt", last_job_id AS "lastJobId", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Undefined when the organization already has a schedule of that name. */
export async function insertSchedule(sql: Sql, orgId: string, id: string, s: ScheduleFields): Promise<ScheduleRow | undefined> {
  const r = await sql.query<ScheduleRow>(
    `INSERT INTO job_schedules (id, org_id, name, cron, timezone, queue, task, payload, priority, max_attempts, enabled, next_run_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12)
     ON CONFLICT (org_id, name) DO NOTHING
     RETURNING ${COLUMNS}`,
    [id, orgId, s.name, s.cron, s.timezone, s.queue, s.task, JSON.stringify(s.payload), s.priority, s.maxAttempts, s.enabled,
      s.nextRunAt.toISOString()],
  );
  return r.rows[0];
}

export async function getSchedule(sql: Sql, orgId: string, id: string, opts: { lock?: boolean } = {}): Promise<ScheduleRow | undefined> {
  const r = await sql.query<ScheduleRow>(
    `SELECT ${COLUMNS} FROM job_schedules WHERE org_id = $1 AND id = $2${opts.lock ? ' FOR UPDATE' : ''}`,
    [orgId, id],
  );
  return r.rows[0];
}

/** By name; `after` is the last name of the previous page. */
export async function listSchedules(sql: Sql, orgId: string, f: { after?: string | undefined; limit: number }): Promise<ScheduleRow[]> {
  const r = await sql.query<ScheduleRow>(
    `SELECT ${COLUMNS} FROM job_schedules WHERE org_id = $1 AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3`,
    [orgId, f.after ?? null, f.limit],
  );
  return r.rows;
}

/** Replaces every field (the service merges a patch into the row it read). */
export async function updateSchedule(sql: Sql, orgId: string, id: string, s: ScheduleFields): Promise<ScheduleRow | undefined> {
  const r = await sql.query<ScheduleRow>(
    `UPDATE job_schedules SET name = $3, cron = $4, timezone = $5, queue = $6, task = $7, payload = $8::jsonb, priority = $9,
       max_attempts = $10, enabled = $11, next_run_at = $12
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, s.name, s.cron, s.timezone, s.queue, s.task, JSON.stringify(s.payload), s.priority, s.maxAttempts, s.enabled,
      s.nextRunAt.toISOString()],
  );
  return r.rows[0];
}

export async function deleteSchedule(sql: Sql, orgId: string, id: string): Promise<ScheduleRow | undefined> {
  const r = await sql.query<ScheduleRow>(`DELETE FROM job_schedules WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`, [orgId, id]);
  return r.rows[0];
}

/** A due schedule of some organization (job_schedules_due, across tenants, migration 0012). */
export interface DueSchedule {
  id: string;
  orgId: string;
  nextRunAt: Date;
}

export async function dueSchedules(sql: Sql, now: Date, limit: number): Promise<DueSchedule[]> {
  const r = await sql.query<DueSchedule>(
    `SELECT id, org_id AS "orgId", next_run_at AS "nextRunAt" FROM job_schedules_due($1::timestamptz, $2)`,
    [now.toISOString(), limit],
  );
  return r.rows;
}

/**
 * Locks the schedule if its next run is still `slot`; undefined when another
 * process holds it (SKIP LOCKED) or has already moved it on, or it was
 * disabled, changed or deleted meanwhile.
 */
export async function lockDueSchedule(sql: Sql, orgId: string, id: string, slot: Date): Promise<ScheduleRow | undefined> {
  const r = await sql.query<ScheduleRow>(
    `SELECT ${COLUMNS} FROM job_schedules
     -- to the millisecond, as JavaScript carries it (slots from cron are whole minutes anyway)
     WHERE org_id = $1 AND id = $2 AND enabled AND date_trunc('milliseconds', next_run_at) = $3::timestamptz
     FOR UPDATE SKIP LOCKED`,
    [orgId, id, slot.toISOString()],
  );
  return r.rows[0];
}

export async function advanceSchedule(
  sql: Sql, orgId: string, id: string, a: { nextRunAt: Date; lastRunAt: Date; lastJobId: string },
): Promise<void> {
  await sql.query(
    `UPDATE job_schedules SET next_run_at = $3, last_run_at = $4, last_job_id = $5 WHERE org_id = $1 AND id = $2`,
    [orgId, id, a.nextRunAt.toISOString(), a.lastRunAt.toISOString(), a.lastJobId],
  );
}
