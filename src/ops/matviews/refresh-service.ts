import { performance } from 'node:perf_hooks';
import type { Database } from '../../db/index.js';
import * as repo from './refresh-repo.js';
import { findMatview, MATVIEWS, type MatviewSpec } from './registry.js';

export interface MatviewsOptions {
  /** default seconds between refreshes (AGENTBASE_MATVIEW_REFRESH_SECONDS); a view's own intervalSeconds wins */
  intervalSeconds: number;
  /** the views; default MATVIEWS */
  registry?: readonly MatviewSpec[];
}

export const DEFAULT_MATVIEW_REFRESH_SECONDS = 300;

export type RefreshOutcome =
  | { name: string; status: 'refreshed'; concurrent: boolean; rows: number; durationMs: number; startedAt: Date; finishedAt: Date }
  /** another refresh of the view held its lock: that one brings it up to date */
  | { name: string; status: 'skipped'; reason: 'running' };

export class MatviewRefreshError extends Error {
  constructor(readonly view: string, readonly concurrent: boolean, cause: unknown) {
    super(`refreshing materialized view ${view}${concurrent ? ' concurrently' : ''} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MatviewRefreshError';
  }
}

/**
 * Refreshes one registered view as the owner: a plain REFRESH while it is not
 * populated (CONCURRENTLY refuses an unpopulated view) or has no valid unique
 * index, CONCURRENTLY afterwards, so readers keep the old rows until the new
 * ones commit. Every attempt is recorded in matview_refreshes with its
 * duration; a failure is recorded with its error and thrown as a
 * MatviewRefreshError. An unregistered name is refused before anything runs.
 */
export async function refreshMatview(db: Database, name: string, registry: readonly MatviewSpec[] = MATVIEWS): Promise<RefreshOutcome> {
  const spec = findMatview(name, registry);
  if (!spec) throw new RangeError(`${JSON.stringify(name)} is not a registered materialized view (${registry.map((m) => m.name).join(', ')})`);
  const startedAt = new Date();
  let concurrent = false;
  let t0 = performance.now();
  try {
    return await db.admin.transaction(async (sql) => {
      if (!(await repo.tryLockView(sql, spec.name))) return { name: spec.name, status: 'skipped', reason: 'running' } as const;
      const state = await repo.viewState(sql, spec);
      if (!state) throw new Error(`materialized view ${spec.name} does not exist (is its migration applied?)`);
      concurrent = state.populated && state.uniqueIndexReady;
      t0 = performance.now();
      await repo.refresh(sql, spec, concurrent);
      const rows = await repo.countRows(sql, spec);
      const durationMs = performance.now() - t0;
      const finishedAt = new Date();
      await repo.insertRefresh(sql, { name: spec.name, startedAt, finishedAt, durationMs, rows, concurrent, error: null });
      return { name: spec.name, status: 'refreshed', concurrent, rows, durationMs, startedAt, finishedAt } as const;
    });
  } catch (err) {
    const failure = new MatviewRefreshError(spec.name, concurrent, err);
    // The refresh's transaction rolled back, so the failure is written on its own.
    await db.admin.transaction((sql) =>
      repo.insertRefresh(sql, {
        name: spec.name, startedAt, finishedAt: new Date(), durationMs: performance.now() - t0, rows: null, concurrent,
        error: err instanceof Error ? err.message : String(err),
      }));
    throw failure;
  }
}

/** Every registered view, one after another; one that fails is reported and the rest still refresh. */
export async function refreshAllMatviews(
  db: Database, registry: readonly MatviewSpec[] = MATVIEWS,
): Promise<Array<RefreshOutcome | { name: string; status: 'failed'; error: string }>> {
  const out: Array<RefreshOutcome | { name: string; status: 'failed'; error: string }> = [];
  for (const spec of registry) {
    try {
      out.push(await refreshMatview(db, spec.name, registry));
    } catch (err) {
      out.push({ name: spec.name, status: 'failed', error: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

export interface MatviewStatus {
  name: string;
  intervalSeconds: number;
  /** null: the view does not exist; false: never refreshed */
  populated: boolean | null;
  /** when the last successful refresh finished; null: none recorded */
  refreshedAt: string | null;
  /** seconds since then (null when never); what GET /v1/ops/overview and /metrics report */
  stalenessSeconds: number | null;
  /** never refreshed, or not within two intervals */
  stale: boolean;
  lastDurationMs: number | null;
  lastRows: number | null;
  lastConcurrent: boolean | null;
  /** the most recent attempt, when it failed */
  lastError: { at: string; message: string } | null;
}

export const intervalOf = (spec: MatviewSpec, opts: MatviewsOptions): number => spec.intervalSeconds ?? opts.intervalSeconds;

/** The refresh state of every registered view (owner reads; no tenant data). */
export async function matviewStatus(db: Database, opts: MatviewsOptions = { intervalSeconds: DEFAULT_MATVIEW_REFRESH_SECONDS }, now = new Date()): Promise<MatviewStatus[]> {
  const registry = opts.registry ?? MATVIEWS;
  const last = await db.admin.transaction((sql) => repo.lastRefreshes(sql, registry.map((m) => m.name)));
  return registry.map((spec, i) => {
    const l = last[i]!;
    const interval = intervalOf(spec, opts);
    const staleness = l.ok ? Math.max(0, (now.getTime() - l.ok.finishedAt.getTime()) / 1000) : null;
    return {
      name: spec.name,
      intervalSeconds: interval,
      populated: l.populated,
      refreshedAt: l.ok?.finishedAt.toISOString() ?? null,
      stalenessSeconds: staleness,
      stale: staleness === null || staleness > 2 * interval,
      lastDurationMs: l.ok?.durationMs ?? null,
      lastRows: l.ok?.rows ?? null,
      lastConcurrent: l.ok?.concurrent ?? null,
      lastError: l.failed ? { at: l.failed.finishedAt.toISOString(), message: l.failed.error ?? '' } : null,
    };
  });
}
