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

/**
 * Enqueues many jobs in one statement inside the caller's tenant transaction
 * (one round trip instead of one per job). All are validated first: one bad
 * input refuses the call and enqueues nothing. Answers in input order.
 */
export async function enqueueManyIn(sql: Sql, inputs: EnqueueInput[]): Promise<Enqueued[]> {
  const parsed = inputs.map((input, i) => {
    const r = EnqueueInput.safeParse(input);
    if (!r.success) {
      throw validationFailed(`job ${i} is not valid`, r.error.issues.map((x) => ({ path: [i, ...x.path].join('.'), message: x.message })));
    }
    return r.data;
  });
  const rows = parsed.map((j) => ({
    id: uuidv7(), queue: j.queue, task: j.task, payload: j.payload, priority: j.priority,
    runAt: j.runAt === undefined ? null : new Date(j.runAt).toISOString(), maxAttempts: j.maxAttempts,
    idempotencyKey: j.idempotencyKey ?? null,
  }));
  const created = new Map((await repo.insertJobs(sql, rows)).map((job) => [job.id, job]));
  const taken = rows.filter((r) => !created.has(r.id)).map((r) => ({ queue: r.queue, key: r.idempotencyKey! }));
  const existing = new Map((await repo.jobsByIdempotencyKeys(sql, taken)).map((job) => [`${job.queue}\u0000${job.idempotencyKey}`, job]));
  return rows.map((r) => {
    const job = created.get(r.id);
    if (job) return { job, created: true };
    const other = existing.get(`${r.queue}\u0000${r.idempotencyKey}`);
    if (!other) throw new Error('idempotency key conflicted but its job is not visible');
    return { job: other, created: false };
  });
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
