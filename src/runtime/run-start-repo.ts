import type { Sql } from '../db/index.js';

/**
 * Starting a queued run as a compare-and-set. Ingestion cannot do it: it
 * accepts running → running (an update that repeats the status), so two
 * deliveries of one agent.run job that both read `queued` would both start
 * the run. Here only the update that finds the row still queued wins.
 * (created_at is the partition key: naming it reads one partition.)
 */
export async function startQueuedExecution(
  sql: Sql,
  orgId: string,
  e: { id: string; createdAt: Date; startedAt: Date; queueTimeMs: number },
): Promise<boolean> {
  const r = await sql.query(
    `UPDATE executions SET status = 'running', started_at = $4, queue_time_ms = $5
     WHERE org_id = $1 AND id = $2 AND created_at = $3 AND status = 'queued'
     RETURNING id`,
    [orgId, e.id, e.createdAt.toISOString(), e.startedAt.toISOString(), Math.max(0, Math.round(e.queueTimeMs))],
  );
  return r.rows.length === 1;
}
