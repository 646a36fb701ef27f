import type { Database } from '../db/index.js';
import { nextCronRun } from './cron.js';
import { enqueueIn } from './jobs-service.js';
import * as repo from './schedules-repo.js';
import type { DueSchedule } from './schedules-repo.js';

export interface ScheduleRunReport {
  /** jobs enqueued by this step (one per schedule and slot) */
  enqueued: number;
  /** schedules this step could not run; they stay due and are tried again at the next step */
  failed: { scheduleId: string; error: unknown }[];
}

/** The idempotency key of a schedule's job for one slot: a slot becomes at most one job. */
export const scheduleJobKey = (scheduleId: string, slot: Date) => `schedule:${scheduleId}:${slot.toISOString()}`;

/**
 * The scheduler step: every enabled schedule whose next run is due by `now`
 * enqueues one job and moves on to its first slot after `now`. Any number of
 * processes may run it at once: each slot is enqueued once (see
 * lockDueSchedule, and the job's idempotency key schedule:<id>:<slot>).
 *
 * Slots missed while no scheduler ran (or while a schedule was disabled) are
 * not replayed one by one: a late schedule runs once, for its oldest missed
 * slot, then continues with the first slot after now.
 */
export async function runDueSchedules(db: Database, now = new Date(), opts: { limit?: number } = {}): Promise<ScheduleRunReport> {
  const limit = Math.min(1000, Math.max(1, opts.limit ?? 100));
  const report: ScheduleRunReport = { enqueued: 0, failed: [] };
  const tried = new Set<string>();
  // Pages of due schedules until none is left; a schedule tried once (run, failed, or taken by another
  // process) is not tried again in this step. Bounded, so a step always ends.
  for (let page = 0; page < 100; page++) {
    // Those tried already may still be due (failed, or held by another process): ask past them.
    const asked = limit + tried.size;
    const due = await db.transaction((sql) => repo.dueSchedules(sql, now, asked));
    const fresh = due.filter((d) => !tried.has(d.id));
    for (const d of fresh) {
      tried.add(d.id);
      try {
        if (await runOne(db, d, now)) report.enqueued++;
      } catch (error) {
        report.failed.push({ scheduleId: d.id, error });
      }
    }
    if (due.length < asked || !fresh.length) break;
  }
  return report;
}

/** In the schedule's own tenant transaction: lock it if still due for that slot, enqueue, move on. */
function runOne(db: Database, d: DueSchedule, now: Date): Promise<boolean> {
  return db.tenant(d.orgId, async (sql) => {
    const s = await repo.lockDueSchedule(sql, d.orgId, d.id, d.nextRunAt);
    if (!s) return false;
    const slot = s.nextRunAt;
    // runAt: the slot, not the database's now(): a scheduler whose clock runs ahead must not start a job early.
    const { job } = await enqueueIn(sql, {
      queue: s.queue, task: s.task, payload: s.payload, priority: s.priority, maxAttempts: s.maxAttempts,
      idempotencyKey: scheduleJobKey(s.id, slot), runAt: slot,
    });
    const nextRunAt = nextCronRun(s.cron, s.timezone, now > slot ? now : slot);
    await repo.advanceSchedule(sql, d.orgId, s.id, { nextRunAt, lastRunAt: slot, lastJobId: job.id });
    return true;
  });
}
