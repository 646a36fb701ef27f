import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real webhook receiver on 127.0.0.1 for the tests. It records every
 * request and answers what `respond` says (default 200).
 */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: { type: string; timestamp: string; data: Record<string, unknown> };
}

export interface Receiver {
  url: (path?: string) => string;
  port: number;
  received: Received[];
  /** decides the answer for each request; return a status, or a function writing the response */
  respond: (r: Received, n: number) => number | ((res: ServerResponse) => void);
  close: () => Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const rec = { received, respond: (() => 200) as Receiver['respond'] } as Receiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Received['json'];
      try {
        json = JSON.parse(body);
      } catch {
        json = { type: '', timestamp: '', data: {} };
      }
      const r: Received = { path: req.url ?? '/', headers: req.headers, body, json };
      received.push(r);
      const a = rec.respond(r, received.length);
      if (typeof a === 'function') return a(res);
      res.writeHead(a, { 'content-type': 'text/plain' });
      res.end(a >= 200 && a < 300 ? 'ok' : `status ${a}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  rec.port = port;
  rec.url = (path = '/hook') => `http://127.0.0.1:${port}${path}`;
  rec.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return rec;
}

/**
 * Standard Webhooks verification, written here from the specification (not
 * with the service's signer): the key is the base64-decoded part of the
 * secret after "whsec_"; the signed content is `${id}.${timestamp}.${body}`;
 * webhook-signature holds space-separated "v1,<base64 HMAC-SHA256>" entries,
 * any one of which may match; the timestamp must be within 5 minutes.
 */
export function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, body: string, nowSec = Math.floor(Date.now() / 1000)): boolean {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof sigs !== 'string') return false;
  if (!/^\d+$/.test(ts) || Math.abs(nowSec - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.split('_').slice(1).join('_'), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`, 'utf8').digest();
  return sigs.split(' ').some((entry) => {
    const [version, b64] = entry.split(',');
    if (version !== 'v1' || !b64) return false;
    const got = Buffer.from(b64, 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
