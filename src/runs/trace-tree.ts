import { nest } from './forest.js';
import type { ExecutionRow, SpanRow } from './runs-repo.js';
import type { Totals } from './subtree-repo.js';

/**
 * One trace as one tree: execution nodes hold their span trees, and a child
 * execution hangs under the span that called it (its parentSpanId is a span
 * of its parent execution) or else under its parent execution. Nodes are
 * light (no input, output or attributes: the flat lists of the trace answer
 * carry those), so the tree adds little to the answer's size.
 *
 * Money is summed in integer micro-dollars (the ledger's six decimals), so
 * the totals are exact sums of the stored figures, not float drift.
 */

/** The same figures as an execution's subtree roll-up. */
export type TreeTotals = Totals;

export interface SubtreeTotals extends TreeTotals {
  executions: number;
  spans: number;
}

interface NodeBase extends TreeTotals {
  startedAt: Date | null;
  endedAt: Date | null;
  /** as stored, else from start and end; null while unknown */
  durationMs: number | null;
  /** the node and everything under it; an execution's costs are its own row's (the sum of its ledger rows), never its spans' again */
  subtree: SubtreeTotals;
  children: TraceNode[];
}

export interface ExecutionTraceNode extends NodeBase {
  type: 'execution';
  id: string;
  clientId: string | null;
  agentId: string | null;
  agentSlug: string | null;
  agentName: string | null;
  status: string;
  parentExecutionId: string | null;
  spanId: string | null;
  parentSpanId: string | null;
  modelProvider: string | null;
  modelName: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
}

export interface SpanTraceNode extends NodeBase {
  type: 'span';
  id: string;
  executionId: string;
  spanId: string;
  parentSpanId: string | null;
  kind: string;
  name: string;
  status: string;
  model: string | null;
  provider: string | null;
  toolName: string | null;
  errorMessage: string | null;
}

export type TraceNode = ExecutionTraceNode | SpanTraceNode;

export interface TraceTree extends TreeTotals {
  startedAt: Date | null;
  endedAt: Date | null;
  durationMs: number | null;
  executionCount: number;
  spanCount: number;
  roots: TraceNode[];
}

export type AgentLabels = Map<string, { slug: string; name: string }>;

type Vec = [number, number, number, number, number, number, number];
const zero = (): Vec => [0, 0, 0, 0, 0, 0, 0];
const add = (a: Vec, b: Vec) => {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
};
const micros = (usd: number | null) => Math.round((usd ?? 0) * 1e6);
const totals = (v: Vec): TreeTotals => ({
  costUsd: v[0] / 1e6, promptTokens: v[1], completionTokens: v[2], cachedTokens: v[3], cacheWriteTokens: v[4],
  reasoningTokens: v[5], totalTokens: v[6],
});
const ms = (d: Date | null) => (d ? new Date(d).getTime() : null);
const span = (from: Date | null, to: Date | null) => (from && to ? Math.max(0, ms(to)! - ms(from)!) : null);
const plus = (d: Date | null, by: number | null) => (d && by !== null ? new Date(ms(d)! + by) : null);

function execNode(e: ExecutionRow, agents: AgentLabels): ExecutionTraceNode {
  const startedAt = e.startedAt ?? e.createdAt;
  const durationMs = e.executionTimeMs ?? e.latencyMs ?? span(e.startedAt, e.completedAt);
  const agent = e.agentId ? agents.get(e.agentId) : undefined;
  return {
    type: 'execution', id: e.id, clientId: e.clientId, agentId: e.agentId, agentSlug: agent?.slug ?? null,
    agentName: agent?.name ?? null, status: e.status, parentExecutionId: e.parentExecutionId, spanId: e.spanId,
    parentSpanId: e.parentSpanId, modelProvider: e.modelProvider, modelName: e.modelName, errorCode: e.errorCode,
    errorMessage: e.errorMessage, createdAt: e.createdAt, startedAt, endedAt: e.completedAt ?? plus(startedAt, durationMs),
    durationMs, ...totals([micros(e.costUsd), e.promptTokens, e.completionTokens, e.cachedTokens, e.cacheWriteTokens,
      e.reasoningTokens, e.totalTokens]),
    subtree: { executions: 0, spans: 0, ...totals(zero()) }, children: [],
  };
}

function spanNode(s: SpanRow): SpanTraceNode {
  const durationMs = s.durationMs ?? span(s.startedAt, s.endedAt);
  return {
    type: 'span', id: s.id, executionId: s.executionId, spanId: s.spanId, parentSpanId: s.parentSpanId, kind: s.kind,
    name: s.name, status: s.status, model: s.model, provider: s.provider, toolName: s.toolName, errorMessage: s.errorMessage,
    startedAt: s.startedAt, endedAt: s.endedAt ?? plus(s.startedAt, durationMs), durationMs,
    ...totals([micros(s.costUsd), s.promptTokens ?? 0, s.completionTokens ?? 0, s.cachedTokens ?? 0, s.cacheWriteTokens ?? 0,
      s.reasoningTokens ?? 0, s.totalTokens ?? 0]),
    subtree: { executions: 0, spans: 0, ...totals(zero()) }, children: [],
  };
}

/**
 * Where each node hangs: see the module comment; anything whose parent is
 * not in the trace is a root. Executions may name each other in a cycle
 * (through spans too): those cycles are cut at the execution level first,
 * so what remains are cycles among the spans of one execution, which fall
 * back to hanging under their execution.
 */
function parents(execs: ExecutionTraceNode[], spans: SpanTraceNode[]) {
  const execById = new Map(execs.map((n) => [n.id, n]));
  const spanByKey = new Map<string, SpanTraceNode>();
  const spanById = new Map<string, SpanTraceNode>();
  for (const s of spans) {
    if (!spanByKey.has(`${s.executionId}:${s.spanId}`)) spanByKey.set(`${s.executionId}:${s.spanId}`, s);
    if (!spanById.has(s.spanId)) spanById.set(s.spanId, s);
  }
  const execBySpanId = new Map<string, ExecutionTraceNode>();
  for (const e of execs) if (e.spanId && !execBySpanId.has(e.spanId)) execBySpanId.set(e.spanId, e);

  const execParent = new Map<ExecutionTraceNode, TraceNode | undefined>();
  for (const n of execs) {
    const parentExec = n.parentExecutionId ? execById.get(n.parentExecutionId) : undefined;
    let p: TraceNode | undefined;
    if (n.parentSpanId) {
      // The calling span of the parent execution; with no parent execution named, a span of the trace by its W3C id.
      p = parentExec
        ? spanByKey.get(`${parentExec.id}:${n.parentSpanId}`)
        : [spanById.get(n.parentSpanId)].find((s) => s && s.executionId !== n.id);
    }
    execParent.set(n, p ?? parentExec ?? (n.parentSpanId ? execBySpanId.get(n.parentSpanId) : undefined));
  }
  const owner = (p: TraceNode | undefined) => (p?.type === 'span' ? execById.get(p.executionId) : p);
  // Executions whose link would close a cycle of executions hang nowhere (the other roots of
  // this graph hang under nothing, or under a span whose execution is not in the trace).
  const execRoots = new Set(nest(execs, (n) => owner(execParent.get(n)), () => {}));
  const cut = (n: ExecutionTraceNode) => execRoots.has(n) && owner(execParent.get(n)) !== undefined;

  return {
    parentOf: (n: TraceNode): TraceNode | undefined => {
      if (n.type === 'execution') return cut(n) ? undefined : execParent.get(n);
      return (n.parentSpanId ? spanByKey.get(`${n.executionId}:${n.parentSpanId}`) : undefined) ?? execById.get(n.executionId);
    },
    fallback: (n: TraceNode): TraceNode | undefined => (n.type === 'span' ? execById.get(n.executionId) : undefined),
  };
}

const startOf = (n: TraceNode) => ms(n.startedAt) ?? Number.MAX_SAFE_INTEGER;

/**
 * Builds the tree and every node's subtree totals. An execution's subtree is
 * its own row plus the subtrees of the executions under it (wherever they
 * hang among its spans); a span's is its own figures plus its children's.
 */
export function traceTree(executions: ExecutionRow[], spans: SpanRow[], agents: AgentLabels): TraceTree {
  const execs = executions.map((e) => execNode(e, agents));
  const spanNodes = spans.map(spanNode);
  const all: TraceNode[] = [...execs, ...spanNodes];
  const { parentOf, fallback } = parents(execs, spanNodes);
  const roots = nest(all, parentOf, (p, c) => p.children.push(c), fallback);

  // Post-order without recursion: children before parents.
  const order: TraceNode[] = [];
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    order.push(n);
    n.children.sort((a, b) => startOf(a) - startOf(b) || a.id.localeCompare(b.id));
    stack.push(...n.children);
  }
  const sub = new Map<TraceNode, Vec>(); // the node's subtree figures
  const execBelow = new Map<TraceNode, Vec>(); // the subtrees of the nearest executions under the node
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    const own: Vec = [micros(n.costUsd), n.promptTokens, n.completionTokens, n.cachedTokens, n.cacheWriteTokens, n.reasoningTokens, n.totalTokens];
    const below = zero();
    const all = zero();
    let executionsIn = n.type === 'execution' ? 1 : 0;
    let spansIn = n.type === 'span' ? 1 : 0;
    for (const c of n.children) {
      add(below, c.type === 'execution' ? sub.get(c)! : execBelow.get(c)!);
      add(all, sub.get(c)!);
      executionsIn += c.subtree.executions;
      spansIn += c.subtree.spans;
    }
    const mine = own.slice() as Vec;
    add(mine, n.type === 'execution' ? below : all);
    sub.set(n, mine);
    execBelow.set(n, below);
    n.subtree = { executions: executionsIn, spans: spansIn, ...totals(mine) };
  }
  roots.sort((a, b) => startOf(a) - startOf(b) || a.id.localeCompare(b.id));

  const total = zero();
  for (const r of roots) add(total, sub.get(r)!);
  let start: number | null = null;
  let end: number | null = null;
  for (const n of all) {
    const s = ms(n.startedAt);
    const e = ms(n.endedAt);
    if (s !== null && (start === null || s < start)) start = s;
    if (e !== null && (end === null || e > end)) end = e;
  }
  return {
    startedAt: start === null ? null : new Date(start),
    endedAt: end === null ? null : new Date(end),
    durationMs: start !== null && end !== null ? Math.max(0, end - start) : null,
    executionCount: execs.length,
    spanCount: spanNodes.length,
    ...totals(total),
    roots,
  };
}
