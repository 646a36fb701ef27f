import type { RetentionConfig } from '../../config/index.js';
import type { Database } from '../../db/index.js';
import { AppError } from '../../errors.js';
import { maxDays, retentionCategories, type RetentionCategory } from './categories.js';
import * as repo from './retention-repo.js';

export interface RetentionDeps {
  db: Database;
  config: RetentionConfig;
}

export interface PolicyView {
  category: string;
  description: string;
  /** the period in force: the organization's, else the platform's (null: kept indefinitely) */
  days: number | null;
  /** whether the organization set it */
  configured: boolean;
  platformDays: number | null;
  minDays: number;
  maxDays: number;
  updatedAt: Date | null;
}

export async function getRetention(deps: RetentionDeps, orgId: string): Promise<{ data: PolicyView[] }> {
  const rows = await deps.db.tenant(orgId, (sql) => repo.listPolicies(sql, orgId));
  const byCategory = new Map(rows.map((r) => [r.category, r]));
  return {
    data: retentionCategories(deps.config).map((c) => {
      const set = byCategory.get(c.category);
      return {
        category: c.category,
        description: c.description,
        days: set?.days ?? c.platformDays,
        configured: set !== undefined,
        platformDays: c.platformDays,
        minDays: c.minDays,
        maxDays: maxDays(c),
        updatedAt: set?.updatedAt ?? null,
      };
    }),
  };
}

function outOfBounds(c: RetentionCategory, days: number): AppError | undefined {
  const max = maxDays(c);
  if (days > max) {
    return new AppError(400, 'retention_out_of_bounds',
      c.platformDays === null
        ? `${c.category}: ${days} days is more than the longest period allowed (${max} days)`
        : `${c.category}: ${days} days exceeds the platform's retention of ${max} days; an organization may shorten it, not extend it`,
      { category: c.category, days, maxDays: max });
  }
  if (days < c.minDays) {
    return new AppError(400, 'retention_out_of_bounds',
      `${c.category}: ${days} days is less than the minimum of ${c.minDays} days`, { category: c.category, days, minDays: c.minDays });
  }
  return undefined;
}

/**
 * Sets (a number of days) or clears (null: back to the platform period) the
 * given categories. Every value is checked before anything is written.
 */
export async function putRetention(deps: RetentionDeps, orgId: string, changes: Record<string, number | null>): Promise<{ data: PolicyView[] }> {
  const categories = new Map(retentionCategories(deps.config).map((c) => [c.category, c]));
  for (const [name, days] of Object.entries(changes)) {
    const c = categories.get(name);
    if (!c) {
      throw new AppError(400, 'bad_request', `unknown retention category ${name}; known: ${[...categories.keys()].join(', ')}`, { category: name });
    }
    if (days !== null) {
      const err = outOfBounds(c, days);
      if (err) throw err;
    }
  }
  await deps.db.tenant(orgId, async (sql) => {
    for (const [name, days] of Object.entries(changes)) {
      if (days === null) await repo.clearPolicy(sql, orgId, name);
      else await repo.setPolicy(sql, orgId, name, days);
    }
  });
  return getRetention(deps, orgId);
}

export interface EnforceResult {
  deleted: number;
  /** organization/category pairs that hit the batch limit (the rest waits for the next run) */
  unfinished: number;
}

/**
 * Maintenance: for each organization's policy, deletes its rows older than the
 * period in bounded batches, each batch its own short transaction so no lock
 * is held long and other writers interleave.
 */
export async function enforceRetention(deps: RetentionDeps, now = new Date()): Promise<EnforceResult> {
  const categories = new Map(retentionCategories(deps.config).map((c) => [c.category, c]));
  const policies = await repo.allPolicies(deps.db.admin);
  // children before parents, in the categories' order
  const order = [...categories.keys()];
  policies.sort((a, b) => order.indexOf(a.category) - order.indexOf(b.category));
  let deleted = 0;
  let unfinished = 0;
  // audit_pii outlives nothing: past the audit partitions' retention its rows describe audit rows already dropped.
  const audit = categories.get('audit')!;
  const auditCutoff = new Date(now.getTime() - maxDays(audit) * 86_400_000);
  for (let batches = 0; ; ) {
    const n = await deps.db.admin.transaction((sql) => repo.deleteBatchAllOrgs(sql, audit.table, audit.timeColumn, auditCutoff, deps.config.batchSize));
    deleted += n;
    if (n < deps.config.batchSize) break;
    if (++batches >= deps.config.maxBatches) {
      unfinished += 1;
      break;
    }
  }
  for (const p of policies) {
    const c = categories.get(p.category);
    if (!c) continue;
    // a policy set before the platform shortened its bounds is held to them
    const days = Math.min(Math.max(p.days, c.minDays), maxDays(c));
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    let batches = 0;
    for (;;) {
      const n = await deps.db.admin.transaction((sql) => repo.deleteBatch(sql, c.table, c.timeColumn, p.orgId, cutoff, deps.config.batchSize));
      deleted += n;
      batches += 1;
      if (n < deps.config.batchSize) break;
      if (batches >= deps.config.maxBatches) {
        unfinished += 1;
        break;
      }
    }
  }
  return { deleted, unfinished };
}
