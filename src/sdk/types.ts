// The SDK speaks the API's own types: every import here is type-only, so the
// compiled SDK loads no server code (test/sdk/isolation.test.ts checks it).
import type {
  DecisionItemInput,
  ExecutionItemInput,
  ExecutionStatus,
  IngestResult,
  ItemResult,
  MessageItemInput,
  SpanItemInput,
  costs,
  getExecution,
  getTrace,
  listExecutions,
  performance,
  sessionTimeline,
} from '../runs/index.js';
import type { UsageReport } from '../usage/index.js';

export type { DecisionItemInput, ExecutionItemInput, ExecutionStatus, IngestResult, ItemResult, MessageItemInput, SpanItemInput, UsageReport };

export type ItemKind = ItemResult['kind'];

/** The body of POST /v1/ingest/batch, item by item as the API validates them. */
export interface IngestBatch {
  executions?: ExecutionItemInput[];
  spans?: SpanItemInput[];
  decisions?: DecisionItemInput[];
  messages?: MessageItemInput[];
}

/** A server value as it arrives over JSON: dates become ISO strings. */
export type Jsonify<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Jsonify<U>[]
    : T extends object
      ? { [K in keyof T]: Jsonify<T[K]> }
      : T;

type Answer<F extends (...args: never[]) => unknown> = Jsonify<Awaited<ReturnType<F>>>;

/** One execution as GET /v1/executions lists it. */
export type Execution = Answer<typeof listExecutions>[number];
/**
 * GET /v1/executions/{id}: the execution (every column, as listed) with its
 * span tree, the roll-up of its subtree of child executions, and its direct children.
 */
export type ExecutionDetail = Answer<typeof getExecution> & Omit<Execution, 'spans'>;
export type SpanNode = ExecutionDetail['spans'][number];
/** An execution's subtree totals: itself, its children, their children… (truncated: a lower bound). */
export type SubtreeTotals = ExecutionDetail['subtree'];
/** A direct child execution, with its own and its subtree's figures: fetch it by id to walk down. */
export type ExecutionChild = ExecutionDetail['children'][number];
/** GET /v1/traces/{traceId}: totals, the tree, and the flat executions and span forest of one trace. */
export type Trace = Answer<typeof getTrace>;
/** A node of Trace['tree']: an execution (its spans and called executions below) or a span. */
export type TraceNode = Trace['tree'][number];
/** A row of GET /v1/costs; slug and name come with groupBy 'agent' only. */
export type CostRow = Answer<typeof costs>[number];
export type CostGroupBy = Parameters<typeof costs>[2];
export type PerformanceRow = Answer<typeof performance>[number];

export interface CostReport {
  groupBy: CostGroupBy;
  /** first billing day (UTC, inclusive), YYYY-MM-DD */
  from: string;
  /** last billing day (UTC, inclusive), YYYY-MM-DD */
  to: string;
  data: CostRow[];
}

export interface PerformanceReport {
  from: string;
  to: string;
  /** how p95 is computed */
  p95: string;
  data: PerformanceRow[];
}

export interface PerformanceQuery {
  agentId?: string;
  /** a day (YYYY-MM-DD) or a Date (its UTC day); default 30 days before `to` */
  from?: Date | string;
  /** a day (YYYY-MM-DD) or a Date (its UTC day); default today (UTC) */
  to?: Date | string;
}

export interface Page<T> {
  data: T[];
  /** pass as `cursor` for the next page; null on the last page */
  nextCursor: string | null;
}

export interface ExecutionFilters {
  agentId?: string;
  status?: ExecutionStatus;
  sessionId?: string;
  /** created at or after */
  from?: Date | string;
  /** created before */
  to?: Date | string;
  minCost?: number;
  maxCost?: number;
  /** carrying this tag */
  tag?: string;
  /** metadata holding key:value, such as `customer:acme` */
  metadata?: string;
  /** page size, 1..100 (default 20) */
  limit?: number;
  cursor?: string;
}

export interface CostQuery {
  groupBy?: CostGroupBy;
  /** a day (YYYY-MM-DD) or a Date (its UTC day); default 30 days before `to` */
  from?: Date | string;
  /** a day (YYYY-MM-DD) or a Date (its UTC day); default today (UTC) */
  to?: Date | string;
}

type TimelineAnswer = Answer<typeof sessionTimeline>;
/** One entry of a session's timeline: an execution, decision or message. */
export type TimelineEntry = Omit<TimelineAnswer['entries'][number], 'cursorAt'>;
/** GET /v1/sessions/{id}/timeline: the session and one page of what happened in it, oldest first. */
export interface SessionTimeline extends Page<TimelineEntry> {
  session: TimelineAnswer['session'];
}
