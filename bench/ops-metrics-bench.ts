import { Worker } from 'node:worker_threads';
import { parseConfig } from '../src/config/index.js';
import { createService, type Service } from '../src/server.js';
import { benchDatabase, envNumber, stats, type Stats } from './bench-db.js';

/**
 * What the service measuring itself (src/ops/metrics) costs a request: an
 * authenticated GET /v1/me over HTTP on loopback against three services on
 * the same throw-away database, in the same process: the recorder off, on at
 * the default sample rate, and on at rate 1 (every request kept). Rounds
 * alternate the three (the order rotates each round) so background load falls
 * on all alike; after each round the buffered rows are written outside the
 * measured window, while the writes the recorder starts by itself (a full
 * batch, its timer) fall inside it. The client runs in a worker thread
 * (plain JavaScript passed as source: worker threads do not inherit tsx's
 * loader on Node 20), `connections` keep-alive lanes each sending its next
 * request when the previous answer arrives.
 *
 * Many short rounds rather than a few long ones: on a shared machine the load
 * changes within seconds, and short alternating rounds spread it evenly. Each
 * round's p50 is compared with the baseline's p50 of the same round, and the
 * median of those per-round ratios is the verdict (pooled percentiles are
 * shown too).
 *
 * Knobs:
 *   BENCH_OPS_ROUNDS       rounds, each running every variant once [20]
 *   BENCH_OPS_REQUESTS     requests per variant per round [500]
 *   BENCH_OPS_CONNECTIONS  concurrent lanes [4]
 * Goal: at the default rate, the median per-round p50 ratio at most 1.03.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, authorization, requests, connections } = workerData;
(async () => {
  let next = 0;
  const latencies = [];
  const lane = async () => {
    while (next < requests) {
      next++;
      const t = performance.now();
      const res = await fetch(url, { headers: { authorization } });
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
      if (res.status !== 200) throw new Error('HTTP ' + res.status);
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  parentPort.postMessage({ latencies });
})().catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
`;

function load(url: string, authorization: string, requests: number, connections: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { url, authorization, requests, connections } });
    w.once('error', reject);
    w.once('message', (m: { error?: string; latencies: number[] }) => {
      void w.terminate();
      if (m.error) reject(new Error(`ops-metrics client: ${m.error}`));
      else resolve(m.latencies);
    });
  });
}

interface Variant {
  title: string;
  env: Record<string, string>;
  svc?: Service;
  url?: string;
  samples: number[];
  /** p50 of each round */
  roundP50: number[];
}

const median = (xs: number[]) => stats(xs).p50;

export async function opsMetricsBench(): Promise<string> {
  const rounds = Math.max(1, envNumber('BENCH_OPS_ROUNDS', 20));
  const requests = Math.max(1, envNumber('BENCH_OPS_REQUESTS', 500));
  const connections = Math.max(1, envNumber('BENCH_OPS_CONNECTIONS', 4));
  const b = await benchDatabase();
  const base = { DATABASE_URL: b.url, AGENTBASE_SECRET: 'bench-secret-bench-secret-bench-secret-000', LOG_LEVEL: 'silent', AGENTBASE_MEMORY_EMBEDDER: 'none' };
  const defaultRate = parseConfig(base).opsMetrics.sampleRate;
  const variants: Variant[] = [
    { title: 'recorder off (baseline)', env: { AGENTBASE_METRICS_ENABLED: 'false' }, samples: [], roundP50: [] },
    { title: `recorder on, default sample rate ${defaultRate}`, env: {}, samples: [], roundP50: [] },
    { title: 'recorder on, sample rate 1 (every request)', env: { AGENTBASE_METRICS_SAMPLE_RATE: '1' }, samples: [], roundP50: [] },
  ];
  try {
    for (const v of variants) {
      v.svc = await createService(parseConfig({ ...base, ...v.env }), b.db, false);
      v.url = `${await v.svc.app.listen({ host: '127.0.0.1', port: 0 })}/v1/me`;
    }
    const signup = await variants[0]!.svc!.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: 'ops-bench@example.com', password: 'bench-password-1', organizationName: 'Bench' },
    });
    const authorization = `Bearer ${signup.json().tokens.accessToken as string}`;
    // Warm-up: every variant once, not measured.
    for (const v of variants) await load(v.url!, authorization, Math.min(500, requests), connections);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < variants.length; i++) {
        const v = variants[(i + r) % variants.length]!;
        const got = await load(v.url!, authorization, requests, connections);
        v.samples.push(...got);
        v.roundP50.push(stats(got).p50);
        await v.svc!.opsMetrics.flush();
      }
    }
    const written = await b.db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM api_requests');
    const st = variants.map((v) => ({ v, s: stats(v.samples), rec: v.svc!.opsMetrics.stats() }));
    const off = st[0]!.s;
    const ratio = (s: Stats, k: 'p50' | 'p95' | 'mean') => s[k] / off[k];
    const def = st[1]!.s;
    const perRound = (v: Variant) => median(v.roundP50.map((p, i) => p / variants[0]!.roundP50[i]!));
    const verdict = perRound(variants[1]!);
    const pass = verdict <= 1.03;
    const rows = st.map(({ v, s, rec }) =>
      `| ${v.title} | ${s.n} | ${s.p50.toFixed(3)} ms | ${s.p95.toFixed(3)} ms | ${s.mean.toFixed(3)} ms | ${perRound(v).toFixed(3)} | ${ratio(s, 'p50').toFixed(3)} | ${ratio(s, 'p95').toFixed(3)} | ${rec.written} | ${rec.dropped + rec.failed} |`);
    return [
      `### The service measuring itself: request latency with the recorder off and on (authenticated GET /v1/me over loopback, ${connections} connections, ${rounds} alternating rounds of ${requests} requests per variant)`,
      '',
      '| variant | requests | p50 | p95 | mean | median of per-round p50 / off | pooled p50 / off | pooled p95 / off | rows written | rows lost |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `Goal: at the default sample rate, p50 at most 3 % above the recorder off (median of the per-round ratios): ${pass ? 'PASS' : 'FAIL'} ` +
        `(${((verdict - 1) * 100).toFixed(1)} %; pooled p50 ${((ratio(def, 'p50') - 1) * 100).toFixed(1)} %, pooled p95 ${((ratio(def, 'p95') - 1) * 100).toFixed(1)} %). ` +
        `${written.rows[0]!.n} api_requests rows in the database (rows written counts api_requests and performance_metrics rows, plus the samplers').`,
    ].join('\n');
  } finally {
    for (const v of variants) await v.svc?.close().catch(() => {});
    await b.finish();
  }
}
