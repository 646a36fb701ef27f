/**
 * A model endpoint may be a tenant's: redirects are not followed, answers are
 * read with size limits, a tenant's endpoint is reached only at addresses the
 * egress policy checked, and no credential shows in an error.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAICompatibleProvider, ProviderError, type ChatRequest, type OpenAICompatibleConfig } from '../../../src/runtime/index.js';
import { egressFetch } from '../../../src/runtime/providers/egress-fetch.js';
import { chunk, completion, json, sse, startFakeOpenAI, type FakeServer } from './fake-openai-server.js';

let server: FakeServer;
/** Where the redirects point: it must never be asked anything. */
let target: { url: string; hits: number; close(): Promise<void> };

beforeAll(async () => {
  server = await startFakeOpenAI();
  let hits = 0;
  const s = createServer((_req: IncomingMessage, res: ServerResponse) => {
    hits += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(completion({ content: 'from the redirect target' })));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  target = {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    get hits() {
      return hits;
    },
    close: () => new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    }),
  };
});
afterAll(async () => {
  await server?.close();
  await target?.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

const provider = (o: Partial<OpenAICompatibleConfig> = {}) =>
  new OpenAICompatibleProvider({ baseUrl: server.baseUrl, model: 'm', retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...o });
const hello: ChatRequest = { messages: [{ role: 'user', content: 'hi' }] };

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

const redirect = (status: number, location: string) => (res: ServerResponse) => {
  res.writeHead(status, { location });
  res.end();
};

describe('redirects', () => {
  for (const status of [301, 302, 307, 308]) {
    it(`a ${status} is a provider error that is not retried, and the redirect is not followed`, async () => {
      server.enqueue(redirect(status, `${target.url}/v1/chat/completions`));
      const before = target.hits;
      const err = await failure(provider().complete(hello));
      expect(err).toMatchObject({ kind: 'bad_request', status, retryable: false, attempts: 1 });
      expect(err.message).toContain('redirects are not followed');
      expect(err.message).toContain(`${target.url}/v1/chat/completions`);
      expect(target.hits).toBe(before);
      expect(server.requests).toHaveLength(1);
    });
  }

  it('through the egress transport too', async () => {
    server.enqueue(redirect(302, `${target.url}/v1/chat/completions`));
    const before = target.hits;
    const err = await failure(provider({ fetch: egressFetch({ allowPrivate: true }) }).complete(hello));
    expect(err).toMatchObject({ kind: 'bad_request', status: 302, retryable: false });
    expect(target.hits).toBe(before);
  });
});

describe('the egress transport of a tenant endpoint', () => {
  it('connects to a loopback endpoint only when private addresses are allowed, and then answers JSON and streams', async () => {
    const refused = await failure(provider({ fetch: egressFetch({ allowPrivate: false }) }).complete(hello));
    expect(refused).toMatchObject({ kind: 'network', retryable: false, attempts: 1 });
    expect(refused.message).toContain('loopback');
    expect(server.requests).toHaveLength(0);

    const p = provider({ fetch: egressFetch({ allowPrivate: true }), apiKey: 'sk-pinned' });
    server.enqueue(json(200, completion({ content: 'pinned hello' })));
    expect(await p.complete(hello)).toMatchObject({ content: 'pinned hello' });
    expect(server.requests[0]!.headers.authorization).toBe('Bearer sk-pinned');

    server.enqueue(sse([chunk({ content: 'str' }), chunk({ content: 'eamed' }, 'stop')]));
    const deltas: string[] = [];
    const r = await p.complete({ ...hello, stream: true }, { onDelta: (d) => d.type === 'content' && deltas.push(d.text) });
    expect(r.content).toBe('streamed');
    expect(deltas.join('')).toBe('streamed');
  });

  it('a name that resolves to loopback (localhost) is refused as well, by the address it resolves to', async () => {
    const url = server.baseUrl.replace('127.0.0.1', 'localhost');
    const err = await failure(provider({ baseUrl: url, fetch: egressFetch({ allowPrivate: false }) }).complete(hello));
    expect(err.message).toMatch(/localhost resolves to .*loopback/);
    expect(server.requests).toHaveLength(0);
  });

  it('an HTTP error and a hanging-up server map as with fetch', async () => {
    const p = provider({ fetch: egressFetch({ allowPrivate: true }), retry: { maxAttempts: 1 } });
    server.enqueue(json(400, { error: { message: 'bad field' } }));
    expect(await failure(p.complete(hello))).toMatchObject({ kind: 'bad_request', status: 400 });
    server.enqueue((res) => res.socket?.destroy());
    expect(await failure(p.complete(hello))).toMatchObject({ kind: 'network', retryable: true });
  });
});

describe('size limits', () => {
  const MiB = 1024 * 1024;

  it('a JSON body over 8 MiB is invalid_response, not retried', async () => {
    server.enqueue((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const part = 'x'.repeat(MiB);
      res.write('{"pad":"');
      for (let i = 0; i < 9; i++) res.write(part);
      res.end('"}');
    });
    const err = await failure(provider().complete(hello));
    expect(err).toMatchObject({ kind: 'invalid_response', retryable: false, attempts: 1 });
    expect(err.message).toContain('larger than the 8 MiB allowed');
  });

  it('a stream line over 1 MiB is invalid_response', async () => {
    server.enqueue((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: ');
      res.end('x'.repeat(MiB + 10));
    });
    const err = await failure(provider().complete({ ...hello, stream: true }));
    expect(err).toMatchObject({ kind: 'invalid_response', retryable: false });
    expect(err.message).toContain('stream line is longer than');
  });

  it('one event whose data lines add up to over 1 MiB is invalid_response', async () => {
    server.enqueue((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const line = `data: ${'y'.repeat(64 * 1024)}\n`;
      for (let i = 0; i < 20; i++) res.write(line);
      res.end('\n');
    });
    const err = await failure(provider().complete({ ...hello, stream: true }));
    expect(err.message).toContain("stream event's data is longer than");
  });

  it('a stream over 8 MiB in all is invalid_response', async () => {
    server.enqueue((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const comment = `: ${'z'.repeat(64 * 1024)}\n`;
      for (let i = 0; i < 9 * 16 + 1; i++) res.write(comment);
      res.end();
    });
    const err = await failure(provider().complete({ ...hello, stream: true }));
    expect(err).toMatchObject({ kind: 'invalid_response', retryable: false });
    expect(err.message).toContain('the stream is larger than the 8 MiB allowed');
  });

  it('a huge error body is read only in part, and still gives its status', async () => {
    server.enqueue((res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'w'.repeat(9 * MiB) } }));
    });
    const err = await failure(provider().complete(hello));
    expect(err).toMatchObject({ kind: 'bad_request', status: 400 });
  });
});

describe('credentials', () => {
  it('a password in the base URL never shows in an error', async () => {
    const base = server.baseUrl.replace('http://', 'http://user:pa%24%24word@');
    const err = await failure(provider({ baseUrl: base, retry: { maxAttempts: 1 } }).complete(hello));
    expect(err.message).not.toContain('pa%24%24word');
    expect(err.message).not.toContain('pa$$word');
  });
});
