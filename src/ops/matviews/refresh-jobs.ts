import type { Database } from '../../db/index.js';
import { enqueueManyIn, PermanentJobError, type ClaimedJob, type EnqueueInput, type JobHandler } from '../../jobs/index.js';
import * as repo from './refresh-repo.js';
import { intervalOf, refreshMatview, type MatviewsOptions } from './refresh-service.js';
import { findMatview, MATVIEWS } from './registry.js';

/**
 * The schedule, on the job queue. Maintenance (server.ts maintain()) enqueues
 * one `ops.refresh_matview` job per view and slot (a multiple of the view's
 * interval) for every slot from now to the next maintenance pass, each to run
 * at its slot, keyed by view, interval and slot: passes that overlap enqueue
 * nothing twice, and replicas running maintenance at once neither. Maintenance
 * runs hourly by default while views refresh every few minutes, hence the
 * slots ahead. A job that finds a refresh started since its slot began (a
 * backlog after the worker was down) does nothing.
 *
 * Jobs belong to an organization; these belong to none, so they are queued
 * under the system organization of migration 0027 (ops_system_org_id()).
 */

export const MATVIEW_REFRESH_TASK = 'ops.refresh_matview';
const QUEUE = 'ops';
/** Slots enqueued ahead per view at most, whatever the horizon. */
const MAX_SLOTS_AHEAD = 500;
const HISTORY_DAYS = 30;

export async function systemOrgId(db: Database): Promise<string> {
  const r = await db.admin.query<{ id: string }>('SELECT ops_system_org_id()::text AS id');
  return r.rows[0]!.id;
}

export interface EnqueueOptions extends MatviewsOptions {
  /** enqueue the slots up to now + this (the maintenance interval); default 0: the current slot only */
  horizonSeconds?: number;
}

/** Maintenance: the refresh jobs of the coming slots, and history past 30 days pruned. Returns how many jobs were new. */
export async function enqueueMatviewRefreshes(db: Database, now: Date, opts: EnqueueOptions): Promise<number> {
  const registry = opts.registry ?? MATVIEWS;
  const horizon = Math.max(0, opts.horizonSeconds ?? 0);
  const inputs: EnqueueInput[] = [];
  for (const m of registry) {
    const spec = findMatview(m.name, registry)!;
    const interval = intervalOf(spec, opts);
    const first = Math.floor(now.getTime() / 1000 / interval);
    const last = Math.min(first + MAX_SLOTS_AHEAD - 1, Math.floor((now.getTime() / 1000 + horizon) / interval));
    for (let slot = first; slot <= last; slot++) {
      inputs.push({
        // The slot's start travels in the payload: run_at moves when a job is retried, released by a
        // stopping worker or its lease expires, and the skip below is about the slot, not the attempt.
        queue: QUEUE, task: MATVIEW_REFRESH_TASK, payload: { name: spec.name, slotStart: new Date(slot * interval * 1000).toISOString() },
        runAt: new Date(slot * interval * 1000),
        // One retry: the next slot comes soon anyway.
        maxAttempts: 2,
        idempotencyKey: `${MATVIEW_REFRESH_TASK}:${spec.name}:${interval}:${slot}`,
      });
    }
  }
  await db.admin.transaction((sql) => repo.pruneRefreshes(sql, new Date(now.getTime() - HISTORY_DAYS * 86_400_000)));
  if (!inputs.length) return 0;
  const org = await systemOrgId(db);
  const done = await db.tenant(org, (sql) => enqueueManyIn(sql, inputs));
  return done.filter((d) => d.created).length;
}

function payloadName(job: ClaimedJob): string {
  const p = job.payload as { name?: unknown } | null;
  if (!p || typeof p.name !== 'string') throw new PermanentJobError('payload.name must name a materialized view');
  return p.name;
}

/** When the job's slot began: payload.slotStart, else (a job enqueued before it was recorded) its run_at. */
function slotStart(job: ClaimedJob): Date {
  const s = (job.payload as { slotStart?: unknown } | null)?.slotStart;
  const t = typeof s === 'string' ? new Date(s) : null;
  return t && !Number.isNaN(t.getTime()) ? t : job.runAt;
}

/** `ops.refresh_matview`: refreshes payload.name unless a refresh started since the job's slot began. */
export function matviewJobHandlers(deps: { db: Database } & Partial<MatviewsOptions>): Record<string, JobHandler> {
  const registry = deps.registry ?? MATVIEWS;
  return {
    [MATVIEW_REFRESH_TASK]: async (job) => {
      const name = payloadName(job);
      if (!findMatview(name, registry)) throw new PermanentJobError(`${name} is not a registered materialized view`);
      const [last] = await deps.db.admin.transaction((sql) => repo.lastRefreshes(sql, [name]));
      // A refresh that started after the slot began holds everything up to it, while the view is
      // populated (a restore brings the history back but not the views' rows).
      if (last?.ok && last.populated && last.ok.startedAt >= slotStart(job)) {
        return { name, status: 'skipped', reason: 'fresh', refreshedAt: last.ok.finishedAt.toISOString() };
      }
      // A failure is recorded in matview_refreshes and fails the job with the same message.
      const r = await refreshMatview(deps.db, name, registry);
      return r.status === 'refreshed'
        ? { name, status: r.status, concurrent: r.concurrent, rows: r.rows, durationMs: Math.round(r.durationMs * 1000) / 1000 }
        : r;
    },
  };
}
