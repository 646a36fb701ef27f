import { readThrough } from '../cache/index.js';
import { uuidV7Time } from '../db/index.js';
import { notFound } from '../errors.js';
import { COSTS_CACHE_TAG, COSTS_CACHE_TTL_MS, type RunsDeps } from './deps.js';
import { nest } from './forest.js';
import * as repo from './runs-repo.js';
import type { ExecutionFilter, SpanRow } from './runs-repo.js';
import { withSessionKeys } from './session-filter.js';
import * as stats from './stats-repo.js';
import type { ActivityRow, ActivitySplit, CostGroup, LatencyRow } from './stats-repo.js';
import { subtreeOf } from './subtree-repo.js';
import { traceTree } from './trace-tree.js';

export type SpanNode = SpanRow & { children: SpanNode[] };

/**
 * Nests spans under their parent span id (within their execution); spans
 * whose parent is absent are roots, and so is a span whose parent link would
 * close a cycle. Below 100 levels spans are listed flat (see forest.ts).
 */
export function spanTree(spans: SpanRow[]): SpanNode[] {
  const nodes = spans.map((s) => ({ ...s, children: [] as SpanNode[] }));
  const bySpanId = new Map<string, SpanNode>();
  for (const n of nodes) if (!bySpanId.has(`${n.executionId}:${n.spanId}`)) bySpanId.set(`${n.executionId}:${n.spanId}`, n);
  return nest(nodes, (n) => (n.parentSpanId ? bySpanId.get(`${n.executionId}:${n.parentSpanId}`) : undefined), (p, c) => p.children.push(c));
}

export function listExecutions(deps: RunsDeps, orgId: string, f: ExecutionFilter & { sessionId?: string | undefined }) {
  return deps.db.tenantRead(orgId, async (sql) => repo.listExecutions(sql, await withSessionKeys(sql, orgId, f)));
}

export function getExecution(deps: RunsDeps, orgId: string, id: string) {
  const at = uuidV7Time(id);
  return deps.db.tenantRead(orgId, async (sql) => {
    const e = at ? await repo.getExecution(sql, id, at) : undefined;
    if (!e) throw notFound('execution', id);
    const spans = await repo.spansOfExecution(sql, id, at!);
    // The row exists, so the walk from it finds at least the row itself.
    const { subtree, children } = (await subtreeOf(sql, id, at!))!;
    return { ...e, spans: spanTree(spans), subtree, children };
  });
}

/** The execution row alone (no spans), or undefined: for callers that act on its status and totals. */
export function findExecution(deps: RunsDeps, orgId: string, id: string) {
  const at = uuidV7Time(id);
  if (!at) return Promise.resolve(undefined);
  return deps.db.tenant(orgId, (sql) => repo.getExecution(sql, id, at));
}

/**
 * A trace: its totals, its tree (trace-tree.ts), and, as before, the flat
 * list of its executions and the span forest. One row past each limit is
 * read to tell a trace of exactly the limit from a longer one.
 */
export function getTrace(deps: RunsDeps, orgId: string, traceId: string) {
  return deps.db.tenantRead(orgId, async (sql) => {
    const executions = await repo.executionsOfTrace(sql, traceId, repo.TRACE_MAX_EXECUTIONS + 1);
    const spans = await repo.spansOfTrace(sql, traceId, repo.TRACE_MAX_SPANS + 1);
    if (!executions.length && !spans.length) throw notFound('trace', traceId);
    const truncated = executions.length > repo.TRACE_MAX_EXECUTIONS || spans.length > repo.TRACE_MAX_SPANS;
    executions.length = Math.min(executions.length, repo.TRACE_MAX_EXECUTIONS);
    spans.length = Math.min(spans.length, repo.TRACE_MAX_SPANS);
    const agents = await repo.agentLabels(sql, [...new Set(executions.flatMap((e) => (e.agentId ? [e.agentId] : [])))]);
    const t = traceTree(executions, spans, agents);
    return {
      traceId,
      startedAt: t.startedAt,
      endedAt: t.endedAt,
      durationMs: t.durationMs,
      totalCostUsd: t.costUsd,
      promptTokens: t.promptTokens,
      completionTokens: t.completionTokens,
      cachedTokens: t.cachedTokens,
      cacheWriteTokens: t.cacheWriteTokens,
      reasoningTokens: t.reasoningTokens,
      totalTokens: t.totalTokens,
      executionCount: t.executionCount,
      spanCount: t.spanCount,
      truncated,
      tree: t.roots,
      executions,
      spans: spanTree(spans),
    };
  });
}

export function costs(deps: RunsDeps, orgId: string, groupBy: CostGroup, from: string, to: string) {
  // On the primary, not tenantRead: a miss writes the cache entry (a replica's transaction is read only).
  return deps.db.tenant(orgId, (sql) => readThrough(deps.cache, sql, orgId, {
    name: 'runs.costs', params: { groupBy, from, to }, tags: [COSTS_CACHE_TAG], ttlMs: COSTS_CACHE_TTL_MS,
  }, () => stats.costs(sql, groupBy, from, to)));
}

export interface DailyActivity {
  data: (ActivityRow & { label: string | null })[];
  latency: LatencyRow[];
}

/**
 * Per day and agent (or model) over a range: executions, failures, tokens and
 * cost, with every day's p50/p95 latency (the console's overview). Cached as
 * the cost reports are, and invalidated with them.
 */
export function dailyActivity(deps: RunsDeps, orgId: string, split: ActivitySplit, from: string, to: string): Promise<DailyActivity> {
  return deps.db.tenant(orgId, (sql) => readThrough(deps.cache, sql, orgId, {
    name: 'runs.daily_activity', params: { split, from, to }, tags: [COSTS_CACHE_TAG], ttlMs: COSTS_CACHE_TTL_MS,
  }, async () => {
    const rows = await stats.dailyActivity(sql, split, from, to);
    const labels = split === 'agent'
      ? await stats.agentLabels(sql, [...new Set(rows.map((r) => r.key).filter((k): k is string => k !== null && k !== '(other)'))])
      : new Map<string, { name: string }>();
    return {
      data: rows.map((r) => ({ ...r, label: split === 'agent' && r.key && r.key !== '(other)' ? labels.get(r.key)?.name ?? null : r.key })),
      latency: await stats.dailyLatency(sql, from, to),
    };
  }));
}

// As costs: the primary, since a miss writes the cache entry.
export function performance(deps: RunsDeps, orgId: string, from: string, to: string, agentId?: string) {
  return deps.db.tenant(orgId, (sql) => readThrough(deps.cache, sql, orgId, {
    name: 'runs.performance', params: { from, to, agentId: agentId ?? null }, tags: [COSTS_CACHE_TAG], ttlMs: COSTS_CACHE_TTL_MS,
  }, () => stats.performance(sql, from, to, agentId)));
}
