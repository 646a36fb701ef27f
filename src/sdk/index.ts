/**
 * The TypeScript SDK (`agentbase/sdk`): a typed client for the API and a
 * batching exporter that ships executions, spans, decisions and messages from
 * an application. It loads no server code: its only imports from the rest of
 * the service are type-only, so an application can use it without the
 * service's runtime dependencies.
 */
export { AgentbaseClient, type AgentbaseClientOptions, type CallOptions, type RequestOptions } from './client.js';
export { AgentbaseError, type AgentbaseErrorCode, type TransportErrorCode } from './agentbase-error.js';
export {
  BatchExporter,
  createExporter,
  type DropReason,
  type ExportProblem,
  type ExporterOptions,
  type ExporterStats,
  type Recorded,
  type RetryInfo,
} from './exporter.js';
export { ExecutionHandle, type ExecutionEnd, type ExecutionStart, type SpanInput } from './execution-handle.js';
export type {
  CostGroupBy,
  CostQuery,
  CostReport,
  CostRow,
  DecisionItemInput,
  Execution,
  ExecutionChild,
  ExecutionDetail,
  ExecutionFilters,
  ExecutionItemInput,
  ExecutionStatus,
  IngestBatch,
  IngestResult,
  ItemKind,
  ItemResult,
  MessageItemInput,
  Page,
  PerformanceQuery,
  PerformanceReport,
  PerformanceRow,
  SessionTimeline,
  SpanItemInput,
  SpanNode,
  SubtreeTotals,
  TimelineEntry,
  Trace,
  TraceNode,
  UsageReport,
} from './types.js';
