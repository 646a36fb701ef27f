import { appendAudit, type Actor } from '../audit/index.js';
import { pgErrorCode, uuidv7 } from '../db/index.js';
import { conflict, notFound, validationFailed } from '../errors.js';
import { nextCronRun } from './cron.js';
import type { JobsDeps } from './deps.js';
import * as repo from './schedules-repo.js';
import type { ScheduleFields, ScheduleRow } from './schedules-repo.js';
import { ScheduleInput, SchedulePatch } from './schedules-schemas.js';

function parse<S extends typeof ScheduleInput | typeof SchedulePatch>(schema: S, input: unknown): ReturnType<S['parse']> {
  const r = schema.safeParse(input);
  if (!r.success) {
    throw validationFailed(`the schedule is not valid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return r.data as ReturnType<S['parse']>;
}

const nameTaken = (name: string) => conflict(`a job schedule named "${name}" already exists; choose another name`, { field: 'name' });

/** The unique (org_id, name) index refused a rename: a 409 that names the field. */
async function renaming<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (pgErrorCode(err) === '23505') throw nameTaken(name);
    throw err;
  }
}

/** Creates a schedule; its first run is the first slot after now. */
export function createSchedule(deps: JobsDeps, actor: Actor, input: ScheduleInput, now = new Date()): Promise<ScheduleRow> {
  const s = parse(ScheduleInput, input);
  const fields: ScheduleFields = { ...s, nextRunAt: nextCronRun(s.cron, s.timezone, now) };
  return deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.insertSchedule(sql, actor.orgId, uuidv7(), fields);
    if (!row) throw nameTaken(s.name);
    await appendAudit(sql, actor, { action: 'job_schedule.create', resourceType: 'job_schedule', resourceId: row.id, newValues: row });
    return row;
  });
}

export function listSchedules(deps: JobsDeps, orgId: string, f: { after?: string | undefined; limit: number }): Promise<ScheduleRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listSchedules(sql, orgId, f));
}

export function getSchedule(deps: JobsDeps, orgId: string, id: string): Promise<ScheduleRow> {
  return deps.db.tenant(orgId, async (sql) => {
    const row = await repo.getSchedule(sql, orgId, id);
    if (!row) throw notFound('job schedule', id);
    return row;
  });
}

/**
 * Changes the fields sent. A new cron expression or time zone, or enabling a
 * disabled schedule, moves the next run to the first slot after now: slots
 * missed while it was disabled are not run.
 */
export function updateSchedule(deps: JobsDeps, actor: Actor, id: string, patch: SchedulePatch, now = new Date()): Promise<ScheduleRow> {
  const p = parse(SchedulePatch, patch);
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getSchedule(sql, actor.orgId, id, { lock: true });
    if (!before) throw notFound('job schedule', id);
    const merged = {
      name: p.name ?? before.name, cron: p.cron ?? before.cron, timezone: p.timezone ?? before.timezone,
      queue: p.queue ?? before.queue, task: p.task ?? before.task, payload: p.payload === undefined ? before.payload : p.payload,
      priority: p.priority ?? before.priority, maxAttempts: p.maxAttempts ?? before.maxAttempts, enabled: p.enabled ?? before.enabled,
    };
    const retimed = merged.cron !== before.cron || merged.timezone !== before.timezone || (merged.enabled && !before.enabled);
    const nextRunAt = retimed ? nextCronRun(merged.cron, merged.timezone, now) : before.nextRunAt;
    const after = await renaming(merged.name, () => repo.updateSchedule(sql, actor.orgId, id, { ...merged, nextRunAt }));
    if (!after) throw notFound('job schedule', id);
    await appendAudit(sql, actor, { action: 'job_schedule.update', resourceType: 'job_schedule', resourceId: id, oldValues: before, newValues: after });
    return after;
  });
}

/** Deletes the schedule; jobs it already enqueued stay. */
export function deleteSchedule(deps: JobsDeps, actor: Actor, id: string): Promise<void> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.deleteSchedule(sql, actor.orgId, id);
    if (!before) throw notFound('job schedule', id);
    await appendAudit(sql, actor, { action: 'job_schedule.delete', resourceType: 'job_schedule', resourceId: id, oldValues: before });
  });
}
