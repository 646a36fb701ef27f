import type { BatchExporter } from './exporter.js';
import type { Recorded } from './exporter-options.js';
import type { ExecutionItemInput, ExecutionStatus, SpanItemInput } from './types.js';

/** What is known when an execution starts; startedAt defaults to now and traceId to a new one. */
export type ExecutionStart = Omit<Recorded<ExecutionItemInput>, 'status' | 'completedAt'>;

/** A span of the execution; startedAt defaults to now. */
export type SpanInput = Omit<Recorded<SpanItemInput>, 'executionClientId' | 'startedAt'> & { startedAt?: string };

/** What end() may add to the execution: outcome, output, tokens, cost… */
export type ExecutionEnd = Partial<Omit<ExecutionItemInput, 'clientId' | 'agentId' | 'agentSlug' | 'status'>>;

function newTraceId(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * One execution as it happens: recorded as running when it starts, its spans
 * as they come (behind it in the exporter's queue, so the API knows the
 * execution first), and again when it ends, which updates the stored one.
 */
export class ExecutionHandle {
  readonly clientId: string;
  readonly traceId: string;
  readonly #exporter: BatchExporter;
  readonly #start: ExecutionStart & { clientId: string; startedAt: string; traceId: string };
  #ended = false;

  constructor(exporter: BatchExporter, start: ExecutionStart) {
    this.#exporter = exporter;
    this.clientId = start.clientId || globalThis.crypto.randomUUID();
    this.traceId = start.traceId ?? newTraceId();
    this.#start = { ...start, clientId: this.clientId, traceId: this.traceId, startedAt: start.startedAt ?? new Date().toISOString() };
    exporter.recordExecution({ ...this.#start, status: 'running' });
  }

  /** Records a span of this execution (in its trace unless it names another); returns its clientId. */
  span(s: SpanInput): string {
    return this.#exporter.recordSpan({
      traceId: this.traceId,
      ...s,
      executionClientId: this.clientId,
      startedAt: s.startedAt ?? new Date().toISOString(),
    });
  }

  /**
   * Records the outcome: completedAt now unless given, executionTimeMs measured
   * unless given. The start is sent again with it, so the execution is whole
   * even if its first record was lost. Only the first call counts.
   */
  end(status: ExecutionStatus = 'completed', more: ExecutionEnd = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    const completedAt = more.completedAt ?? new Date().toISOString();
    const took = Date.parse(completedAt) - Date.parse(this.#start.startedAt);
    this.#exporter.recordExecution({
      ...this.#start,
      ...(Number.isFinite(took) && took >= 0 ? { executionTimeMs: took } : {}),
      ...more,
      status,
      completedAt,
    });
  }
}
