/**
 * A provider for any OpenAI-compatible /chat/completions endpoint: the hosted
 * API and local servers (vLLM, llama.cpp server, Ollama at …/v1). Each HTTP
 * attempt has its own timeout, combined with the caller's signal; failed
 * attempts are retried per the RetryPolicy.
 */
import { kindForStatus, ProviderError, redact } from './errors.js';
import { buildRequestBody, describeErrorBody, parseCompletion, StreamAccumulator, type MaxTokensField } from './openai-wire.js';
import { defaultRetryPolicy, parseRetryAfter, withRetry, type RetryPolicy } from './retry.js';
import { readSse } from './sse.js';
import type { ChatProvider, ChatRequest, ChatResult, CompleteOptions } from './types.js';

export interface OpenAICompatibleConfig {
  /** e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama), http://127.0.0.1:8000/v1 (vLLM). */
  baseUrl: string;
  /** Optional: local servers usually need none. Never appears in errors. */
  apiKey?: string;
  model: string;
  /** Per attempt, covering the whole response including a stream. Default 120 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  maxTokensField?: MaxTokensField;
  /** Default true; turn off for a server that rejects stream_options. */
  streamUsage?: boolean;
  /** Extra headers (e.g. an organisation or project id). */
  headers?: Record<string, string>;
  name?: string;
}

type Result = Omit<ChatResult, 'latencyMs' | 'attempts'>;

export class OpenAICompatibleProvider implements ChatProvider {
  readonly name: string;
  private readonly url: string;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;

  constructor(private readonly config: OpenAICompatibleConfig) {
    this.name = config.name ?? 'openai-compatible';
    this.url = `${config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.policy = { ...defaultRetryPolicy, ...config.retry };
    this.timeoutMs = config.timeoutMs ?? 120_000;
  }

  async complete(req: ChatRequest, opts: CompleteOptions = {}): Promise<ChatResult> {
    const started = performance.now();
    let attempts = 0;
    const result = await withRetry(
      (n) => {
        attempts = n;
        return this.attempt(req, opts);
      },
      this.policy,
      { signal: opts.signal },
    );
    return { ...result, latencyMs: Math.round(performance.now() - started), attempts };
  }

  private async attempt(req: ChatRequest, opts: CompleteOptions): Promise<Result> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    // Once a delta reached the caller a retry would repeat it, so from then on nothing is retried.
    let emitted = false;
    const onDelta = opts.onDelta
      ? (d: Parameters<NonNullable<CompleteOptions['onDelta']>>[0]) => {
          emitted = true;
          opts.onDelta!(d);
        }
      : undefined;
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: this.headers(Boolean(req.stream)),
        body: JSON.stringify(
          buildRequestBody(req, {
            model: this.config.model,
            maxTokensField: this.config.maxTokensField ?? 'max_tokens',
            streamUsage: this.config.streamUsage ?? true,
          }),
        ),
        signal,
      });
      if (!res.ok) throw await this.httpError(res);
      // A server may ignore `stream: true` (some do when tools are present) and answer JSON.
      const isStream = (res.headers.get('content-type') ?? '').includes('text/event-stream');
      if (isStream) return await this.readStream(res, onDelta);
      return parseCompletion(await this.readJson(res), this.config.model);
    } catch (err) {
      const mapped = this.mapError(err, opts.signal, timeout);
      if (emitted && mapped.retryable) {
        mapped.retryable = false;
        mapped.message += ' (after part of the answer was streamed, so it was not retried)';
      }
      throw mapped;
    }
  }

  private headers(stream: boolean): Record<string, string> {
    return {
      ...this.config.headers,
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream' : 'application/json',
      ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
    };
  }

  private async readJson(res: Response): Promise<unknown> {
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new ProviderError({
        kind: 'invalid_response',
        status: res.status,
        message: `invalid response: the body is not JSON (${this.scrub(text.slice(0, 120))})`,
        retryable: false,
      });
    }
  }

  private async readStream(res: Response, onDelta: CompleteOptions['onDelta']): Promise<Result> {
    if (!res.body) throw new ProviderError({ kind: 'invalid_response', message: 'invalid response: no body', retryable: false });
    const acc = new StreamAccumulator();
    let done = false;
    for await (const ev of readSse(res.body)) {
      if (ev.data === '[DONE]') {
        done = true;
        break;
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(ev.data);
      } catch {
        throw new ProviderError({
          kind: 'invalid_response',
          message: `invalid response: a stream event is not JSON (${this.scrub(ev.data.slice(0, 120))})`,
          retryable: false,
        });
      }
      for (const d of acc.apply(chunk)) onDelta?.(d);
    }
    if (!done && !acc.finished) {
      throw new ProviderError({
        kind: 'network',
        message: 'the stream ended before the answer was complete (no finish_reason, no [DONE])',
        retryable: true,
      });
    }
    return acc.result(this.config.model);
  }

  private async httpError(res: Response): Promise<ProviderError> {
    const body = await res.text().catch(() => '');
    const { message, code } = describeErrorBody(body);
    const { kind, retryable } = kindForStatus(res.status, code);
    const retryAfterMs = parseRetryAfter(res.headers);
    return new ProviderError({
      kind,
      status: res.status,
      retryable,
      retryAfterMs,
      message: `${this.name} answered HTTP ${res.status} from ${this.url}: ${this.scrub(message)}`,
    });
  }

  private mapError(err: unknown, callerSignal: AbortSignal | undefined, timeout: AbortSignal): ProviderError {
    // The caller's own cancellation is not a provider failure: let its reason through.
    if (callerSignal?.aborted) throw callerSignal.reason;
    if (err instanceof ProviderError) {
      err.message = this.scrub(err.message);
      return err;
    }
    if (timeout.aborted) {
      return new ProviderError({
        kind: 'timeout',
        message: `${this.name} did not answer within ${this.timeoutMs} ms (${this.url})`,
        retryable: true,
      });
    }
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const detail = e.cause?.code ?? e.cause?.message ?? e.message;
    return new ProviderError({
      kind: 'network',
      message: `could not reach ${this.name} at ${this.url}: ${this.scrub(String(detail))}`,
      retryable: true,
      cause: err,
    });
  }

  private scrub(text: string): string {
    return redact(text, this.config.apiKey);
  }
}
