import type { Database } from '../db/index.js';

/**
 * The worker's side of the queue: calls to the SECURITY DEFINER functions of
 * migration 0009 (owned by agentbase_auth), each in its own app-role
 * transaction with no tenant, because a worker serves every organization.
 */

/** A leased job as its handler receives it. */
export interface ClaimedJob {
  id: string;
  orgId: string;
  queue: string;
  task: string;
  payload: unknown;
  priority: number;
  /** this attempt's number, from 1; with the worker id it fences the lease */
  attempts: number;
  maxAttempts: number;
  runAt: Date;
  lockedUntil: Date;
  createdAt: Date;
}

/** A lease: the job and the attempt that holds it. */
export interface Lease {
  id: string;
  attempts: number;
}

/**
 * A lease is acknowledged without waiting for its WAL to reach disk
 * (synchronous_commit off for this transaction only): a claim lost in a server
 * crash leaves the job claimable, and the worker that held it then finds the
 * lease gone at its next heartbeat or outcome (fencing). Delivery stays at
 * least once; the worker saves a disk flush per claim. Outcomes still commit
 * synchronously, and their flush makes every earlier claim durable too.
 */
const ASYNC_COMMIT = `set_config('synchronous_commit', 'off', true)`;

/**
 * The statements that change many jobs (heartbeats, outcomes, releases) lock
 * their rows in the order of the arrays they are given, and one worker's
 * heartbeat and outcome write can run at once over the same jobs: in id order
 * they wait for each other instead of deadlocking.
 */
const byId = <T extends { lease: Lease } | Lease>(xs: readonly T[]): T[] =>
  [...xs].sort((a, b) => {
    const x = 'lease' in a ? a.lease.id : a.id;
    const y = 'lease' in b ? b.lease.id : b.id;
    return x < y ? -1 : x > y ? 1 : 0;
  });

export async function claimJobs(db: Database, workerId: string, queues: string[] | null, limit: number, leaseMs: number): Promise<ClaimedJob[]> {
  return db.transaction(async (sql) => {
    // Times travel as epoch milliseconds: a number is cheaper to turn into a Date than timestamp text, per job.
    const r = await sql.query<Omit<ClaimedJob, 'runAt' | 'lockedUntil' | 'createdAt'> & { runAt: number; lockedUntil: number; createdAt: number }>(
      `SELECT c.id, c.org_id AS "orgId", c.queue, c.task, c.payload, c.priority, c.attempts, c.max_attempts AS "maxAttempts",
              (extract(epoch FROM c.run_at) * 1000)::float8 AS "runAt", (extract(epoch FROM c.locked_until) * 1000)::float8 AS "lockedUntil",
              (extract(epoch FROM c.created_at) * 1000)::float8 AS "createdAt"
       FROM ${ASYNC_COMMIT} AS async, jobs_claim($1, $2::text[], $3, $4) AS c`,
      [workerId, queues, limit, Math.round(leaseMs)],
    );
    return r.rows.map((j) => ({ ...j, runAt: new Date(j.runAt), lockedUntil: new Date(j.lockedUntil), createdAt: new Date(j.createdAt) }));
  });
}

/** The ids whose leases were extended; a lease missing from the answer was lost. */
export async function heartbeatJobs(db: Database, workerId: string, held: Lease[], leaseMs: number): Promise<Set<string>> {
  if (!held.length) return new Set();
  const leases = byId(held);
  return db.transaction(async (sql) => {
    // Asynchronous like a claim: a lost extension can only make the lease end sooner (the job runs again).
    const r = await sql.query<{ id: string }>(`SELECT h.id FROM ${ASYNC_COMMIT} AS async, jobs_heartbeat($1, $2::uuid[], $3::int[], $4) AS h(id)`, [
      workerId, leases.map((l) => l.id), leases.map((l) => l.attempts), Math.round(leaseMs),
    ]);
    return new Set(r.rows.map((x) => x.id));
  });
}

/** False when the lease was no longer held (the outcome was not recorded). */
export async function completeJob(db: Database, workerId: string, lease: Lease, resultJson: string): Promise<boolean> {
  return db.transaction(async (sql) => {
    const r = await sql.query<{ ok: boolean }>(`SELECT jobs_complete($1, $2, $3, $4::jsonb) AS ok`, [workerId, lease.id, lease.attempts, resultJson]);
    return r.rows[0]!.ok;
  });
}

/** The job's new status ('failed' to be retried, or 'dead'), or null when the lease was no longer held. */
export async function failJob(
  db: Database, workerId: string, lease: Lease, error: string, retry: boolean, retryDelayMs: number,
): Promise<'failed' | 'dead' | null> {
  return db.transaction(async (sql) => {
    const r = await sql.query<{ status: 'failed' | 'dead' | null }>(`SELECT jobs_fail($1, $2, $3, $4, $5, $6) AS status`, [
      workerId, lease.id, lease.attempts, error, retry, Math.max(0, Math.round(retryDelayMs)),
    ]);
    return r.rows[0]!.status;
  });
}

/** A finished attempt waiting to be recorded. */
export type Outcome =
  | { lease: Lease; ok: true; resultJson: string }
  | { lease: Lease; ok: false; error: string; retry: boolean; retryDelayMs: number };

/**
 * Records many outcomes in one statement (jobs_complete_many and
 * jobs_fail_many of migration 0012, each fenced like its single form).
 * Returns the new status of each job whose lease was still held; a job missing
 * from the answer had lost its lease and nothing was recorded for it.
 */
export async function recordOutcomes(db: Database, workerId: string, outcomes: Outcome[]): Promise<Map<string, 'succeeded' | 'failed' | 'dead'>> {
  if (!outcomes.length) return new Map();
  const sorted = byId(outcomes);
  const done = sorted.filter((o) => o.ok);
  const failed = sorted.filter((o) => !o.ok);
  // One statement either way; a function with nothing to do is left out.
  const completeParams = [done.map((o) => o.lease.id), done.map((o) => o.lease.attempts), done.map((o) => o.resultJson)];
  const failParams = [
    failed.map((o) => o.lease.id), failed.map((o) => o.lease.attempts), failed.map((o) => o.error),
    failed.map((o) => o.retry), failed.map((o) => Math.max(0, Math.round(o.retryDelayMs))),
  ];
  const complete = (n: number) =>
    `SELECT id, 'succeeded' AS status FROM jobs_complete_many($1, $${n}::uuid[], $${n + 1}::int[], $${n + 2}::jsonb[]) AS id`;
  const fail = (n: number) =>
    `SELECT id, status FROM jobs_fail_many($1, $${n}::uuid[], $${n + 1}::int[], $${n + 2}::text[], $${n + 3}::boolean[], $${n + 4}::int[])`;
  const [text, params] = !failed.length
    ? [complete(2), [workerId, ...completeParams]]
    : !done.length
      ? [fail(2), [workerId, ...failParams]]
      : [`${complete(2)} UNION ALL ${fail(5)}`, [workerId, ...completeParams, ...failParams]];
  return db.transaction(async (sql) => {
    const r = await sql.query<{ id: string; status: 'succeeded' | 'failed' | 'dead' }>(text, params);
    return new Map(r.rows.map((x) => [x.id, x.status]));
  });
}

/** Hands leases back (the job is queued again, the attempt not counted); returns the ids released. */
export async function releaseJobs(db: Database, workerId: string, held: Lease[]): Promise<string[]> {
  if (!held.length) return [];
  const leases = byId(held);
  return db.transaction(async (sql) => {
    const r = await sql.query<{ id: string }>(`SELECT id FROM jobs_release($1, $2::uuid[], $3::int[]) AS id`, [
      workerId, leases.map((l) => l.id), leases.map((l) => l.attempts),
    ]);
    return r.rows.map((x) => x.id);
  });
}

/** Makes expired leases claimable again (jobs_claim does this itself first); returns how many. */
export async function reclaimExpiredJobs(db: Database, limit = 1000): Promise<number> {
  return db.transaction(async (sql) => {
    const r = await sql.query<{ n: number }>(`SELECT jobs_reclaim_expired($1) AS n`, [limit]);
    return r.rows[0]!.n;
  });
}
