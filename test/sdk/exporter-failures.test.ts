import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createService } from '../../src/server.js';
import { AgentbaseError, BatchExporter, type ExportProblem, type ExporterOptions, type RetryInfo } from '../../src/sdk/index.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { createKey } from '../helpers/identity.js';
import { createAgent } from '../agents/fixtures.js';

let t: TestApp;
let url: string;
let apiKey: string;
let agentId: string;
let owner: SignedUp;
const exporters: BatchExporter[] = [];
const closers: (() => Promise<void>)[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  t = await createTestApp();
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  owner = await signupUser(t.app);
  apiKey = (await createKey(t.app, owner.auth, { name: 'sdk', scopes: ['executions:write', 'executions:read'], rateLimit: 100_000 })).key;
  agentId = (await createAgent(t, owner.auth)).id as string;
});
afterEach(async () => {
  await Promise.all(exporters.splice(0).map((e) => e.shutdown({ timeoutMs: 2000 })));
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await t?.close();
  expect(unhandled).toEqual([]);
});

function exporter(opts: Partial<ExporterOptions>) {
  const problems: ExportProblem[] = [];
  const retries: RetryInfo[] = [];
  const exp = new BatchExporter({ baseUrl: url, apiKey, onError: (p) => problems.push(p), onRetry: (r) => retries.push(r), ...opts });
  exporters.push(exp);
  return { exp, problems, retries };
}

const now = () => new Date().toISOString();
const countStored = (table: 'executions' | 'spans', clientIds: string[]) =>
  t.db.tenant(owner.orgId, async (sql) =>
    (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE client_id = ANY($1::text[])`, [clientIds])).rows[0]!.n,
  );
const waitFor = (fn: () => void) => vi.waitFor(fn, { timeout: 15_000, interval: 10 });

/** A loopback port nobody listens on (taken from the OS, then released). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface Arrival {
  at: number;
  body: string;
}

/**
 * A real HTTP server in front of the service: `answer` may reply itself to
 * the nth ingest request (0-based); otherwise the request is forwarded.
 */
async function proxy(answer: (n: number, body: string) => { status: number; headers?: Record<string, string>; body: string } | undefined) {
  const arrivals: Arrival[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const own = req.url === '/v1/ingest/batch' ? answer(arrivals.length, body) : undefined;
      if (req.url === '/v1/ingest/batch') arrivals.push({ at: Date.now(), body });
      if (own) {
        res.writeHead(own.status, own.headers ?? {}).end(own.body);
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => ['authorization', 'content-type', 'accept'].includes(k))) as Record<string, string>;
      fetch(url + req.url, { method: req.method, headers, body: req.method === 'GET' ? undefined : body })
        .then(async (r) => res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(await r.text()))
        .catch(() => res.writeHead(502).end('bad gateway'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals };
}

describe('BatchExporter when the service is down or failing', () => {
  it('nothing listening: recording returns at once, nothing throws, data waits; it arrives once when the service comes up', async () => {
    const port = await freePort();
    const { exp, problems, retries } = exporter({
      baseUrl: `http://127.0.0.1:${port}`, flushIntervalMs: 20, maxRetries: 10_000, initialBackoffMs: 5, maxBackoffMs: 20,
    });
    const e = exp.recordExecution({ agentId, startedAt: now() });
    const spans = [0, 1].map((i) => exp.recordSpan({ executionClientId: e, kind: 'tool_call', name: `step-${i}`, startedAt: now() }));
    expect(typeof spans[0]).toBe('string'); // a value, not a promise: nothing waited for the network
    await waitFor(() => expect(exp.stats().retries).toBeGreaterThanOrEqual(3));
    expect(exp.stats()).toMatchObject({ queued: 3, sent: 0, dropped: 0 });
    expect(problems).toEqual([]);
    expect(retries[0]!.error).toBeInstanceOf(AgentbaseError);
    expect(retries[0]!.error).toMatchObject({ status: 0, code: 'network_error' });
    expect(unhandled).toEqual([]);

    // The real service comes up on that port (a second instance over the same database).
    const svc = await createService(t.config, t.db, false);
    closers.push(() => svc.close());
    await svc.app.listen({ port, host: '127.0.0.1' });
    await exp.flush();
    expect(exp.stats()).toMatchObject({ queued: 0, sent: 3, dropped: 0, rejected: 0 });
    expect(await countStored('executions', [e])).toBe(1);
    expect(await countStored('spans', spans)).toBe(2);
    expect(unhandled).toEqual([]);
  });

  it('retries 503 and 429, waiting what Retry-After says, resending the same batch', async () => {
    const p = await proxy((n) => {
      if (n === 0) return { status: 503, headers: { 'retry-after': '1', 'content-type': 'text/plain' }, body: 'upstream restarting' };
      if (n === 1) {
        return {
          status: 429,
          headers: { 'retry-after': '1', 'content-type': 'application/json' },
          body: JSON.stringify({ error: { code: 'rate_limited', message: 'slow down', requestId: 'r-429' } }),
        };
      }
      return undefined;
    });
    const { exp, problems, retries } = exporter({ baseUrl: p.url, flushIntervalMs: 60_000, maxRetries: 5 });
    const e = exp.recordExecution({ agentId, startedAt: now() });
    const s = exp.recordSpan({ executionClientId: e, kind: 'tool_call', name: 'x', startedAt: now() });
    await exp.flush();

    expect(retries.map((r) => [r.attempt, r.delayMs, r.error.status, r.error.code])).toEqual([
      [1, 1000, 503, 'invalid_response'],
      [2, 1000, 429, 'rate_limited'],
    ]);
    expect(retries[1]!.error.requestId).toBe('r-429');
    expect(p.arrivals).toHaveLength(3);
    expect(new Set(p.arrivals.map((a) => a.body)).size).toBe(1); // the very same batch, clientIds and all
    // Lower bounds only: it waited at least what it was told.
    expect(p.arrivals[1]!.at - p.arrivals[0]!.at).toBeGreaterThanOrEqual(990);
    expect(p.arrivals[2]!.at - p.arrivals[1]!.at).toBeGreaterThanOrEqual(990);
    expect(problems).toEqual([]);
    expect(exp.stats()).toMatchObject({ sent: 2, retries: 2, dropped: 0, queued: 0 });
    expect(await countStored('executions', [e])).toBe(1);
    expect(await countStored('spans', [s])).toBe(1);
  });

  it('gives a batch up after maxRetries and goes on with the next', async () => {
    const p = await proxy((n) => (n < 3 ? { status: 500, body: 'boom' } : undefined));
    const { exp, problems } = exporter({ baseUrl: p.url, flushIntervalMs: 60_000, maxRetries: 2, initialBackoffMs: 1, maxBackoffMs: 5 });
    const lost = exp.recordExecution({ agentId, startedAt: now() });
    await exp.flush();
    const kept = exp.recordExecution({ agentId, startedAt: now() });
    await exp.flush();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ type: 'dropped', reason: 'retries_exhausted', count: 1 });
    expect((problems[0] as { error: AgentbaseError }).error.status).toBe(500);
    expect(exp.stats()).toMatchObject({ dropped: 1, sent: 1, retries: 2 });
    expect(await countStored('executions', [lost])).toBe(0);
    expect(await countStored('executions', [kept])).toBe(1);
  });

  it('does not retry a 4xx other than 408/429: a key without executions:write drops the batch and says why', async () => {
    const readOnly = (await createKey(t.app, owner.auth, { name: 'read-only', scopes: ['executions:read'] })).key;
    const { exp, problems, retries } = exporter({ apiKey: readOnly, flushIntervalMs: 60_000 });
    const e = exp.recordExecution({ agentId, startedAt: now() });
    await exp.flush();
    expect(retries).toEqual([]);
    expect(exp.stats()).toMatchObject({ dropped: 1, sent: 0, retries: 0, queued: 0 });
    expect(problems[0]).toMatchObject({ type: 'dropped', reason: 'client_error', count: 1 });
    expect((problems[0] as { error: AgentbaseError }).error).toMatchObject({ status: 403, code: 'forbidden' });
    expect(await countStored('executions', [e])).toBe(0);
  });

  it('does not retry a monthly quota (429 quota_exceeded): the batch is dropped at once and says why', async () => {
    const other = await signupUser(t.app);
    const key = (await createKey(t.app, other.auth, { name: 'sdk', scopes: ['executions:write'] })).key;
    const agent = (await createAgent(t, other.auth)).id as string;
    const org = (await t.app.inject({ method: 'GET', url: '/v1/org', headers: other.auth })).json();
    await t.app.inject({ method: 'PATCH', url: '/v1/org', headers: other.auth, payload: { version: org.version, maxIngestedSpansPerMonth: 1 } });
    const { exp, problems, retries } = exporter({ apiKey: key, flushIntervalMs: 60_000 });
    const run = exp.startExecution({ agentId: agent });
    run.span({ kind: 'other', name: 'a' });
    run.span({ kind: 'other', name: 'b' });
    await exp.flush();
    expect(retries).toEqual([]);
    expect(problems[0]).toMatchObject({ type: 'dropped', reason: 'quota_exceeded', count: 3 });
    expect((problems[0] as { error: AgentbaseError }).error).toMatchObject({ status: 429, code: 'quota_exceeded' });
  });

  it('splits a batch the API finds too large (413) and sends both halves in order', async () => {
    const p = await proxy((_n, body) => {
      const items = (JSON.parse(body) as { executions?: unknown[]; spans?: unknown[] });
      const size = (items.executions?.length ?? 0) + (items.spans?.length ?? 0);
      return size > 2 ? { status: 413, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'payload_too_large', message: 'split it', requestId: 'r' } }) } : undefined;
    });
    const { exp, problems } = exporter({ baseUrl: p.url, flushIntervalMs: 60_000 });
    const e = exp.recordExecution({ agentId, startedAt: now() });
    const spans = [0, 1, 2, 3].map((i) => exp.recordSpan({ executionClientId: e, kind: 'tool_call', name: `s${i}`, startedAt: now() }));
    await exp.flush();
    expect(problems).toEqual([]);
    expect(exp.stats()).toMatchObject({ sent: 5, rejected: 0, retries: 0, dropped: 0 });
    expect(await countStored('spans', spans)).toBe(4);
  });

  it('shutdown({ timeoutMs }) against a dead service gives up in time and reports what it drops', async () => {
    const port = await freePort();
    const { exp, problems } = exporter({ baseUrl: `http://127.0.0.1:${port}`, flushIntervalMs: 60_000, maxRetries: 10_000, initialBackoffMs: 5, maxBackoffMs: 20 });
    for (let i = 0; i < 3; i++) exp.recordExecution({ agentId, startedAt: now() });
    await exp.shutdown({ timeoutMs: 100 });
    expect(exp.stats()).toMatchObject({ queued: 0, sent: 0, dropped: 3 });
    expect(problems).toMatchObject([{ type: 'dropped', reason: 'shutdown', count: 3 }]);
  });
});
