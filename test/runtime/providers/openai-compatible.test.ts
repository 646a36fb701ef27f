import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  OpenAICompatibleProvider,
  ProviderError,
  type ChatRequest,
  type Delta,
  type OpenAICompatibleConfig,
} from '../../../src/runtime/index.js';
import { chunk, completion, hang, json, raw, sse, startFakeOpenAI, type FakeServer } from './fake-openai-server.js';

const KEY = 'sk-test-SECRET-4242';
let server: FakeServer;

beforeAll(async () => {
  server = await startFakeOpenAI();
});
afterAll(async () => server?.close());
beforeEach(() => {
  server.requests.length = 0;
});

const provider = (o: Partial<OpenAICompatibleConfig> = {}) =>
  new OpenAICompatibleProvider({
    baseUrl: server.baseUrl,
    apiKey: KEY,
    model: 'test-model',
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...o,
  });

const hello: ChatRequest = { messages: [{ role: 'user', content: 'hi' }] };
const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  const pe = err as ProviderError;
  // The key must never leak, whatever the server said.
  expect(pe.message).not.toContain(KEY);
  expect(String(pe.stack)).not.toContain(KEY);
  return pe;
}

describe('OpenAI-compatible provider, non-streaming', () => {
  it('returns plain text, maps usage details and sends the key and request fields', async () => {
    server.enqueue(
      json(
        200,
        completion(
          { content: 'Hello there' },
          {
            usage: {
              prompt_tokens: 120,
              completion_tokens: 40,
              total_tokens: 160,
              prompt_tokens_details: { cached_tokens: 100 },
              completion_tokens_details: { reasoning_tokens: 25 },
            },
          },
        ),
      ),
    );
    const r = await provider().complete({ ...hello, temperature: 0.2, maxTokens: 64 });
    expect(r).toMatchObject({
      content: 'Hello there',
      toolCalls: [],
      finishReason: 'stop',
      model: 'served-model-2024',
      attempts: 1,
      usage: { promptTokens: 120, completionTokens: 40, cachedTokens: 100, reasoningTokens: 25, totalTokens: 160 },
    });
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    const sent = server.requests[0]!;
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent.body).toEqual({
      model: 'test-model',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.2,
      max_tokens: 64,
    });
  });

  it('sends no Authorization header without a key (local servers)', async () => {
    server.enqueue(json(200, completion({ content: 'ok' })));
    await provider({ apiKey: undefined }).complete(hello);
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('maps tools, tool choice and history out, and tool calls in (invalid arguments kept raw and flagged)', async () => {
    server.enqueue(
      json(200, {
        model: 'served-model-2024',
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
                { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } },
              ],
            },
          },
        ],
      }),
    );
    const r = await provider().complete({
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: null,
          toolCalls: [{ id: 'c0', name: 'get_weather', arguments: { city: 'Rome' }, rawArguments: '{"city": "Rome"}' }],
        },
        { role: 'tool', toolCallId: 'c0', content: '{"temp":20}' },
      ],
      tools: [weatherTool],
      toolChoice: { name: 'get_weather' },
    });
    expect(r.finishReason).toBe('tool_calls');
    expect(r.content).toBeNull();
    expect(r.toolCalls[0]).toEqual({ id: 'call_a', name: 'get_weather', arguments: { city: 'Oslo' }, rawArguments: '{"city":"Oslo"}' });
    expect(r.toolCalls[1]).toMatchObject({ id: 'call_b', arguments: {}, rawArguments: '{"city":' });
    expect(r.toolCalls[1]!.invalidArguments).toMatch(/not valid JSON/);
    expect(r.usage.totalTokens).toBe(0);

    const first = server.requests[0]!.body;
    expect(first.tools).toEqual([{ type: 'function', function: weatherTool }]);
    expect(first.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    expect(first.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c0', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Rome"}' } }],
      },
      { role: 'tool', tool_call_id: 'c0', content: '{"temp":20}' },
    ]);
  });

  it('a body that is not JSON is invalid_response, not retried', async () => {
    server.enqueue(raw(200, '{"choices": [ oops'));
    const e = await failure(provider().complete(hello));
    expect(e).toMatchObject({ kind: 'invalid_response', retryable: false, attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });
});

describe('OpenAI-compatible provider, streaming', () => {
  it('assembles text and tool-call argument fragments by index, with usage from the last chunk', async () => {
    server.enqueue(
      sse([
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Let me ' }),
        chunk({ content: 'check.' }),
        chunk({ tool_calls: [{ index: 0, id: 'call_x', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
        chunk({ tool_calls: [{ index: 1, id: 'call_y', type: 'function', function: { name: 'get_time', arguments: '{"tz"' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty": "Os' } }] }),
        chunk({ tool_calls: [{ index: 1, function: { arguments: ':"UTC"}' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'lo"}' } }] }),
        chunk({}, 'tool_calls'),
        {
          id: 'chatcmpl-1',
          model: 'served-model-2024',
          choices: [],
          usage: {
            prompt_tokens: 50,
            completion_tokens: 20,
            total_tokens: 70,
            prompt_tokens_details: { cached_tokens: 32 },
            completion_tokens_details: { reasoning_tokens: 8 },
          },
        },
      ]),
    );
    const deltas: Delta[] = [];
    const r = await provider().complete({ ...hello, tools: [weatherTool], stream: true }, { onDelta: (d) => deltas.push(d) });
    expect(r.content).toBe('Let me check.');
    expect(r.finishReason).toBe('tool_calls');
    expect(r.toolCalls).toEqual([
      { id: 'call_x', name: 'get_weather', arguments: { city: 'Oslo' }, rawArguments: '{"city": "Oslo"}' },
      { id: 'call_y', name: 'get_time', arguments: { tz: 'UTC' }, rawArguments: '{"tz":"UTC"}' },
    ]);
    expect(r.usage).toEqual({ promptTokens: 50, completionTokens: 20, cachedTokens: 32, reasoningTokens: 8, totalTokens: 70 });
    expect(r.model).toBe('served-model-2024');
    expect(deltas.filter((d) => d.type === 'content').map((d) => (d.type === 'content' ? d.text : ''))).toEqual([
      'Let me ',
      'check.',
    ]);
    expect(deltas.filter((d) => d.type === 'tool_call' && d.index === 0)).toHaveLength(4);
    const body = server.requests[0]!.body;
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(server.requests[0]!.headers.accept).toBe('text/event-stream');
  });

  it('a stream that ends without finish_reason or [DONE] fails, and is not retried once deltas went out', async () => {
    let cut!: () => void;
    const cutWhen = new Promise<void>((resolve) => (cut = resolve));
    server.enqueue(sse([chunk({ content: 'partial ' })], { cutWhen }));
    const deltas: Delta[] = [];
    const e = await failure(
      provider({ retry: { maxAttempts: 3, baseDelayMs: 1 } }).complete(
        { ...hello, stream: true },
        {
          onDelta: (d) => {
            deltas.push(d);
            cut();
          },
        },
      ),
    );
    expect(e.kind, e.message).toBe('network');
    expect(e.retryable).toBe(false);
    expect(e.attempts).toBe(1);
    expect(deltas).toEqual([{ type: 'content', text: 'partial ' }]);
    expect(server.requests).toHaveLength(1);
  });

  it('an event that is not JSON is invalid_response', async () => {
    server.enqueue((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"choices": [\n\n');
    });
    const e = await failure(provider().complete({ ...hello, stream: true }));
    expect(e.kind).toBe('invalid_response');
  });

  it('accepts a JSON answer when the server ignored stream: true', async () => {
    server.enqueue(json(200, completion({ content: 'not streamed' })));
    const r = await provider().complete({ ...hello, stream: true });
    expect(r.content).toBe('not streamed');
  });
});

describe('OpenAI-compatible provider, errors and retries', () => {
  it('honours Retry-After on 429, then succeeds', async () => {
    server.enqueue(json(429, { error: { message: 'slow down', type: 'rate_limit_exceeded' } }, { 'retry-after': '1' }));
    server.enqueue(json(200, completion({ content: 'after the wait' })));
    const r = await provider().complete(hello);
    expect(r.content).toBe('after the wait');
    expect(r.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
    // Lower bound only: the retry came no sooner than the server asked.
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('does not wait for a Retry-After beyond the allowed maximum', async () => {
    server.enqueue(json(429, { error: { message: 'later' } }, { 'retry-after': '3600' }));
    const e = await failure(provider().complete(hello));
    expect(e).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 3_600_000, attempts: 1 });
    expect(e.message).toMatch(/asked to wait 3600s/);
  });

  it('a 429 for an exhausted quota is not retried', async () => {
    server.enqueue(json(429, { error: { message: 'You exceeded your quota', code: 'insufficient_quota' } }));
    const e = await failure(provider().complete(hello));
    expect(e).toMatchObject({ kind: 'rate_limited', retryable: false, attempts: 1 });
  });

  it('retries 500 twice, then succeeds', async () => {
    server.enqueue(json(500, { error: { message: 'boom' } }), raw(502, '<html>bad gateway</html>', 'text/html'));
    server.enqueue(json(200, completion({ content: 'third time' })));
    const r = await provider().complete(hello);
    expect(r).toMatchObject({ content: 'third time', attempts: 3 });
    expect(server.requests).toHaveLength(3);
  });

  it('gives up after maxAttempts server errors with the last status', async () => {
    server.enqueue(json(503, { error: { message: 'overloaded' } }), json(503, { error: { message: 'still overloaded' } }));
    const e = await failure(provider({ retry: { maxAttempts: 2, baseDelayMs: 1 } }).complete(hello));
    expect(e).toMatchObject({ kind: 'server_error', status: 503, retryable: true, attempts: 2 });
    expect(e.message).toContain('still overloaded');
  });

  it('a 400 is bad_request and not retried', async () => {
    server.enqueue(json(400, { error: { message: "'messages' must not be empty", code: 'invalid_request' } }));
    const e = await failure(provider().complete(hello));
    expect(e).toMatchObject({ kind: 'bad_request', status: 400, retryable: false, attempts: 1 });
    expect(e.message).toContain("'messages' must not be empty");
    expect(server.requests).toHaveLength(1);
  });

  it('a 401 is an auth error whose message never carries the key, even when the server echoes it', async () => {
    server.enqueue(json(401, { error: { message: `Incorrect API key provided: ${KEY}.`, code: 'invalid_api_key' } }));
    const e = await failure(provider().complete(hello));
    expect(e).toMatchObject({ kind: 'auth', status: 401, retryable: false, attempts: 1 });
    expect(e.message).toContain('Incorrect API key provided: [redacted]');
  });

  it('a hanging server is a timeout, retried up to maxAttempts', async () => {
    server.enqueue(hang, hang);
    const e = await failure(provider({ timeoutMs: 150, retry: { maxAttempts: 2, baseDelayMs: 1 } }).complete(hello));
    expect(e).toMatchObject({ kind: 'timeout', retryable: true, attempts: 2 });
    expect(server.requests).toHaveLength(2);
  });

  it("the caller's abort is rethrown as is, not as a provider error, and not retried", async () => {
    server.enqueue(hang);
    const ac = new AbortController();
    const p = provider({ timeoutMs: 10_000 }).complete(hello, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user cancelled')), 50);
    await expect(p).rejects.toThrow('user cancelled');
    expect(server.requests).toHaveLength(1);
  });

  it('an unreachable server is a network error after all attempts', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const e = await failure(provider({ baseUrl: `http://127.0.0.1:${port}/v1`, retry: { maxAttempts: 2, baseDelayMs: 1 } }).complete(hello));
    expect(e).toMatchObject({ kind: 'network', retryable: true, attempts: 2 });
    expect(e.message).toMatch(/ECONNREFUSED/);
  });
});
