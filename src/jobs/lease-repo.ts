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

export async function claimJobs(db: Database, workerId: string, queues: string[] | null, limit: number, leaseMs: number): Promise<ClaimedJob[]> {
  return db.transaction(async (sql) => {
    const r = await sql.query<ClaimedJob>(
      `SELECT id, org_id AS "orgId", queue, task, payload, priority, attempts, max_attempts AS "maxAttempts",
              run_at AS "runAt", locked_until AS "lockedUntil", created_at AS "createdAt"
       FROM jobs_claim($1, $2::text[], $3, $4)`,
      [workerId, queues, limit, Math.round(leaseMs)],
    );
    return r.rows;
  });
}

/** The ids whose leases were extended; a lease missing from the answer was lost. */
export async function heartbeatJobs(db: Database, workerId: string, leases: Lease[], leaseMs: number): Promise<Set<string>> {
  if (!leases.length) return new Set();
  return db.transaction(async (sql) => {
    const r = await sql.query<{ id: string }>(`SELECT id FROM jobs_heartbeat($1, $2::uuid[], $3::int[], $4) AS id`, [
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
  const done = outcomes.filter((o) => o.ok);
  const failed = outcomes.filter((o) => !o.ok);
  return db.transaction(async (sql) => {
    const r = await sql.query<{ id: string; status: 'succeeded' | 'failed' | 'dead' }>(
      `SELECT id, 'succeeded' AS status FROM jobs_complete_many($1, $2::uuid[], $3::int[], $4::jsonb[]) AS id
       UNION ALL
       SELECT id, status FROM jobs_fail_many($1, $5::uuid[], $6::int[], $7::text[], $8::boolean[], $9::int[])`,
      [
        workerId, done.map((o) => o.lease.id), done.map((o) => o.lease.attempts), done.map((o) => o.resultJson),
        failed.map((o) => o.lease.id), failed.map((o) => o.lease.attempts), failed.map((o) => o.error),
        failed.map((o) => o.retry), failed.map((o) => Math.max(0, Math.round(o.retryDelayMs))),
      ],
    );
    return new Map(r.rows.map((x) => [x.id, x.status]));
  });
}

/** Hands leases back (the job is queued again, the attempt not counted); returns the ids released. */
export async function releaseJobs(db: Database, workerId: string, leases: Lease[]): Promise<string[]> {
  if (!leases.length) return [];
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
