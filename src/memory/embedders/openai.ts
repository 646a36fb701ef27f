import { parseRetryAfter, readBody, urlPassword, withoutCredentials, withRetry, type RetryPolicy } from '../../net/index.js';
import type { EgressFetch, OpenSecret } from '../deps.js';
import type { Embedder, EmbedResult } from './types.js';

/**
 * An embedder for any OpenAI-compatible `POST {baseUrl}/embeddings`: the
 * hosted API and local servers (Ollama, vLLM, llama.cpp, LM Studio, TEI).
 *
 * It follows the runtime's chat provider (runtime/providers/openai-compatible.ts)
 * without importing it, since the runtime imports memory: requests go out
 * through the injected EgressFetch (the service's outbound policy, DNS pinned,
 * no redirects), the key is opened per call through OpenSecret (refused unless
 * the secret is bound to the base URL's host), each attempt has a timeout,
 * answers are read up to a size, and failures are retried with full-jitter
 * back-off honouring Retry-After.
 */

export type EmbedderErrorCode =
  /** nothing to fix here: the endpoint is down, slow, or rate limiting; try again later */
  | 'embedder_unavailable'
  /** the configuration is wrong (URL, key, model, secret binding, egress policy) or the endpoint refused the input */
  | 'embedder_rejected'
  /** the endpoint answered something that is not embeddings of the expected shape */
  | 'embedder_bad_response';

export class EmbedderError extends Error {
  override name = 'EmbedderError';
  /** HTTP status of the last answer, when there was one */
  status?: number;
  /** attempts made, the first included */
  attempts = 1;
  /** whether another attempt may succeed (the retry loop's to read) */
  retryable: boolean;
  /** how long the server asked to wait (Retry-After), ms */
  retryAfterMs?: number;

  constructor(
    readonly code: EmbedderErrorCode,
    message: string,
    opts: { status?: number; cause?: unknown; retryable?: boolean; retryAfterMs?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export interface OpenAIEmbedderConfig {
  orgId: string;
  /** e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama) */
  baseUrl: string;
  model: string;
  /** sent as `dimensions` when set; otherwise the model's own length (known models only) */
  dims?: number;
  /** the stored secret sent as the bearer key; none: no Authorization header (local servers) */
  secretName?: string;
  egressFetch: EgressFetch;
  openSecret: OpenSecret;
  /** per attempt, the whole answer included; default 60 s */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** inputs per request; default (and at most) 256 */
  maxBatch?: number;
  /** characters per request; default 250,000 */
  maxBatchChars?: number;
  /** called before each wait between attempts (logging, tests) */
  onRetry?: (info: { attempt: number; delayMs: number; error: EmbedderError }) => void;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

/** Lengths of models whose vectors' length need not be configured. */
export const KNOWN_MODEL_DIMS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

const MAX_BATCH = 256;
const MAX_BATCH_CHARS = 250_000;
/** Of an error answer only a message is wanted. */
const ERROR_BODY_BYTES = 64 * 1024;
/** JSON numbers of a float32 vector take ~20 characters each; twice that covers pretty printing. */
const BYTES_PER_NUMBER = 40;

export function openaiEmbedder(config: OpenAIEmbedderConfig): Embedder {
  const configured = config.dims ?? KNOWN_MODEL_DIMS[config.model];
  if (configured === undefined) {
    throw new EmbedderError(
      'embedder_rejected',
      `the length of ${config.model}'s vectors is not known: set dims in the memory config (e.g. 768 for nomic-embed-text, 1024 for bge-m3)`,
    );
  }
  const dims: number = configured;
  const url = `${config.baseUrl.replace(/\/+$/, '')}/embeddings`;
  const shown = withoutCredentials(url);
  const host = new URL(url).hostname;
  const policy = { ...DEFAULT_RETRY, ...config.retry };
  const timeoutMs = config.timeoutMs ?? 60_000;
  const maxBatch = Math.min(config.maxBatch ?? MAX_BATCH, MAX_BATCH);
  const maxChars = config.maxBatchChars ?? MAX_BATCH_CHARS;
  const random = config.random ?? Math.random;

  /** One request, one attempt: the vectors in input order, and the tokens the server counted. */
  async function attempt(inputs: string[], headers: Record<string, string>, scrub: (s: string) => string, signal?: AbortSignal) {
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const body = JSON.stringify({ model: config.model, input: inputs, ...(config.dims !== undefined ? { dimensions: config.dims } : {}) });
    let res: Response;
    let text: string;
    try {
      res = await config.egressFetch(url, { method: 'POST', headers, body, timeoutMs, signal: both });
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel().catch(() => undefined);
        throw new EmbedderError(
          'embedder_rejected',
          `${shown} answered HTTP ${res.status} (a redirect): redirects are not followed; set the embedder's base URL to where the API is`,
          { status: res.status },
        );
      }
      if (!res.ok) throw await httpError(res, shown, scrub);
      const limit = ERROR_BODY_BYTES + inputs.length * dims * BYTES_PER_NUMBER;
      const read = await readBody(res, limit);
      if (read.truncated) throw new EmbedderError('embedder_bad_response', `${shown} answered more than ${limit} bytes for ${inputs.length} embeddings`, { status: res.status });
      text = read.text;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof EmbedderError) throw err;
      throw networkError(err, timeout.aborted, scrub);
    }
    return parseEmbeddings(text, inputs.length, dims, scrub);
  }

  function networkError(err: unknown, timedOut: boolean, scrub: (s: string) => string): EmbedderError {
    const e = err as Error & { cause?: { code?: string; message?: string; name?: string }; retryable?: unknown };
    if (timedOut || e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError') {
      return new EmbedderError('embedder_unavailable', `${shown} did not answer within ${timeoutMs} ms`, { retryable: true });
    }
    // EgressFetch throws with retryable: false when the policy refuses the address (a private one, say); no retry changes that.
    if (e.retryable === false) {
      return new EmbedderError('embedder_rejected', `the embedder's base URL cannot be used: ${scrub(e.message)}`, { cause: err });
    }
    const detail = e.cause?.code ?? e.cause?.message ?? e.message;
    return new EmbedderError('embedder_unavailable', `could not reach ${shown}: ${scrub(String(detail))}`, { cause: err, retryable: true });
  }

  return {
    kind: 'openai',
    model: config.model,
    dims,
    async embed(texts: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<EmbedResult> {
      const vectors: number[][] = texts.map(() => unit(dims));
      // OpenAI refuses an empty input, failing the whole batch; an empty text has no meaning to embed, so it keeps a fixed unit vector.
      const todo = texts.map((t, i) => i).filter((i) => texts[i]!.trim() !== '');
      if (todo.length === 0) return { vectors, tokens: 0 };
      opts.signal?.throwIfAborted();
      const secrets: string[] = [...urlPassword(config.baseUrl)];
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (config.secretName) {
        const key = await openKey(config, host);
        secrets.push(key);
        headers.authorization = `Bearer ${key}`;
      }
      const scrub = (s: string) => secrets.reduce((t, secret) => (secret ? t.split(secret).join('[redacted]') : t), s);
      let tokens = 0;
      for (const batch of batches(todo, texts, maxBatch, maxChars)) {
        const inputs = batch.map((i) => texts[i]!);
        const got = await withRetry(() => attempt(inputs, headers, scrub, opts.signal), policy, {
          is: (err): err is EmbedderError => err instanceof EmbedderError,
          signal: opts.signal,
          random,
          onRetry: config.onRetry,
          onGiveUp: (err, n) => {
            err.message += ` (gave up after ${n} attempts)`;
          },
        });
        batch.forEach((i, k) => (vectors[i] = got.vectors[k]!));
        tokens += got.tokens ?? inputs.reduce((sum, t) => sum + (t.match(/[\p{L}\p{N}]+/gu)?.length ?? 0), 0);
      }
      return { vectors, tokens };
    },
  };
}

async function openKey(config: OpenAIEmbedderConfig, host: string): Promise<string> {
  try {
    return await config.openSecret(config.orgId, config.secretName!, host);
  } catch (err) {
    // Not stored, or not bound to this host: the configuration's to fix. Anything else (the database) is not ours to name.
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      throw new EmbedderError('embedder_rejected', `the embedder's key (secret ${config.secretName}) cannot be used: ${(err as Error).message}`, { status, cause: err });
    }
    throw err;
  }
}

/** Groups of input positions, each within the count and character limits (a text longer than the limit goes alone). */
function* batches(todo: number[], texts: readonly string[], maxBatch: number, maxChars: number): Generator<number[]> {
  let cur: number[] = [];
  let chars = 0;
  for (const i of todo) {
    const len = texts[i]!.length;
    if (cur.length > 0 && (cur.length >= maxBatch || chars + len > maxChars)) {
      yield cur;
      cur = [];
      chars = 0;
    }
    cur.push(i);
    chars += len;
  }
  if (cur.length) yield cur;
}

async function httpError(res: Response, shown: string, scrub: (s: string) => string): Promise<EmbedderError> {
  const text = await readBody(res, ERROR_BODY_BYTES).then((b) => b.text, () => '');
  let message = text.slice(0, 300);
  let code: string | undefined;
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown; code?: unknown; type?: unknown } | string; message?: unknown };
    const e = j.error;
    if (typeof e === 'string') message = e;
    else if (e && typeof e.message === 'string') message = e.message;
    else if (typeof j.message === 'string') message = j.message;
    if (e && typeof e === 'object') code = typeof e.code === 'string' ? e.code : typeof e.type === 'string' ? e.type : undefined;
  } catch {
    // not JSON: the text itself
  }
  const status = res.status;
  const said = scrub(message.slice(0, 500)) || res.statusText;
  // OpenAI answers 429 for an exhausted quota too; waiting does not refill it.
  const retryable = status === 408 || (status === 429 && code !== 'insufficient_quota') || status >= 500;
  const hint =
    status === 401 || status === 403
      ? 'check the key stored in the embedder\'s secret'
      : status === 404
        ? 'check the base URL (it should end where /embeddings is, e.g. …/v1) and the model name'
        : status === 429 && !retryable
          ? 'the account is out of quota'
          : retryable
            ? 'the endpoint is overloaded or failing; try again later'
            : "check the model name, the inputs' length and dims (a model that does not support `dimensions` refuses it)";
  return new EmbedderError(retryable ? 'embedder_unavailable' : 'embedder_rejected', `${shown} answered HTTP ${status}: ${said}; ${hint}`, {
    status,
    retryable,
    retryAfterMs: parseRetryAfter(res.headers),
  });
}

/** data[i].embedding ordered by index, each `dims` numbers, normalised; usage.prompt_tokens when given. */
export function parseEmbeddings(text: string, n: number, dims: number, scrub: (s: string) => string = (s) => s): { vectors: number[][]; tokens?: number } {
  const bad = (why: string) =>
    new EmbedderError('embedder_bad_response', `the embedding endpoint's answer is not usable: ${why}; check that the base URL is an OpenAI-compatible API`);
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw bad(`it is not JSON (${scrub(text.slice(0, 120))})`);
  }
  const data = (j as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw bad('it has no data array');
  if (data.length !== n) throw bad(`it holds ${data.length} embeddings for ${n} inputs`);
  const vectors = new Array<number[] | undefined>(n);
  const indexed = data.some((d) => (d as { index?: unknown } | null)?.index !== undefined);
  data.forEach((d: unknown, pos) => {
    const item = d as { index?: unknown; embedding?: unknown } | null;
    const i = indexed ? item?.index : pos;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= n || vectors[i]) throw bad(`data[${pos}].index is missing, repeated or out of range`);
    const e = item?.embedding;
    if (typeof e === 'string') throw bad(`data[${pos}].embedding is a string (base64?); the endpoint must answer floats`);
    if (!Array.isArray(e) || !e.every((x) => typeof x === 'number' && Number.isFinite(x))) throw bad(`data[${pos}].embedding is not an array of numbers`);
    if (e.length !== dims) {
      throw new EmbedderError(
        'embedder_bad_response',
        `the embedding endpoint answered vectors of ${e.length} dimensions where ${dims} were expected; set dims to ${e.length}, or use a model that supports the dimensions parameter`,
      );
    }
    vectors[i] = normalise(e as number[]);
  });
  const t = (j as { usage?: { prompt_tokens?: unknown } }).usage?.prompt_tokens;
  return { vectors: vectors as number[][], ...(typeof t === 'number' && Number.isFinite(t) && t >= 0 ? { tokens: Math.round(t) } : {}) };
}

function normalise(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return norm === 0 ? unit(v.length) : v.map((x) => x / norm);
}

const unit = (dims: number) => Array.from({ length: dims }, (_, i) => (i === 0 ? 1 : 0));
