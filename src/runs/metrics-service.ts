import { resolveAgentRef } from '../agents/index.js';
import { DAILY_PARTITIONED_TABLES, ensureDayPartitions } from '../db/index.js';
import { validationFailed, type Issue } from '../errors.js';
import { clock, type RunsDeps } from './deps.js';
import * as repo from './metrics-repo.js';
import { BUCKET_UNITS, type MetricInterval, type MetricPoint, type MetricRow } from './metrics-repo.js';
import { checkRangeOrder } from './query-range.js';

export type { MetricInterval, MetricPoint, MetricRow } from './metrics-repo.js';

export const MAX_METRICS_PER_REQUEST = 1000;
export const METRIC_INTERVALS = Object.keys(BUCKET_UNITS) as [MetricInterval, ...MetricInterval[]];
/** A series answers at most this many buckets (rows over all types). */
export const MAX_SERIES_BUCKETS = 1000;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const INTERVAL_MS: Record<MetricInterval, number> = { hour: HOUR, day: DAY };
const DEFAULT_RAW_MS = DAY;
const DEFAULT_SERIES_MS = 7 * DAY;

const METRICS_TABLE = DAILY_PARTITIONED_TABLES.find((t) => t.table === 'agent_metrics')!;

export interface MetricInput {
  type: string;
  value: number;
  recordedAt?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** The times agent_metrics accepts: what retention keeps and maintenance creates partitions for. */
export function metricWindow(now: Date): { from: Date; to: Date } {
  return {
    from: new Date(now.getTime() - METRICS_TABLE.retainDays * DAY),
    to: new Date(now.getTime() + METRICS_TABLE.aheadDays * DAY),
  };
}

/**
 * from/to (from inclusive, to exclusive) with defaults: to is now, from is
 * `defaultMs` before to. Shared by the metric and decision reads.
 */
function timeRange(
  q: { from?: string | undefined; to?: string | undefined },
  now: Date,
  defaultMs: number,
): { from: Date; to: Date } {
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - defaultMs);
  checkRangeOrder(from, to);
  return { from, to };
}

const utcDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

/** Daily partitions already known to exist, per database (each day is ensured once per process). */
const knownDays = new WeakMap<object, Set<number>>();

/** Creates the daily partitions the points need (DDL as the owner, no tenant data), so a point from 80 days ago lands. */
async function ensurePartitions(deps: RunsDeps, days: Date[]): Promise<void> {
  let known = knownDays.get(deps.db);
  if (!known) knownDays.set(deps.db, (known = new Set()));
  const todo = [...new Set(days.map((d) => utcDay(d).getTime()))].filter((d) => !known.has(d));
  if (!todo.length) return;
  await ensureDayPartitions(deps.db, todo.map((d) => ({ table: METRICS_TABLE.table, day: new Date(d) })));
  for (const d of todo) known.add(d);
}


/**
 * Stores every point or none: the whole body is validated first (schema,
 * then the time window), then one multi-row INSERT runs in one transaction.
 * Metrics are telemetry like spans, so no audit row: the per-organization
 * audit chain would serialize every metrics write of the organization.
 */
export async function recordMetrics(deps: RunsDeps, orgId: string, agentRef: string, items: MetricInput[]): Promise<{ recorded: number }> {
  const now = clock(deps);
  const w = metricWindow(now);
  const issues: Issue[] = [];
  const rows = items.map((m, i) => {
    // Stored at millisecond precision, so a (recordedAt, id) cursor built from the answer is exact.
    const at = m.recordedAt ? new Date(m.recordedAt) : now;
    if (at < w.from || at > w.to) {
      issues.push({
        path: `body.metrics.${i}.recordedAt`,
        message: `must be within the last ${METRICS_TABLE.retainDays} days and at most ${METRICS_TABLE.aheadDays} days ahead `
          + `(${w.from.toISOString()} to ${w.to.toISOString()}); got ${at.toISOString()}`,
      });
    }
    return { metric_type: m.type, value: m.value, metadata: m.metadata, recorded_at: at.toISOString() };
  });
  if (issues.length) throw validationFailed(`${issues[0]!.path}: ${issues[0]!.message}`, issues);

  await ensurePartitions(deps, rows.map((r) => new Date(r.recorded_at)));
  return deps.db.tenant(orgId, async (sql) => {
    // By id or slug; under RLS another organization's agent is not found, exactly like a missing one.
    const agent = await resolveAgentRef(sql, agentRef);
    return { recorded: await repo.insertMetrics(sql, orgId, agent.id, rows) };
  });
}

export interface MetricQuery {
  type?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** Raw points, newest first; the caller asks for limit + 1 to learn whether another page follows. */
export async function listMetrics(
  deps: RunsDeps,
  orgId: string,
  agentRef: string,
  q: MetricQuery & { after?: { recordedAt: string; id: string } | undefined; limit: number },
): Promise<{ from: Date; to: Date; rows: MetricRow[] }> {
  const { from, to } = timeRange(q, clock(deps), DEFAULT_RAW_MS);
  const rows = await deps.db.tenant(orgId, async (sql) => {
    const { id: agentId } = await resolveAgentRef(sql, agentRef);
    return repo.listMetrics(sql, { agentId, type: q.type, from: from.toISOString(), to: to.toISOString(), after: q.after, limit: q.limit });
  });
  return { from, to, rows };
}

/** Count, average, minimum and maximum per type and UTC hour or day. */
export async function metricSeries(
  deps: RunsDeps,
  orgId: string,
  agentRef: string,
  q: MetricQuery & { interval: MetricInterval },
): Promise<{ from: Date; to: Date; data: MetricPoint[]; truncated: boolean }> {
  const { from, to } = timeRange(q, clock(deps), DEFAULT_SERIES_MS);
  // Buckets align to the UTC epoch for both hour and day, so this counts the buckets the range touches.
  const size = INTERVAL_MS[q.interval];
  const buckets = to > from ? Math.floor((to.getTime() - 1) / size) - Math.floor(from.getTime() / size) + 1 : 0;
  if (buckets > MAX_SERIES_BUCKETS) {
    const message = `the range spans ${buckets} ${q.interval} buckets, more than ${MAX_SERIES_BUCKETS}: narrow from/to or use a longer interval`;
    throw validationFailed(`query.from: ${message}`, [{ path: 'query.from', message }]);
  }
  const rows = await deps.db.tenant(orgId, async (sql) => {
    const { id: agentId } = await resolveAgentRef(sql, agentRef);
    return repo.metricSeries(sql, {
      agentId, type: q.type, from: from.toISOString(), to: to.toISOString(), interval: q.interval, limit: MAX_SERIES_BUCKETS + 1,
    });
  });
  return { from, to, data: rows.slice(0, MAX_SERIES_BUCKETS), truncated: rows.length > MAX_SERIES_BUCKETS };
}
