import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

/**
 * Client errors the framework or Node's HTTP parser raise before any route
 * runs get the same error shape and a stable code as everything else. Sent
 * as raw bytes to a real server on loopback: inject() cannot send a broken
 * request.
 */

let t: TestApp;
let owner: SignedUp;
let port: number;
beforeAll(async () => {
  t = await createTestApp({ REQUEST_TIMEOUT_SECONDS: '1' });
  owner = await signupUser(t.app);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(async () => t?.close());

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Sends bytes, reads until the server closes (or 5 s), parses the one answer. */
function raw(request: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 5 s'));
    }, 5000);
    socket.on('data', (b) => chunks.push(b));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const bodyText = rest.join('\r\n\r\n');
      let body: unknown = bodyText;
      try {
        body = JSON.parse(bodyText);
      } catch {
        /* left as text: the assertion shows it */
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.write(request);
  });
}

const auth = () => `Authorization: ${owner.auth.authorization}\r\n`;

type Case = readonly [what: string, status: number, code: string, request: () => string];

describe('framing and parser errors, answered in our shape', () => {
  it.each<Case>([
    ['a malformed chunk size', 400, 'bad_request', () => `POST /v1/agents HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n`],
    ['both Content-Length and Transfer-Encoding', 400, 'bad_request', () => `POST /v1/agents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['a Content-Length that is not a number', 400, 'bad_request', () => `POST /v1/agents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`],
    ['a request line that is not HTTP', 400, 'bad_request', () => 'GARBAGE\r\n\r\n'],
    ['a control character in a header', 400, 'bad_request', () => `GET /v1/me HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n`],
    ['headers larger than the server takes', 431, 'headers_too_large', () => `GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['no Host header', 400, 'bad_request', () => `GET /v1/me HTTP/1.1\r\n${auth()}Connection: close\r\n\r\n`],
    ['a body shorter than its Content-Length (the request times out)', 408, 'request_timeout', () => `POST /v1/agents HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"x"}`],
    ['a media type no route reads', 415, 'unsupported_media_type', () => `POST /v1/agents HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: text/xml\r\nContent-Length: 2\r\nConnection: close\r\n\r\n<a`],
    ['a malformed Content-Type', 415, 'unsupported_media_type', () => `POST /v1/agents HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: ;;;\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`],
    ['a body larger than the limit', 413, 'payload_too_large', () => `POST /v1/agents HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 99999999\r\nConnection: close\r\n\r\n{}`],
    ['a malformed percent-encoding in the path', 400, 'bad_request', () => `GET /v1/agents/%E0%A4%A HTTP/1.1\r\nHost: x\r\n${auth()}Connection: close\r\n\r\n`],
  ])('%s: %i %s with a request id', async (_what, status, code, request) => {
    const res = await raw(request());
    expect(res.status).toBe(status);
    const body = res.body as { error?: { code?: string; message?: string; requestId?: string } };
    expect(body.error, JSON.stringify(res.body)).toBeDefined();
    expect(body.error!.code).toBe(code);
    expect(body.error!.message).toEqual(expect.any(String));
    expect(body.error!.requestId).toBe(res.headers['x-request-id']);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });
});
