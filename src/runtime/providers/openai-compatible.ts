/**
 * A provider for any OpenAI-compatible /chat/completions endpoint: the hosted
 * API and local servers (vLLM, llama.cpp server, Ollama at …/v1). Each HTTP
 * attempt has its own timeout, combined with the caller's signal; failed
 * attempts are retried per the RetryPolicy.
 *
 * The endpoint may be a tenant's, so its answers are read with limits (the
 * body's bytes, a stream's line length) and redirects are not followed: a
 * 3xx could point anywhere, past the egress policy the URL was checked
 * against. A tenant's endpoint also gets `fetch: egressFetch(policy)`, which
 * connects only to the addresses it checked.
 */
import type { FetchLike } from './egress-fetch.js';
import { kindForStatus, ProviderError, redact } from './errors.js';
import { buildRequestBody, describeErrorBody, parseCompletion, StreamAccumulator, type MaxTokensField } from './openai-wire.js';
import { readBody, urlPassword, withoutCredentials } from '../../net/index.js';
import { defaultRetryPolicy, parseRetryAfter, withRetry, type RetryPolicy } from './retry.js';
import { readSse, SSE_MAX_LINE_CHARS } from './sse.js';
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
  /** How requests go out; default the global fetch. A tenant's endpoint gets egressFetch. */
  fetch?: FetchLike;
  /** The most bytes of one response read, a stream's included; default 8 MiB. */
  maxResponseBytes?: number;
  /** The longest line of a stream, in characters; default 1 MiB. */
  maxSseLineChars?: number;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Of an error response only a message is wanted. */
const ERROR_BODY_BYTES = 64 * 1024;
const MiB = 1024 * 1024;
const size = (bytes: number) => (bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`);

type Result = Omit<ChatResult, 'latencyMs' | 'attempts'>;

export class OpenAICompatibleProvider implements ChatProvider {
  readonly name: string;
  private readonly url: string;
  /** the URL as errors show it: a user:password part is a credential */
  private readonly shownUrl: string;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  /** what errors must never show: the key, and a password in the base URL (fetch echoes such a URL in its refusal) */
  private readonly secrets: string[];

  constructor(private readonly config: OpenAICompatibleConfig) {
    this.name = config.name ?? 'openai-compatible';
    this.url = `${config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.shownUrl = withoutCredentials(this.url);
    this.policy = { ...defaultRetryPolicy, ...config.retry };
    this.timeoutMs = config.timeoutMs ?? 120_000;
    this.maxBytes = config.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.secrets = [config.apiKey ?? '', ...urlPassword(config.baseUrl)].filter((x) => x.length > 0);
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
      const send = this.config.fetch ?? fetch;
      const res = await send(this.url, {
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
        redirect: 'manual',
      });
      if (res.status >= 300 && res.status < 400) throw await this.redirectError(res);
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
    const { text, truncated } = await readBody(res, this.maxBytes);
    if (truncated) {
      throw new ProviderError({
        kind: 'invalid_response',
        status: res.status,
        message: `invalid response: the body is larger than the ${size(this.maxBytes)} allowed`,
        retryable: false,
      });
    }
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
    const limits = { maxBytes: this.maxBytes, maxLineChars: this.config.maxSseLineChars ?? SSE_MAX_LINE_CHARS };
    for await (const ev of readSse(res.body, limits)) {
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

  private async redirectError(res: Response): Promise<ProviderError> {
    await res.body?.cancel().catch(() => undefined);
    const location = res.headers.get('location');
    const to = location ? ` to ${this.scrub(withoutCredentials(location, this.url)).slice(0, 300)}` : '';
    return new ProviderError({
      kind: 'bad_request',
      status: res.status,
      retryable: false,
      message: `${this.name} answered HTTP ${res.status} (a redirect${to}) from ${this.shownUrl}: redirects are not followed; set the base URL to where the API is`,
    });
  }

  private async httpError(res: Response): Promise<ProviderError> {
    const body = await readBody(res, ERROR_BODY_BYTES).then((b) => b.text, () => '');
    const { message, code } = describeErrorBody(body);
    const { kind, retryable } = kindForStatus(res.status, code);
    const retryAfterMs = parseRetryAfter(res.headers);
    return new ProviderError({
      kind,
      status: res.status,
      retryable,
      retryAfterMs,
      message: `${this.name} answered HTTP ${res.status} from ${this.shownUrl}: ${this.scrub(message)}`,
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
        message: `${this.name} did not answer within ${this.timeoutMs} ms (${this.shownUrl})`,
        retryable: true,
      });
    }
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const detail = e.cause?.code ?? e.cause?.message ?? e.message;
    return new ProviderError({
      kind: 'network',
      message: `could not reach ${this.name} at ${this.shownUrl}: ${this.scrub(String(detail))}`,
      retryable: true,
      cause: err,
    });
  }

  private scrub(text: string): string {
    return this.secrets.reduce((t, secret) => redact(t, secret), text);
  }
}
