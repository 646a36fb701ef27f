import type { FastifyPluginAsync } from 'fastify';
import type { JobsDeps } from './deps.js';
import { jobRoutes } from './routes/jobs-routes.js';
import { scheduleRoutes } from './routes/schedules-routes.js';

/**
 * Terminology:
 * - job:         one unit of background work of one organization (background_jobs): a task
 *                name, a JSON payload, and, once done, a JSON result or its last error.
 * - queue:       a name that groups jobs so workers can serve some queues and not others;
 *                idempotency keys are unique per organization and queue.
 * - lease:       a claimed job belongs to one worker (locked_by) until locked_until; the
 *                worker's heartbeat extends it. An expired lease makes the job claimable
 *                again, so a worker that dies loses no job (delivery is at least once).
 * - attempt:     one claim of a job; attempts counts them, and (worker, attempt) fences the
 *                lease so a late outcome of a superseded attempt is refused.
 * - dead letter: a job whose attempts reached max_attempts (or that failed permanently)
 *                becomes `dead` and stays there, with its last error, until it is redriven.
 * - prefetch:    jobs a worker claimed ahead of free slots and holds, leased, in a local
 *                buffer; given back when the worker stops, dropped if their lease is lost.
 * - outcome:     a finished attempt's result or error; a worker records them in batches,
 *                so one is durable a few milliseconds after its handler returns.
 * - schedule:    a cron expression (5 fields, in a time zone) that enqueues one job per
 *                slot; the scheduler step runs due schedules, once per slot across processes.
 * - retention:   succeeded and cancelled jobs are deleted some days after they finished
 *                (pruneFinishedJobs); dead ones stay until redriven unless told otherwise.
 *
 * Hand-written rather than pg-boss or graphile-worker: those own their schema and
 * roles, and read every tenant's rows as one role; here the table is a tenant table
 * under forced RLS, and the worker reaches across tenants only through the narrow
 * SECURITY DEFINER functions of migrations 0009 and 0012 (see the comments there).
 */

export type { JobsDeps } from './deps.js';
export { JOB_STATUSES, type JobStatus, type EnqueueInput } from './jobs-schemas.js';
export type { JobRow, JobFilter } from './jobs-repo.js';
export { enqueue, enqueueIn, enqueueManyIn, getJob, listJobs, cancelJob, redriveJob, type Enqueued } from './jobs-service.js';
export {
  claimJobs, heartbeatJobs, completeJob, failJob, recordOutcomes, releaseJobs, reclaimExpiredJobs, type ClaimedJob, type Lease, type Outcome,
} from './lease-repo.js';
export { Worker, type JobHandler, type JobContext, type WorkerOptions } from './worker.js';
export { PermanentJobError, exponentialBackoff, errorText } from './retry-policy.js';
export type { ScheduleRow } from './schedules-repo.js';
export type { ScheduleInput, SchedulePatch } from './schedules-schemas.js';
export { createSchedule, listSchedules, getSchedule, updateSchedule, deleteSchedule } from './schedules-service.js';
export { runDueSchedules, scheduleJobKey, type ScheduleRunReport } from './scheduler.js';
export { cronProblem, nextCronRun } from './cron.js';
export { pruneFinishedJobs, type PruneOptions } from './prune.js';
export { orgQueueDepth, queueDepth, type QueueDepthRow } from './queue-depth.js';

export function jobsRoutes(deps: JobsDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(jobRoutes(deps));
    await app.register(scheduleRoutes(deps));
  };
}
