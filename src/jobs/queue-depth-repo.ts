import type { Sql } from '../db/index.js';

/** Unfinished jobs of one queue and task, across every organization (operators' view: counts only). */
export interface QueueDepthRow {
  queue: string;
  task: string;
  /** queued or failed-awaiting-retry with run_at reached: claimable now */
  ready: number;
  /** queued or failed with run_at still ahead (delayed, or backing off) */
  scheduled: number;
  running: number;
  /** seconds since the oldest ready job's run_at (how long it has waited to be claimed); null when none is ready */
  oldestReadySeconds: number | null;
}

/**
 * One statement over the unfinished jobs only (both partial indexes of
 * migration 0009 cover them), so its cost follows the backlog, not history.
 * The caller runs it as agentbase_auth: see queueDepth().
 */
export async function queueDepthRows(sql: Sql, limit: number): Promise<QueueDepthRow[]> {
  const r = await sql.query<QueueDepthRow>(
    `SELECT queue, task,
       count(*) FILTER (WHERE status IN ('queued', 'failed') AND run_at <= now())::int AS ready,
       count(*) FILTER (WHERE status IN ('queued', 'failed') AND run_at > now())::int AS scheduled,
       count(*) FILTER (WHERE status = 'running')::int AS running,
       extract(epoch FROM now() - min(run_at) FILTER (WHERE status IN ('queued', 'failed') AND run_at <= now()))::float8
         AS "oldestReadySeconds"
     FROM background_jobs
     WHERE status IN ('queued', 'failed', 'running')
     GROUP BY queue, task
     ORDER BY ready DESC, queue, task
     LIMIT $1`,
    [limit],
  );
  return r.rows;
}
