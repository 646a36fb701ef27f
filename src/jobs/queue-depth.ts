import type { Database } from '../db/index.js';
import { queueDepthRows, type QueueDepthRow } from './queue-depth-repo.js';

/**
 * Unfinished jobs by queue and task across every organization, for operators
 * (the ops overview and /metrics): counts and ages, never payloads.
 *
 * background_jobs is under forced RLS and the owner has no policy on it, so an
 * owner that is not a superuser would silently count nothing. The read runs as
 * agentbase_auth instead, the role whose policy lets the worker functions see
 * every tenant's jobs (migration 0009); the owner is a member of it (0001).
 * At most `limit` groups (default 200), fullest first, so a label set stays bounded.
 */
export function queueDepth(db: Database, limit = 200): Promise<QueueDepthRow[]> {
  return db.admin.transaction(async (sql) => {
    await sql.query(`SELECT set_config('role', 'agentbase_auth', true)`);
    return queueDepthRows(sql, Math.max(1, Math.min(1000, Math.trunc(limit))));
  });
}

/**
 * The same figures for one organization's jobs (GET /v1/jobs/depth, the
 * console's queue view): the statement runs in the tenant's transaction, so
 * row-level security keeps it to that organization's jobs.
 */
export function orgQueueDepth(db: Database, orgId: string, limit = 200): Promise<QueueDepthRow[]> {
  return db.tenantRead(orgId, (sql) => queueDepthRows(sql, Math.max(1, Math.min(1000, Math.trunc(limit)))));
}

export type { QueueDepthRow };
