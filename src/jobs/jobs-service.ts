import { appendAudit, type Actor } from '../audit/index.js';
import { uuidv7, type Sql } from '../db/index.js';
import { conflict, notFound, validationFailed } from '../errors.js';
import type { JobsDeps } from './deps.js';
import * as repo from './jobs-repo.js';
import type { JobFilter, JobRow } from './jobs-repo.js';
import { EnqueueInput } from './jobs-schemas.js';

export interface Enqueued {
  job: JobRow;
  /** false when the idempotency key named a job that already existed */
  created: boolean;
}

function parseEnqueue(input: EnqueueInput) {
  const r = EnqueueInput.safeParse(input);
  if (!r.success) {
    throw validationFailed('the job is not valid', r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return r.data;
}

/**
 * Enqueues inside the caller's tenant transaction, so the job commits (or not)
 * with the change that asked for it. A repeated idempotency key returns the
 * job it first created, whatever the new payload says.
 */
export async function enqueueIn(sql: Sql, input: EnqueueInput): Promise<Enqueued> {
  const j = parseEnqueue(input);
  const runAt = j.runAt === undefined ? null : new Date(j.runAt).toISOString();
  const job = await repo.insertJob(sql, {
    id: uuidv7(), queue: j.queue, task: j.task, payload: j.payload, priority: j.priority, runAt,
    maxAttempts: j.maxAttempts, idempotencyKey: j.idempotencyKey ?? null,
  });
  if (job) return { job, created: true };
  // ON CONFLICT DO NOTHING waited for the key's first writer to commit, so its row is visible now.
  const existing = await repo.jobByIdempotencyKey(sql, j.queue, j.idempotencyKey!);
  if (!existing) throw new Error('idempotency key conflicted but its job is not visible');
  return { job: existing, created: false };
}

export async function enqueue(deps: JobsDeps, orgId: string, input: EnqueueInput): Promise<Enqueued> {
  parseEnqueue(input); // before opening a transaction
  return deps.db.tenant(orgId, (sql) => enqueueIn(sql, input));
}

export function getJob(deps: JobsDeps, orgId: string, id: string): Promise<JobRow> {
  return deps.db.tenant(orgId, async (sql) => {
    const job = await repo.getJob(sql, id);
    if (!job) throw notFound('job', id);
    return job;
  });
}

export function listJobs(deps: JobsDeps, orgId: string, f: JobFilter): Promise<JobRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listJobs(sql, f));
}

async function refuse(sql: Sql, id: string, wanted: string): Promise<never> {
  const job = await repo.getJob(sql, id);
  if (!job) throw notFound('job', id);
  throw conflict(`job ${id} is ${job.status}; ${wanted}`, { status: job.status });
}

/** Only a job that has not started (queued, or failed and waiting for its retry) can be cancelled. */
export function cancelJob(deps: JobsDeps, actor: Actor, id: string): Promise<JobRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const job = await repo.cancelJob(sql, id);
    if (!job) return refuse(sql, id, 'only a queued job, or a failed one waiting for its retry, can be cancelled');
    await appendAudit(sql, actor, { action: 'job.cancel', resourceType: 'job', resourceId: id, newValues: { status: job.status } });
    return job;
  });
}

/** A dead-lettered job runs again, with all its attempts. */
export function redriveJob(deps: JobsDeps, actor: Actor, id: string): Promise<JobRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const job = await repo.redriveJob(sql, id);
    if (!job) return refuse(sql, id, 'only a dead job can be redriven');
    await appendAudit(sql, actor, { action: 'job.redrive', resourceType: 'job', resourceId: id, newValues: { status: job.status } });
    return job;
  });
}
