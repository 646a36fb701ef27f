import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { deriveKeys } from '../src/identity/index.js';
import { emitEvent, emitEvents, type EventInput } from '../src/events/index.js';
import { Worker } from '../src/jobs/index.js';
import { webhookJobHandlers } from '../src/platform/index.js';
import { benchDatabase, envNumber, stats, type Stats } from './bench-db.js';

/**
 * Webhook delivery on server PostgreSQL (issue 14): events emitted through the
 * outbox (src/events), delivered by the job worker to a loopback receiver
 * (node:http) that answers 500 to 1 % of requests, which are then retried.
 *
 * - throughput: BENCH_WEBHOOKS_EVENTS events are emitted (100 per
 *   transaction), then the worker starts; deliveries/s is events received
 *   successfully over the time until the last one is.
 * - latency: with the worker idle, events are emitted one per transaction,
 *   BENCH_WEBHOOKS_GAP_MS apart; latency is from the commit acknowledged to
 *   the receiver reading the request (the first attempt; retried ones are
 *   reported apart). Run at the server's poll interval (1000 ms) and at 50 ms.
 * - baseline, same run: the receiver's raw request rate from a plain node:http
 *   client at the same concurrency, with a new connection per request (as the
 *   delivery does: it pins the connection to the checked address) and with keep-alive.
 *
 * Environment: BENCH_WEBHOOKS_EVENTS [5000], BENCH_WEBHOOKS_CONCURRENCY [20],
 * BENCH_WEBHOOKS_LATENCY [300], BENCH_WEBHOOKS_GAP_MS [20], BENCH_DATABASE_URL.
 */

interface Receiver {
  url: string;
  /** first successful arrival per webhook-id, performance.now() */
  ok: Map<string, number>;
  failed: number;
  requests: number;
  close(): Promise<void>;
}

async function receiver(): Promise<Receiver> {
  const ok = new Map<string, number>();
  const r = { ok, failed: 0, requests: 0 } as Receiver;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const at = performance.now();
      r.requests++;
      // 1 % answered 500 (every hundredth request): the delivery retries them.
      if (r.requests % 100 === 0) {
        r.failed++;
        res.writeHead(500).end('no');
        return;
      }
      const id = String(req.headers['webhook-id'] ?? '');
      if (!ok.has(id)) ok.set(id, at);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  r.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return r;
}

/** Requests/s from a plain client at `concurrency`, `n` requests. */
async function rawRate(url: string, n: number, concurrency: number, keepAlive: boolean): Promise<number> {
  const body = JSON.stringify({ type: 'execution.completed', timestamp: new Date().toISOString(), data: { executionId: 'x' } });
  const { Agent } = await import('node:http');
  const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: concurrency }) : false;
  let next = 0;
  const one = () => new Promise<void>((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'webhook-id': `raw-${next}` } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      next++;
      await one();
    }
  }));
  if (agent) agent.destroy();
  return n / ((performance.now() - t0) / 1000);
}

const data = (i: number) => ({
  executionId: '0190f5a0-0000-7000-8000-000000000001', agentId: null, clientId: `bench-${i}`, status: 'completed', errorCode: null, completedAt: null,
});

export async function webhooksBench(): Promise<string> {
  const o = {
    events: Math.max(100, envNumber('BENCH_WEBHOOKS_EVENTS', 5000)),
    concurrency: Math.max(1, envNumber('BENCH_WEBHOOKS_CONCURRENCY', 20)),
    latency: Math.max(10, envNumber('BENCH_WEBHOOKS_LATENCY', 300)),
    gapMs: envNumber('BENCH_WEBHOOKS_GAP_MS', 20),
  };
  const log = (s: string) => process.stderr.write(`[webhooks] ${s}\n`);
  const b = await benchDatabase({ log });
  const recv = await receiver();
  const lines: string[] = [];
  try {
    const db = b.db;
    const orgId = (await db.admin.query<{ id: string }>(`INSERT INTO organizations (name, slug) VALUES ('Webhooks Bench', 'webhooks-bench') RETURNING id`)).rows[0]!.id;
    const deps = {
      db, keys: deriveKeys('bench-secret-bench-secret-bench-secret-0123'),
      config: { retryScheduleMs: [0, 100, 1000, 5000], timeoutMs: 15_000, allowPrivate: true },
    };
    // The endpoint, as the API creates it (sealed secret), through the service's own function.
    const { createWebhook } = await import('../src/platform/webhooks/webhooks-service.js');
    await createWebhook(deps, { orgId, actorType: 'system', userId: null }, { url: recv.url, events: ['execution.*'] });
    const handlers = webhookJobHandlers(deps);
    const server = (await db.admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;

    // Baseline first, on the idle receiver.
    const rawFresh = await rawRate(recv.url, o.events, o.concurrency, false);
    const rawKeep = await rawRate(recv.url, o.events, o.concurrency, true);
    recv.ok.clear();
    log(`raw: ${rawFresh.toFixed(0)} req/s (new connection each), ${rawKeep.toFixed(0)} req/s (keep-alive)`);

    // Throughput: a backlog of events, then the worker.
    const ids: string[] = [];
    for (let i = 0; i < o.events; i += 100) {
      const batch: EventInput[] = Array.from({ length: Math.min(100, o.events - i) }, (_, k) => ({ type: 'execution.completed', data: data(i + k) }));
      const out = await db.tenant(orgId, (sql) => emitEvents(sql, orgId, batch));
      ids.push(...out.map((e) => e.id));
    }
    await db.admin.query('ANALYZE');
    const failedBefore = recv.failed;
    const worker = new Worker({ db, handlers, concurrency: o.concurrency, pollIntervalMs: 50 });
    const t0 = performance.now();
    worker.start();
    while (ids.some((id) => !recv.ok.has(id))) await sleep(5);
    const seconds = (performance.now() - t0) / 1000;
    await worker.stop({ timeoutMs: 10_000 });
    const rate = o.events / seconds;
    log(`throughput: ${o.events} in ${seconds.toFixed(2)} s, ${recv.failed - failedBefore} answered 500 and retried`);

    // Latency: one event per transaction, the worker idle between them.
    const latency = async (pollMs: number): Promise<{ first: Stats; retried: number }> => {
      const w = new Worker({ db, handlers, concurrency: o.concurrency, pollIntervalMs: pollMs, prefetch: 0 });
      w.start();
      const committed = new Map<string, number>();
      for (let i = 0; i < o.latency; i++) {
        const e = await db.tenant(orgId, (sql) => emitEvent(sql, orgId, 'execution.completed', data(i)));
        committed.set(e!.id, performance.now());
        await sleep(o.gapMs);
      }
      while ([...committed.keys()].some((id) => !recv.ok.has(id))) await sleep(5);
      await w.stop({ timeoutMs: 10_000 });
      const all = [...committed].map(([id, at]) => recv.ok.get(id)! - at);
      // A delivery answered 500 arrives on its retry (≥ 100 ms later): apart, so p95 says what most see.
      const first = all.filter((ms) => ms < 100 + pollMs);
      return { first: stats(first), retried: all.length - first.length };
    };
    const slow = await latency(1000);
    const fast = await latency(50);

    const f = (ms: number) => `${ms.toFixed(1)} ms`;
    lines.push(
      `### Webhooks (${o.events} events, worker concurrency ${o.concurrency}, 1 % answered 500 and retried; PostgreSQL ${server})`,
      '',
      '| | rate | vs raw HTTP |',
      '| --- | ---: | ---: |',
      `| raw HTTP to the receiver, node:http, new connection per request (baseline) | ${rawFresh.toFixed(0)} req/s | 1.00 |`,
      `| raw HTTP to the receiver, node:http, keep-alive | ${rawKeep.toFixed(0)} req/s | ${(rawKeep / rawFresh).toFixed(2)} |`,
      `| webhook deliveries: outbox → job queue → signed POST → attempt recorded | ${rate.toFixed(0)} deliveries/s | ${(rate / rawFresh).toFixed(2)} |`,
      '',
      `Commit → delivery latency (${o.latency} events, one per transaction, ${o.gapMs} ms apart; first attempts; the retried ones arrive after the schedule's 100 ms):`,
      '',
      '| worker poll interval | p50 | p95 | p99 | retried |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| 1000 ms (the server's worker) | ${f(slow.first.p50)} | ${f(slow.first.p95)} | ${f(slow.first.p99)} | ${slow.retried} |`,
      `| 50 ms | ${f(fast.first.p50)} | ${f(fast.first.p95)} | ${f(fast.first.p99)} | ${fast.retried} |`,
    );
  } finally {
    await recv.close();
    await b.finish();
  }
  return lines.join('\n');
}
