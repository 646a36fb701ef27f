import { AgentbaseError, parseRetryAfter } from './agentbase-error.js';
import type {
  CostQuery,
  CostReport,
  Execution,
  ExecutionDetail,
  ExecutionFilters,
  IngestBatch,
  IngestResult,
  Page,
  PerformanceQuery,
  PerformanceReport,
  SessionTimeline,
  Trace,
  UsageReport,
} from './types.js';

export interface AgentbaseClientOptions {
  /** where the API listens, such as http://127.0.0.1:4100 */
  baseUrl: string;
  /** an API key (ab_…) or an access token; sent as Authorization: Bearer */
  apiKey: string;
  /** per request, default 10 000 ms */
  timeoutMs?: number;
  /** sent with every request */
  headers?: Record<string, string>;
  /** a fetch to use instead of the global one (a proxy agent, say) */
  fetch?: typeof globalThis.fetch;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface RequestOptions extends CallOptions {
  query?: Record<string, string | number | undefined>;
  /** a value to send as JSON, or a string that already is JSON */
  body?: unknown;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** A Date's or a date-time string's UTC day, as the cost API takes it. */
function day(v: Date | string): string {
  return v instanceof Date ? v.toISOString().slice(0, 10) : v;
}

const instant = (v: Date | string | undefined) => (v instanceof Date ? v.toISOString() : v);

/**
 * A typed client for the agentbase API. Every failure is an AgentbaseError;
 * every call ends within its timeout.
 */
export class AgentbaseClient {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof globalThis.fetch;

  constructor(opts: AgentbaseClientOptions) {
    if (!opts?.baseUrl) throw new TypeError('AgentbaseClient needs baseUrl, such as http://127.0.0.1:4100');
    if (!opts.apiKey) throw new TypeError('AgentbaseClient needs apiKey (an API key or an access token)');
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#apiKey = opts.apiKey;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#headers = opts.headers ?? {};
    this.#fetch = opts.fetch ?? globalThis.fetch;
  }

  /** POST /v1/ingest/batch: each item is answered alone (accepted, duplicate by clientId, or rejected with why). */
  ingestBatch(body: IngestBatch | string, opts?: CallOptions): Promise<IngestResult> {
    return this.request('POST', '/v1/ingest/batch', { ...opts, body });
  }

  /** GET /v1/executions: one page, newest first. */
  listExecutions(filters: ExecutionFilters = {}, opts?: CallOptions): Promise<Page<Execution>> {
    const { from, to, ...rest } = filters;
    return this.request('GET', '/v1/executions', { ...opts, query: { ...rest, from: instant(from), to: instant(to) } });
  }

  /** Every execution matching the filters, page after page. */
  async *executions(filters: Omit<ExecutionFilters, 'cursor'> = {}, opts?: CallOptions): AsyncGenerator<Execution> {
    let cursor: string | undefined;
    do {
      const p = await this.listExecutions({ ...filters, cursor }, opts);
      yield* p.data;
      cursor = p.nextCursor ?? undefined;
    } while (cursor);
  }

  /** GET /v1/executions/{id}: the execution with its span tree, its subtree's totals and its direct children. */
  getExecution(id: string, opts?: CallOptions): Promise<ExecutionDetail> {
    return this.request('GET', `/v1/executions/${encodeURIComponent(id)}`, opts);
  }

  /**
   * GET /v1/traces/{traceId}: one W3C trace as a tree (executions holding their
   * spans, called executions under the span that called them) with its totals,
   * plus the flat executions and span forest.
   */
  getTrace(traceId: string, opts?: CallOptions): Promise<Trace> {
    return this.request('GET', `/v1/traces/${encodeURIComponent(traceId)}`, opts);
  }

  /** GET /v1/costs: cost and tokens by day, model, provider, agent, user, session, plan or tag, over billing days (UTC, inclusive). */
  costs(q: CostQuery = {}, opts?: CallOptions): Promise<CostReport> {
    return this.request('GET', '/v1/costs', {
      ...opts,
      query: { groupBy: q.groupBy, from: q.from && day(q.from), to: q.to && day(q.to) },
    });
  }

  /** GET /v1/performance: executions, success rate, latency and cost per agent and model over UTC days. */
  performance(q: PerformanceQuery = {}, opts?: CallOptions): Promise<PerformanceReport> {
    return this.request('GET', '/v1/performance', {
      ...opts,
      query: { agentId: q.agentId, from: q.from && day(q.from), to: q.to && day(q.to) },
    });
  }

  /**
   * GET /v1/usage: a calendar month's usage (UTC, YYYY-MM; default the
   * current one) against the organization's limits: runs executed, spans
   * ingested per month, the per-second headroom now, cost against the budget.
   */
  usage(month?: string, opts?: CallOptions): Promise<UsageReport> {
    return this.request('GET', '/v1/usage', { ...opts, query: { month } });
  }

  /**
   * GET /v1/sessions/{id}/timeline: what happened in a session (named by its
   * id or your key for it), oldest first: executions, decisions, messages.
   */
  sessionTimeline(session: string, page: { limit?: number; cursor?: string } = {}, opts?: CallOptions): Promise<SessionTimeline> {
    return this.request('GET', `/v1/sessions/${encodeURIComponent(session)}/timeline`, { ...opts, query: { ...page } });
  }

  /** Any API call: the answer's JSON, or an AgentbaseError. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...this.#headers, authorization: `Bearer ${this.#apiKey}` };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.#timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;

    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(url, { method, headers, body, signal });
      // The body is read under the same signal, so a stalled answer times out too.
      text = await res.text();
    } catch (err) {
      throw transportError(err, timeout.aborted, method, url);
    }

    const requestId = res.headers.get('x-request-id') ?? undefined;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok) {
      if (json === undefined && text) {
        throw new AgentbaseError({ status: res.status, code: 'invalid_response', message: `${method} ${url.pathname} answered ${res.status} with a body that is not JSON`, requestId });
      }
      return json as T;
    }
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    const e = (json as { error?: { code?: unknown; message?: unknown; requestId?: unknown; details?: unknown } } | undefined)?.error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') {
      throw new AgentbaseError({
        status: res.status,
        code: e.code,
        message: e.message,
        requestId: typeof e.requestId === 'string' ? e.requestId : requestId,
        details: e.details,
        retryAfterMs,
      });
    }
    throw new AgentbaseError({
      status: res.status,
      code: 'invalid_response',
      message: `${method} ${url.pathname} answered ${res.status} ${res.statusText} without the API's error body`,
      requestId,
      retryAfterMs,
    });
  }
}

function transportError(err: unknown, timedOut: boolean, method: string, url: URL): AgentbaseError {
  const where = `${method} ${url.origin}${url.pathname}`;
  if (timedOut) return new AgentbaseError({ status: 0, code: 'timeout', message: `${where} timed out`, cause: err });
  if ((err as Error)?.name === 'AbortError') return new AgentbaseError({ status: 0, code: 'aborted', message: `${where} was aborted`, cause: err });
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const why = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
  return new AgentbaseError({ status: 0, code: 'network_error', message: `${where} failed: ${why}`, cause: err });
}
