import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Peer {
  port: number;
  /** http://127.0.0.1:<port> */
  base: string;
  received: Received[];
  close(): Promise<void>;
}

/**
 * A real HTTP API on 127.0.0.1 for http tools to call. Routes:
 *   /echo/...        200 JSON {method, path, query, headers, body}
 *   /status/<code>   that status, JSON {error: "status <code>"}
 *   /big/<bytes>     200 text/plain of that many bytes, sent in 16 KiB chunks
 *   /text            200 text/plain "plain words"
 *   /bad-json        200 application/json that is not JSON
 *   /slow            never answers (until the server closes)
 */
export async function startPeer(): Promise<Peer> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const url = new URL(req.url ?? '/', 'http://peer');
      const json = (status: number, v: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(v));
      };
      if (url.pathname.startsWith('/echo')) {
        return json(200, { method: req.method, path: url.pathname, rawPath: (req.url ?? '').split('?')[0], query: Object.fromEntries(url.searchParams), headers: req.headers, body });
      }
      const status = /^\/status\/(\d{3})$/.exec(url.pathname);
      if (status) return json(Number(status[1]), { error: `status ${status[1]}`, detail: 'x'.repeat(Number(url.searchParams.get('pad') ?? 0)) });
      const big = /^\/big\/(\d+)$/.exec(url.pathname);
      if (big) {
        let left = Number(big[1]);
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = 'a'.repeat(16 * 1024);
        const pump = () => {
          while (left > 0) {
            const part = chunk.slice(0, Math.min(left, chunk.length));
            left -= part.length;
            if (!res.write(part)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('error', () => {});
        return pump();
      }
      if (url.pathname === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end('plain words');
      }
      if (url.pathname === '/bad-json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{not json');
      }
      if (url.pathname === '/slow') return; // hold the request open
      json(404, { error: 'no such route' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
