import { ensureDayPartitions } from '../db/index.js';
import { notFound, validationFailed } from '../errors.js';
import { clock } from './deps.js';
import * as items from './knowledge-repo.js';
import * as repo from './knowledge-metrics-repo.js';
import type { DayCounts } from './knowledge-metrics-repo.js';
import type { MemoryModule } from './module.js';

export type { DayCounts } from './knowledge-metrics-repo.js';

const DAY = 86_400_000;
/** A metrics read answers at most this many days (a year and a day, so any calendar year fits). */
export const MAX_METRIC_DAYS = 366;
const DEFAULT_DAYS = 30;

const utcDay = (d: Date) => Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());

/** Daily partitions known to exist, per database: each day is ensured once per process. */
const knownDays = new WeakMap<object, Set<number>>();

/**
 * Makes sure the daily partition holding `at` exists (DDL as the owner, no
 * tenant data). Maintenance keeps a week ahead; this covers a process that
 * has run longer than that without it, and clocks set in tests. Call it
 * before opening the tenant transaction that writes the event.
 */
export async function ensureMetricPartition(m: MemoryModule, at: Date): Promise<void> {
  let known = knownDays.get(m.db);
  if (!known) knownDays.set(m.db, (known = new Set()));
  const day = utcDay(at);
  if (known.has(day)) return;
  await ensureDayPartitions(m.db, [{ table: 'knowledge_metrics', day: new Date(day) }]);
  known.add(day);
}

/**
 * One 'search_hit' per item a search answered with. Called after the answer
 * is sent: the caller logs a failure, the searcher never sees it.
 */
export async function recordSearchHits(m: MemoryModule, orgId: string, knowledgeIds: readonly string[]): Promise<void> {
  if (!knowledgeIds.length) return;
  const at = clock(m);
  await ensureMetricPartition(m, at);
  await m.db.tenant(orgId, (sql) =>
    repo.insertMetricEvents(sql, orgId, knowledgeIds.map((knowledgeId) => ({ knowledgeId, agentId: null, event: 'search_hit' as const, at }))),
  );
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Reads, search hits and transfers of a live item per UTC day, from `from`
 * to `to` (YYYY-MM-DD, both inclusive; default the 30 days up to today).
 */
export async function dailyMetrics(
  m: MemoryModule,
  orgId: string,
  id: string,
  q: { from?: string | undefined; to?: string | undefined },
): Promise<{ from: string; to: string; days: DayCounts[] }> {
  const to = q.to ? Date.parse(`${q.to}T00:00:00Z`) : utcDay(clock(m));
  const from = q.from ? Date.parse(`${q.from}T00:00:00Z`) : to - (DEFAULT_DAYS - 1) * DAY;
  if (from > to) throw validationFailed('query.from: must not be after to', [{ path: 'query.from', message: 'must not be after to' }]);
  const span = (to - from) / DAY + 1;
  if (span > MAX_METRIC_DAYS) {
    const message = `the range spans ${span} days, more than ${MAX_METRIC_DAYS}; narrow from/to`;
    throw validationFailed(`query.from: ${message}`, [{ path: 'query.from', message }]);
  }
  const days = await m.db.tenant(orgId, async (sql) => {
    if (!(await items.getItem(sql, orgId, id))) throw notFound('knowledge item', id);
    return repo.dailyCounts(sql, orgId, id, isoDay(from), isoDay(to));
  });
  return { from: isoDay(from), to: isoDay(to), days };
}
