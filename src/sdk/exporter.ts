import { AgentbaseError } from './agentbase-error.js';
import { retryDelay, type BackoffOptions } from './backoff.js';
import { AgentbaseClient } from './client.js';
import { ExecutionHandle, type ExecutionStart } from './execution-handle.js';
import type { DropReason, ExportProblem, ExporterOptions, ExporterStats, Recorded } from './exporter-options.js';
import type { DecisionItemInput, ExecutionItemInput, IngestResult, ItemKind, MessageItemInput, SpanItemInput } from './types.js';

export type { DropReason, ExportProblem, ExporterOptions, ExporterStats, Recorded, RetryInfo } from './exporter-options.js';

interface Entry {
  seq: number;
  kind: ItemKind;
  clientId: string;
  json: string;
}

const LIST: Record<ItemKind, string> = { execution: 'executions', span: 'spans', decision: 'decisions', message: 'messages' };
const MAX_ITEMS = 5000;

function unref(t: unknown): void {
  (t as { unref?: () => void }).unref?.();
}

/**
 * Buffers executions, spans, decisions and messages and ships them to
 * POST /v1/ingest/batch in the background. Recording never waits and never
 * throws; batches go one at a time, in the order recorded (so an execution
 * recorded before its spans reaches the API first or with them), and a failed
 * batch is retried whole: every item carries a clientId, so the API stores it
 * once however often it arrives.
 */
export class BatchExporter {
  readonly #client: AgentbaseClient;
  readonly #o: Required<Pick<ExporterOptions, 'maxBatchSize' | 'maxBatchBytes' | 'maxQueueSize' | 'maxRetries'>>;
  readonly #backoff: BackoffOptions;
  readonly #onError: ExporterOptions['onError'];
  readonly #onRetry: ExporterOptions['onRetry'];
  readonly #stats = { sent: 0, rejected: 0, dropped: 0, retries: 0, batches: 0 };
  readonly #abort = new AbortController();
  #queue: Entry[] = [];
  #inflight: Entry[] = [];
  #seq = 0;
  /** send everything recorded up to this seq, even if fewer than maxBatchSize */
  #wantThrough = 0;
  #draining: Promise<void> | undefined;
  #waiters: { through: number; resolve: () => void }[] = [];
  #sleeping: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #accepting = true;
  #closing: Promise<void> | undefined;
  #overflow = 0;

  constructor(opts: ExporterOptions) {
    this.#client = opts.client ?? new AgentbaseClient({ baseUrl: opts.baseUrl!, apiKey: opts.apiKey!, timeoutMs: opts.timeoutMs });
    const maxQueueSize = Math.max(1, opts.maxQueueSize ?? 10_000);
    this.#o = {
      maxQueueSize,
      maxBatchSize: Math.min(Math.max(1, opts.maxBatchSize ?? 500), MAX_ITEMS, maxQueueSize),
      maxBatchBytes: Math.max(1, opts.maxBatchBytes ?? 4 * 1024 * 1024),
      maxRetries: Math.max(0, opts.maxRetries ?? 10),
    };
    this.#backoff = { initialMs: opts.initialBackoffMs ?? 100, maxMs: opts.maxBackoffMs ?? 30_000, maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000 };
    this.#onError = opts.onError;
    this.#onRetry = opts.onRetry;
    this.#timer = setInterval(() => this.#tick(), Math.max(1, opts.flushIntervalMs ?? 1000));
    unref(this.#timer);
  }

  /**
   * Queues an execution; returns its clientId (for its spans' executionClientId).
   * Recording the same clientId again updates it (running, later completed with
   * its output): the fields it holds replace the stored ones.
   */
  recordExecution(item: Recorded<ExecutionItemInput>): string {
    return this.#record('execution', item);
  }

  /** Queues a span; record its execution first (or use startExecution) so the API knows it. */
  recordSpan(item: Recorded<SpanItemInput>): string {
    return this.#record('span', item);
  }

  recordDecision(item: Recorded<DecisionItemInput>): string {
    return this.#record('decision', item);
  }

  recordMessage(item: Recorded<MessageItemInput>): string {
    return this.#record('message', item);
  }

  /** Records the execution as running now; the handle adds spans and records the end. */
  startExecution(start: ExecutionStart): ExecutionHandle {
    return new ExecutionHandle(this, start);
  }

  /** Resolves when everything recorded so far was sent or given up. Never rejects. */
  flush(): Promise<void> {
    const through = this.#seq;
    if (this.#minPending() > through) return Promise.resolve();
    this.#wantThrough = Math.max(this.#wantThrough, through);
    // Someone is waiting now: a back-off delay must keep the process alive until it ends.
    (this.#sleeping?.timer as { ref?: () => void } | undefined)?.ref?.();
    return new Promise((resolve) => {
      this.#waiters.push({ through, resolve });
      this.#kick();
    });
  }

  /**
   * Stops accepting items and the timer, then flushes. With timeoutMs, what
   * is still unsent when it runs out is dropped (reason 'shutdown'). Never rejects.
   */
  shutdown(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#accepting = false;
    clearInterval(this.#timer);
    this.#closing = (async () => {
      const flushed = this.flush();
      if (opts.timeoutMs === undefined) return flushed;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([
        flushed.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), opts.timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!late) return;
      this.#abort.abort();
      this.#sleeping?.wake();
      await this.#draining;
      this.#drop('shutdown', this.#queue.splice(0).length);
      this.#settle();
    })();
    return this.#closing;
  }

  stats(): ExporterStats {
    return { ...this.#stats, queued: this.#queue.length + this.#inflight.length };
  }

  #record(kind: ItemKind, item: unknown): string {
    try {
      if (!item || typeof item !== 'object' || Array.isArray(item)) {
        this.#drop('invalid_item', 1, new TypeError(`a ${kind} must be an object`));
        return '';
      }
      const given = (item as { clientId?: unknown }).clientId;
      const clientId = typeof given === 'string' && given ? given : globalThis.crypto.randomUUID();
      if (!this.#accepting) {
        this.#drop('shutdown', 1);
        return clientId;
      }
      let json: string;
      try {
        // Serialised now: a snapshot the caller can no longer change, and a bad value fails here alone, not its batch.
        json = JSON.stringify({ ...item, clientId });
      } catch (err) {
        this.#drop('not_serializable', 1, err);
        return clientId;
      }
      this.#queue.push({ seq: ++this.#seq, kind, clientId, json });
      if (this.#queue.length > this.#o.maxQueueSize) this.#overflowOldest();
      if (this.#queue.length >= this.#o.maxBatchSize) this.#kick();
      return clientId;
    } catch (err) {
      this.#drop('invalid_item', 1, err);
      return '';
    }
  }

  #overflowOldest(): void {
    const n = this.#queue.length - this.#o.maxQueueSize;
    this.#queue.splice(0, n);
    this.#stats.dropped += n;
    // One report per burst of overflow, not one per item.
    if (this.#overflow === 0) {
      queueMicrotask(() => {
        const count = this.#overflow;
        this.#overflow = 0;
        this.#report({ type: 'dropped', reason: 'queue_full', count });
      });
    }
    this.#overflow += n;
    this.#settle();
  }

  #tick(): void {
    if (!this.#queue.length) return;
    this.#wantThrough = Math.max(this.#wantThrough, this.#seq);
    this.#kick();
  }

  #shouldDrain(): boolean {
    const head = this.#queue[0];
    return !!head && !this.#abort.signal.aborted && (head.seq <= this.#wantThrough || this.#queue.length >= this.#o.maxBatchSize);
  }

  /** Starts the one sending loop unless it runs already. */
  #kick(): void {
    if (this.#draining || !this.#shouldDrain()) return;
    this.#draining = this.#drain()
      .catch((err: unknown) => this.#drop('invalid_item', this.#inflight.splice(0).length, err))
      .finally(() => {
        this.#draining = undefined;
        this.#settle();
        this.#kick();
      });
  }

  async #drain(): Promise<void> {
    // Batches are built off the caller's stack: recording stays O(1).
    await Promise.resolve();
    while (this.#shouldDrain()) {
      this.#inflight = this.#takeBatch();
      await this.#send(this.#inflight);
      this.#inflight = [];
      this.#settle();
    }
  }

  #takeBatch(): Entry[] {
    let n = 0;
    let chars = 0;
    const executions = new Set<string>();
    while (n < this.#queue.length && n < this.#o.maxBatchSize) {
      const e = this.#queue[n]!;
      // The API updates an execution sent again in a later batch, but calls a repeat within one batch a duplicate.
      if (e.kind === 'execution' && executions.has(e.clientId)) break;
      if (e.kind === 'execution') executions.add(e.clientId);
      chars += e.json.length;
      if (n > 0 && chars > this.#o.maxBatchBytes) break;
      n += 1;
    }
    return this.#queue.splice(0, n);
  }

  async #send(batch: Entry[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let answer: IngestResult;
      try {
        answer = await this.#client.ingestBatch(body(batch), { signal: this.#abort.signal });
      } catch (err) {
        const e = err instanceof AgentbaseError ? err : new AgentbaseError({ status: 0, code: 'network_error', message: String(err), cause: err });
        if (this.#abort.signal.aborted) return this.#drop('shutdown', batch.splice(0).length, e);
        if (e.status === 413 && batch.length > 1) {
          // Too large for the API: send the first half now, the rest goes back to the head of the queue.
          this.#queue.unshift(...batch.splice(Math.ceil(batch.length / 2)));
          attempt = 0;
          continue;
        }
        if (!e.retryable) return this.#drop(e.code === 'quota_exceeded' ? 'quota_exceeded' : 'client_error', batch.splice(0).length, e);
        if (attempt > this.#o.maxRetries) return this.#drop('retries_exhausted', batch.splice(0).length, e);
        const delayMs = retryDelay(attempt, this.#backoff, e.retryAfterMs);
        this.#stats.retries += 1;
        this.#call(this.#onRetry, { attempt, delayMs, items: batch.length, error: e });
        await this.#sleep(delayMs);
        if (this.#abort.signal.aborted) return this.#drop('shutdown', batch.splice(0).length, e);
        continue;
      }
      this.#stats.batches += 1;
      this.#account(batch, answer);
      return;
    }
  }

  #account(batch: Entry[], answer: IngestResult): void {
    const byKind: Record<ItemKind, Entry[]> = { execution: [], span: [], decision: [], message: [] };
    for (const e of batch) byKind[e.kind].push(e);
    for (const r of answer?.results ?? []) {
      if (r.status !== 'rejected') {
        this.#stats.sent += 1;
        continue;
      }
      this.#stats.rejected += 1;
      const e = byKind[r.kind]?.[r.index];
      this.#report({
        type: 'rejected',
        kind: r.kind,
        clientId: r.clientId ?? e?.clientId ?? '',
        error: r.error ?? 'rejected',
        item: e ? JSON.parse(e.json) : undefined,
      });
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleeping = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      // Retrying in the background must not keep an idle process alive; flush() refs it.
      if (!this.#waiters.length) unref(timer);
      this.#sleeping = { timer, wake };
    });
  }

  #minPending(): number {
    return Math.min(this.#inflight[0]?.seq ?? Infinity, this.#queue[0]?.seq ?? Infinity);
  }

  /** Resolves the flush() calls whose items are all sent or given up. */
  #settle(): void {
    const min = this.#minPending();
    const done = this.#waiters.filter((w) => w.through < min);
    if (!done.length) return;
    this.#waiters = this.#waiters.filter((w) => w.through >= min);
    for (const w of done) w.resolve();
  }

  #drop(reason: DropReason, count: number, error?: unknown): void {
    if (count <= 0) return;
    this.#stats.dropped += count;
    this.#report({ type: 'dropped', reason, count, ...(error === undefined ? {} : { error }) });
  }

  #report(problem: ExportProblem): void {
    this.#call(this.#onError, problem);
  }

  #call<T>(fn: ((v: T) => void) | undefined, v: T): void {
    try {
      fn?.(v);
    } catch {
      // The application's callback failing must not stop the exporter.
    }
  }
}

/** The request body from already-serialised items, grouped by kind in recorded order. */
function body(batch: Entry[]): string {
  const lists: Record<ItemKind, string[]> = { execution: [], span: [], decision: [], message: [] };
  for (const e of batch) lists[e.kind].push(e.json);
  const parts = (Object.keys(lists) as ItemKind[]).filter((k) => lists[k].length).map((k) => `"${LIST[k]}":[${lists[k].join(',')}]`);
  return `{${parts.join(',')}}`;
}

/** The same as `new BatchExporter(opts)`. */
export function createExporter(opts: ExporterOptions): BatchExporter {
  return new BatchExporter(opts);
}
