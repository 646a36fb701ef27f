/**
 * A real HTTP server on loopback that speaks /v1/chat/completions. Each test
 * queues the answers it wants, in order; every request is recorded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  at: number;
}

export type Handler = (res: ServerResponse, req: Recorded) => void;

export interface FakeServer {
  baseUrl: string;
  requests: Recorded[];
  /** Queues answers; a request with no queued answer gets a 599 that fails the test loudly. */
  enqueue(...handlers: Handler[]): void;
  close(): Promise<void>;
}

export async function startFakeOpenAI(): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const queue: Handler[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const recorded: Recorded = {
        headers: req.headers,
        body: JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as Record<string, unknown>,
        at: Date.now(),
      };
      requests.push(recorded);
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        return json(404, { error: { message: `no route ${req.method} ${req.url}` } })(res, recorded);
      }
      const handler = queue.shift() ?? json(599, { error: { message: 'the test queued no answer for this request' } });
      handler(res, recorded);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...h) => queue.push(...h),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

export const raw =
  (status: number, text: string, contentType = 'application/json'): Handler =>
  (res) => {
    res.writeHead(status, { 'content-type': contentType });
    res.end(text);
  };

/**
 * Sends the events as `data:` lines, then `[DONE]`; with `cutWhen`, drops the
 * connection instead once that promise settles (the test decides when, so no race).
 */
export const sse =
  (events: unknown[], opts: { done?: boolean; cutWhen?: Promise<void> } = {}): Handler =>
  (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': keep-alive comment\n\n');
    events.forEach((e) => {
      const text = `data: ${JSON.stringify(e)}\r\n\r\n`;
      // Split every event mid-line, so the client must reassemble across reads.
      const mid = Math.floor(text.length / 2);
      res.write(text.slice(0, mid));
      res.write(text.slice(mid));
    });
    if (opts.cutWhen) {
      void opts.cutWhen.then(() => res.socket?.destroy());
      return;
    }
    if (opts.done !== false) res.write('data: [DONE]\n\n');
    res.end();
  };

/** Never answers; the socket is closed when the server closes. */
export const hang: Handler = () => undefined;

export const completion = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'served-model-2024',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  ...extra,
});

export const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  model: 'served-model-2024',
  choices: [{ index: 0, delta, finish_reason: finish }],
});
