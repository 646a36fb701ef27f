import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bundledEmbedder, pieces, SharedLoad, useLite } from '../../src/memory/embedders/bundled.js';
import { createEmbedder } from '../../src/memory/embedders/create.js';
import { hashedEmbedder } from '../../src/memory/embedders/hashed.js';
import { EmbedderError, openaiEmbedder, type OpenAIEmbedderConfig } from '../../src/memory/embedders/openai.js';
import type { EgressFetch, OpenSecret } from '../../src/memory/index.js';
import { embeddingEgress } from '../../src/runtime/index.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (v: number[]) => Math.hypot(...v);

/** Whether a package of @energetic-ai is in the require cache (CommonJS packages land there even when imported). */
const energeticLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('@energetic-ai'));

describe('bundled embedder (USE lite)', () => {
  // First in the file: nothing before it may have embedded with the bundled model.
  it('loads nothing until the first embed; concurrent first calls share one load', async () => {
    const a = createEmbedder({ embedder: 'bundled' }, { orgId: 'o' })!;
    const b = bundledEmbedder();
    expect(a).toMatchObject({ kind: 'bundled', model: 'use-lite-512', dims: 512 });
    expect(useLite.loads).toBe(0);
    expect(energeticLoaded()).toBe(false);

    const [ra, rb] = await Promise.all([a.embed(['the first call']), b.embed(['a second call at the same time'])]);
    expect(useLite.loads).toBe(1);
    expect(useLite.loaded).toBe(true);
    expect(energeticLoaded()).toBe(true);
    expect(ra.vectors[0]).toHaveLength(512);
    expect(rb.vectors[0]).toHaveLength(512);
    await a.embed(['later']);
    expect(useLite.loads).toBe(1);
  }, 60_000);

  it('512 normalised dimensions per text, in order; a paraphrase is closer than an unrelated sentence', async () => {
    const e = bundledEmbedder();
    const texts = ['The customer prefers to be contacted by email.', 'This client would rather get an e-mail than a call.', 'The database migration failed at 3 am.', ''];
    const { vectors, tokens } = await e.embed(texts);
    expect(vectors).toHaveLength(4);
    for (const v of vectors) {
      expect(v).toHaveLength(512);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(dot(vectors[0]!, vectors[1]!)).toBeGreaterThan(dot(vectors[0]!, vectors[2]!));
    expect(tokens).toBe(8 + 11 + 7);
    // Each text alone gets the vector it got in the batch: batching and sorting by length do not mix texts up.
    const alone = await e.embed([texts[2]!]);
    expect(dot(alone.vectors[0]!, vectors[2]!)).toBeCloseTo(1, 4);
    expect(await e.embed([])).toEqual({ vectors: [], tokens: 0 });
  }, 60_000);

  it('a long text is embedded in pieces cut at whitespace', async () => {
    const sentence = 'Agents remember what customers prefer and which invoices are overdue. ';
    const long = sentence.repeat(50); // ~3,500 characters
    const p = pieces(long);
    expect(p.length).toBe(4);
    expect(p.every((x) => x.length <= 1000 && !/^\s|\s$/.test(x))).toBe(true);
    expect(p.join(' ')).toBe(long.trim());
    expect(pieces('x'.repeat(100_000))).toHaveLength(16);
    expect(pieces('short')).toEqual(['short']);
    const { vectors } = await bundledEmbedder().embed([long, sentence, 'The weather in Lisbon is sunny today.']);
    expect(norm(vectors[0]!)).toBeCloseTo(1, 5);
    expect(dot(vectors[0]!, vectors[1]!)).toBeGreaterThan(dot(vectors[0]!, vectors[2]!));
  }, 60_000);

  it('a failed load is reported and tried again on the next call', async () => {
    let calls = 0;
    const model = new SharedLoad(async () => {
      if (++calls === 1) throw new Error('out of memory');
      return { embed: async (t: string[]) => t.map(() => [3, 4, ...new Array<number>(510).fill(0)]) };
    });
    const e = bundledEmbedder({ model });
    const err = await e.embed(['x']).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EmbedderError);
    expect(err).toMatchObject({ code: 'embedder_unavailable', message: expect.stringContaining('out of memory') });
    const { vectors } = await e.embed(['x']);
    expect(vectors[0]!.slice(0, 2)).toEqual([0.6, 0.8]);
    expect(model.loads).toBe(2);
  });
});

describe('hashed embedder', () => {
  it('is deterministic, normalised, and ranks texts sharing words closer', async () => {
    const e = hashedEmbedder(128);
    expect(e).toMatchObject({ kind: 'hashed', model: 'hashed-ngram-128', dims: 128 });
    const texts = ['invoice overdue for Acme', 'Acme invoice is overdue', 'weather in Lisbon tomorrow'];
    const one = await e.embed(texts);
    const two = await hashedEmbedder(128).embed(texts);
    expect(two).toEqual(one);
    for (const v of one.vectors) expect(norm(v)).toBeCloseTo(1, 9);
    expect(dot(one.vectors[0]!, one.vectors[1]!)).toBeGreaterThan(dot(one.vectors[0]!, one.vectors[2]!));
    expect(one.tokens).toBe(4 + 4 + 4);
    expect(createEmbedder({ embedder: 'hashed' }, { orgId: 'o' })!.model).toBe('hashed-ngram-256');
    expect(createEmbedder({ embedder: 'none' }, { orgId: 'o' })).toBeNull();
  });
});

// ---------------------------------------------------------------------------
// OpenAI-compatible: a real server on loopback, reached through the runtime's
// egress policy (loopback allowed, as AGENTBASE_EGRESS_ALLOW_PRIVATE does for
// the runtime's own tests) with the key from the secrets store.

interface Seen {
  headers: IncomingMessage['headers'];
  body: { model: string; input: string[]; dimensions?: number };
}
type Answer = (res: ServerResponse, req: Seen) => void;

/** The vector the fake answers for a text: a hashed one, so a test can check which text got which. */
const expected = async (text: string, dims: number) => (await hashedEmbedder(dims).embed([text])).vectors[0]!;

/** Answers every input, in reverse order of index, with usage; the length is `dimensions`, else 1536 for text-embedding-3-small, else 32. */
const embeddings: Answer = (res, req) => {
  const dims = req.body.dimensions ?? (req.body.model === 'text-embedding-3-small' ? 1536 : 32);
  void Promise.all(req.body.input.map((t) => expected(t, dims))).then((vs) => {
    const data = vs.map((embedding, index) => ({ object: 'embedding', index, embedding })).reverse();
    send(res, 200, { object: 'list', data, model: req.body.model, usage: { prompt_tokens: req.body.input.length * 3, total_tokens: 0 } });
  });
};
const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

const KEY = 'sk-embed-test-0c9d8e7f-do-not-leak';
let server: ReturnType<typeof createServer>;
let baseUrl: string;
const seen: Seen[] = [];
const queue: Answer[] = [];
let t: TestApp;
let owner: SignedUp;
let egress: { egressFetch: EgressFetch; openSecret: OpenSecret };

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const s: Seen = { headers: req.headers, body: JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as Seen['body'] };
      seen.push(s);
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') return send(res, 404, { error: { message: `no route ${req.url}` } });
      (queue.shift() ?? embeddings)(res, s);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  t = await createTestApp({ AGENTBASE_EGRESS_ALLOW_PRIVATE: 'true' });
  owner = await signupUser(t.app);
  for (const [name, hosts] of [['EMBED_KEY', ['127.0.0.1']], ['ELSEWHERE_KEY', ['api.openai.com']]] as const) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/secrets', headers: owner.auth, payload: { name, value: KEY, allowedHosts: hosts } });
    expect(res.statusCode, res.body).toBe(201);
  }
  egress = embeddingEgress(t.service.runtime);
});
afterAll(async () => {
  await t?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
  queue.length = 0;
});

const openai = (over: Partial<OpenAIEmbedderConfig> = {}) =>
  openaiEmbedder({ orgId: owner.orgId, baseUrl, model: 'embed-test', dims: 32, secretName: 'EMBED_KEY', ...egress, retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...over });
const failure = (p: Promise<unknown>) => p.then(() => expect.fail('expected an EmbedderError'), (e: unknown) => e as EmbedderError);

describe('openai-compatible embedder', () => {
  it('batches 256 inputs a request, orders vectors by index, sends the stored key and dimensions', async () => {
    const e = createEmbedder({ embedder: 'openai', baseUrl, model: 'embed-test', dims: 32, secretName: 'EMBED_KEY' }, { orgId: owner.orgId, ...egress })!;
    expect(e).toMatchObject({ kind: 'openai', model: 'embed-test', dims: 32 });
    const texts = Array.from({ length: 600 }, (_, i) => `memory number ${i}`);
    const { vectors, tokens } = await e.embed(texts);
    expect(seen.map((s) => s.body.input.length)).toEqual([256, 256, 88]);
    expect(seen.every((s) => s.headers.authorization === `Bearer ${KEY}` && s.body.dimensions === 32 && s.body.model === 'embed-test')).toBe(true);
    expect(vectors).toHaveLength(600);
    for (const i of [0, 255, 256, 599]) expect(vectors[i]).toEqual(await expected(texts[i]!, 32));
    expect(tokens).toBe(600 * 3);
  });

  it('splits by characters too, skips empty texts, and sends no dimensions unless configured', async () => {
    const big = (c: string) => c.repeat(100_000);
    const e = openai({ model: 'text-embedding-3-small', dims: undefined, secretName: undefined });
    expect(e.dims).toBe(1536);
    const { vectors } = await e.embed([big('a'), '', big('b'), '  ', big('c')]);
    expect(seen.map((s) => s.body.input.length)).toEqual([2, 1]);
    expect(seen.every((s) => !('dimensions' in s.body) && s.headers.authorization === undefined)).toBe(true);
    expect(vectors.map((v) => v.length)).toEqual([1536, 1536, 1536, 1536, 1536]);
    expect(vectors[2]).toEqual(await expected(big('b'), 1536));
    expect(() => createEmbedder({ embedder: 'openai', baseUrl, model: 'my-local-model' }, { orgId: owner.orgId, ...egress })).toThrow(/set dims/);
  });

  it('waits as long as Retry-After asks after a 429, then succeeds', async () => {
    queue.push((res) => send(res, 429, { error: { message: 'Rate limit reached', type: 'requests' } }, { 'retry-after': '1' }));
    const delays: number[] = [];
    const { vectors } = await openai({ onRetry: (r) => delays.push(r.delayMs) }).embed(['hello']);
    expect(seen).toHaveLength(2);
    expect(delays).toEqual([1000]);
    expect(vectors[0]).toEqual(await expected('hello', 32));
  });

  it('retries a 500 up to 4 attempts, then gives up with embedder_unavailable', async () => {
    for (let i = 0; i < 5; i++) queue.push((res) => send(res, 500, { error: { message: 'upstream exploded' } }));
    const err = await failure(openai().embed(['hello']));
    expect(err).toBeInstanceOf(EmbedderError);
    expect(err).toMatchObject({ code: 'embedder_unavailable', status: 500, attempts: 4 });
    expect(err.message).toContain('upstream exploded');
    expect(seen).toHaveLength(4);
  });

  it('a malformed answer is embedder_bad_response, not retried', async () => {
    const cases: Array<[Answer, RegExp]> = [
      [(res) => send(res, 200, 'not json at all'), /not JSON/],
      [(res) => send(res, 200, { data: 'nope' }), /no data array/],
      [(res) => send(res, 200, { data: [] }), /0 embeddings for 1 inputs/],
      [(res) => send(res, 200, { data: [{ index: 0, embedding: [1, 2, 3] }] }), /3 dimensions where 32 were expected/],
      [(res) => send(res, 200, { data: [{ index: 5, embedding: new Array(32).fill(1) }] }), /index/],
      [(res) => send(res, 200, { data: [{ index: 0, embedding: 'AAAA' }] }), /base64/],
      [(res) => send(res, 200, `{"data": [${' '.repeat(200_000)}]}`), /more than \d+ bytes/],
    ];
    for (const [answer, message] of cases) {
      seen.length = 0;
      queue.push(answer);
      const err = await failure(openai().embed(['hello']));
      expect(err).toMatchObject({ code: 'embedder_bad_response', message: expect.stringMatching(message) });
      expect(seen).toHaveLength(1);
    }
  });

  it('a rejected key is embedder_rejected and the key never appears in the error', async () => {
    queue.push((res) => send(res, 401, { error: { message: `Incorrect API key provided: ${KEY}.`, code: 'invalid_api_key' } }));
    const err = await failure(openai().embed(['hello']));
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(err).toMatchObject({ code: 'embedder_rejected', status: 401 });
    expect(err.message).toContain('[redacted]');
    expect(err.message).not.toContain(KEY);
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toContain(KEY);
  });

  it('refuses before sending: a secret not bound to the host, a policy that refuses loopback, a redirect', async () => {
    const unbound = await failure(openai({ secretName: 'ELSEWHERE_KEY' }).embed(['hello']));
    expect(unbound).toMatchObject({ code: 'embedder_rejected', message: expect.stringMatching(/ELSEWHERE_KEY.*allowedHosts/) });
    const missing = await failure(openai({ secretName: 'NO_SUCH_KEY' }).embed(['hello']));
    expect(missing).toMatchObject({ code: 'embedder_rejected', message: expect.stringContaining('not stored') });

    const strict = embeddingEgress({ ...t.service.runtime, config: { ...t.service.runtime.config, egressAllowPrivate: false } });
    const refused = await failure(openai({ ...strict }).embed(['hello']));
    expect(refused).toMatchObject({ code: 'embedder_rejected', attempts: 1, message: expect.stringContaining('loopback') });
    expect(seen).toHaveLength(0);

    queue.push((res) => send(res, 302, {}, { location: 'http://169.254.169.254/latest' }));
    const redirected = await failure(openai().embed(['hello']));
    expect(redirected).toMatchObject({ code: 'embedder_rejected', status: 302, message: expect.stringContaining('redirects are not followed') });
    expect(seen).toHaveLength(1);
  });

  it('an answer that does not come in time is embedder_unavailable; the caller can abort', async () => {
    queue.push(() => undefined);
    const err = await failure(openai({ timeoutMs: 200, retry: { maxAttempts: 1 } }).embed(['hello']));
    expect(err).toMatchObject({ code: 'embedder_unavailable', message: expect.stringContaining('did not answer within 200 ms') });

    queue.push(() => undefined);
    const ac = new AbortController();
    const p = openai().embed(['hello'], { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('caller gave up')), 50);
    await expect(p).rejects.toThrow('caller gave up');
  });

  it('without the service wiring the openai embedder is refused clearly', () => {
    expect(() => createEmbedder({ embedder: 'openai', baseUrl, model: 'embed-test', dims: 32 }, { orgId: 'o' })).toThrow(/egressFetch and openSecret/);
    expect(() => createEmbedder({ embedder: 'openai', baseUrl: 'http://u:p@x.test/v1', model: 'm', dims: 8 }, { orgId: 'o', ...egress })).toThrow(/user name or password/);
  });
});

describe('a paid embedder is recorded and priced', () => {
  it("records each call made for an agent as an llm_call span priced into the ledger; free embedders and agentless calls are not", async () => {
    const api = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
      const r = await t.app.inject({ method, url, headers: owner.auth, ...(payload === undefined ? {} : { payload: payload as object }) });
      expect(r.statusCode, `${method} ${url}: ${r.body}`).toBeLessThan(300);
      return r.json();
    };
    await api('POST', '/v1/agents', { name: 'Metered', slug: 'metered' });
    await api('POST', '/v1/agents', { name: 'Free', slug: 'free' });
    await api('POST', '/v1/model-prices', { provider: 'openai', modelPattern: '^embed-priced$', effectiveFrom: '2024-01-01T00:00:00Z', inputPrice: 0.001, outputPrice: 0 });
    await api('PUT', '/v1/agents/metered/memory/config', { embedder: 'openai', baseUrl, embeddingModel: 'embed-priced', embeddingDims: 32, secretName: 'EMBED_KEY' });
    await api('PUT', '/v1/agents/free/memory/config', { embedder: 'hashed', embeddingDims: 32 });

    await api('POST', '/v1/agents/metered/memories/batch', { items: [{ content: 'prefers aisle seats' }, { content: 'allergic to peanuts' }] });
    await api('POST', '/v1/agents/metered/memories/search', { query: 'seat preference' });
    await api('POST', '/v1/agents/free/memories/batch', { items: [{ content: 'likes tea' }] });

    const metered = (await api('GET', '/v1/agents/metered')).id as string;
    const executions = (await api('GET', `/v1/executions?agentId=${metered}`)).data as { id: string; modelName: string; promptTokens: number; costUsd: number }[];
    expect(executions.map((e) => [e.modelName, e.promptTokens, e.costUsd]).sort()).toEqual([
      ['embed-priced', 3, 0.003], // the search: one text, 3 tokens at 0.001
      ['embed-priced', 6, 0.006], // the save: two texts
    ].sort());
    const trace = await api('GET', `/v1/executions/${executions[0]!.id}`);
    expect(JSON.stringify(trace)).toMatch(/"kind":"llm_call".*"name":"embeddings"|"name":"embeddings".*"kind":"llm_call"/);
    const byModel = (await api('GET', '/v1/costs?groupBy=model')).data as { key: string; costUsd: number }[];
    expect(byModel.find((r) => r.key === 'embed-priced')?.costUsd).toBeCloseTo(0.009, 9);

    const free = (await api('GET', '/v1/agents/free')).id as string;
    expect((await api('GET', `/v1/executions?agentId=${free}`)).data).toEqual([]);
  });
});
