import type { Database } from '../db/index.js';
import * as repo from './jobs-repo.js';

const DAY_MS = 86_400_000;

export interface PruneOptions {
  /**
   * Dead jobs (the dead letter) are kept until they are redriven, or, when
   * this is set, deleted this many days after they died. Default: kept.
   */
  deadOlderThanDays?: number | null;
  /** rows deleted per statement; default 5000 */
  batchSize?: number;
}

/**
 * The smallest UUIDv7 of a millisecond. Job ids are UUIDv7 made at enqueue and
 * a job finishes after it is created, so every job finished before `t` has an
 * id below this: the bound turns the delete into a range of the
 * (org_id, status, id) index instead of a scan of every finished job.
 */
function uuidv7Floor(t: Date): string {
  const h = Math.max(0, t.getTime()).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`;
}

/**
 * Retention (maintenance): deletes succeeded and cancelled jobs that finished
 * more than `olderThanDays` days before `now`, one organization at a time in
 * its own tenant transactions (RLS applies), in batches. Jobs waiting, running
 * or failed and waiting for a retry are never deleted; dead jobs see
 * PruneOptions.deadOlderThanDays. An idempotency key is honoured only while its
 * job exists: after the job is pruned the key may enqueue again.
 * Returns how many jobs were deleted.
 */
export async function pruneFinishedJobs(db: Database, now = new Date(), olderThanDays = 7, opts: PruneOptions = {}): Promise<number> {
  if (!(olderThanDays >= 0)) throw new RangeError('olderThanDays must not be negative');
  const dead = opts.deadOlderThanDays ?? null;
  if (dead !== null && !(dead >= 0)) throw new RangeError('deadOlderThanDays must not be negative');
  const batch = Math.max(1, Math.min(100_000, opts.batchSize ?? 5000));
  const rules: Array<{ status: 'succeeded' | 'cancelled' | 'dead'; before: Date }> = [
    { status: 'succeeded', before: new Date(now.getTime() - olderThanDays * DAY_MS) },
    { status: 'cancelled', before: new Date(now.getTime() - olderThanDays * DAY_MS) },
  ];
  if (dead !== null) rules.push({ status: 'dead', before: new Date(now.getTime() - dead * DAY_MS) });

  const orgs = await db.transaction((sql) => repo.organizationIds(sql));
  let deleted = 0;
  for (const orgId of orgs) {
    for (const rule of rules) {
      for (;;) {
        const n = await db.tenant(orgId, (sql) =>
          repo.deleteFinishedJobs(sql, orgId, rule.status, rule.before.toISOString(), uuidv7Floor(rule.before), batch));
        deleted += n;
        if (n < batch) break;
      }
    }
  }
  return deleted;
}
