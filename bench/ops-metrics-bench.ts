import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseConfig } from '../src/config/index.js';
import { benchDatabase, envNumber, stats, type Stats } from './bench-db.js';
import { checkBuilt, startService, type ServiceProcess } from './ops-metrics-server.js';
import { waitQuiet } from './startup-probe.js';

/**
 * What the service measuring itself (src/ops/metrics) costs a request: an
 * authenticated GET /v1/me over HTTP on loopback against five variants of the
 * service on the same throw-away database: the recorder off; on for requests
 * only (statements not measured); the defaults (requests sampled, statements
 * and query cache reads sampled, no request context); the defaults with
 * AGENTBASE_METRICS_QUERY_CONTEXT=true (each request made the current one
 * through AsyncLocalStorage so statement rows name it); and everything kept
 * (both rates 1, with the context).
 *
 * Each variant is its own process, the real built CLI (`node
 * dist/cli/main.js start`, so run `npm run build` first), configured by its
 * environment only. Not services in one process: the request context uses
 * AsyncLocalStorage, which on Node 20 turns async hooks on for the whole
 * process once used, and every promise of every other service in it would
 * pay that too, the baseline included. There is no flush between rounds: rows
 * are written by each recorder's own timer (AGENTBASE_METRICS_FLUSH_SECONDS=1)
 * and early batches, inside the measured windows, as in production. The idle
 * processes keep running while another is measured (their job worker polls,
 * their timers tick), on every variant alike.
 *
 * Rounds alternate the five (the order rotates each round) so background load
 * falls on all alike. The client runs in a worker thread (plain JavaScript
 * passed as source: worker threads do not inherit tsx's loader on Node 20),
 * `connections` keep-alive lanes each sending its next request when the
 * previous answer arrives. Its User-Agent names the variant (and the warm-up),
 * so the api_requests rows of each variant's measured requests are counted
 * from the database at the end, once every process has stopped and written
 * what it held; the other rows (performance_metrics by type, error_logs) are
 * totals of the whole run, warm-ups and background work included.
 *
 * Many short rounds rather than a few long ones: on a shared machine the load
 * changes within seconds, and short alternating rounds spread it evenly. Each
 * round's p50 is compared with the baseline's p50 of the same round, and the
 * median of those per-round ratios is the verdict (pooled percentiles are
 * shown too); the defaults are also compared with requests only, which is
 * what measuring statements adds.
 *
 * Knobs:
 *   BENCH_OPS_ROUNDS       rounds, each running every variant once [20]
 *   BENCH_OPS_REQUESTS     requests per variant per round [500]
 *   BENCH_OPS_CONNECTIONS  concurrent lanes [4]
 * Goal: with the defaults, the median per-round p50 ratio to the recorder off at most 1.03.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, authorization, userAgent, requests, connections } = workerData;
(async () => {
  let next = 0;
  const latencies = [];
  const headers = { authorization, 'user-agent': userAgent };
  const lane = async () => {
    while (next < requests) {
      next++;
      const t = performance.now();
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
      if (res.status !== 200) throw new Error('HTTP ' + res.status);
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  parentPort.postMessage({ latencies });
})().catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
`;

interface Variant {
  /** its client's User-Agent ends with this */
  key: string;
  title: string;
  env: Record<string, string>;
  proc?: ServiceProcess;
  samples: number[];
  /** p50 of each round */
  roundP50: number[];
}

const userAgent = (v: Variant, warmUp: boolean) => `agentbase-ops-metrics-bench/${v.key}${warmUp ? '/warm-up' : ''}`;

function load(v: Variant, authorization: string, requests: number, connections: number, warmUp = false): Promise<number[]> {
  const run = new Promise<number[]>((resolve, reject) => {
    const workerData = { url: `${v.proc!.url}/v1/me`, authorization, userAgent: userAgent(v, warmUp), requests, connections };
    const w = new Worker(WORKER, { eval: true, workerData });
    w.once('error', reject);
    w.once('message', (m: { error?: string; latencies: number[] }) => {
      void w.terminate();
      if (m.error) reject(new Error(`ops-metrics client: ${m.error}`));
      else resolve(m.latencies);
    });
  });
  return run.catch((err: unknown) => {
    // A client error because the process died says more with the process's last words.
    throw v.proc!.exited() ? new Error(`${v.title}: the service exited:\n${v.proc!.output()}`, { cause: err }) : err;
  });
}

const median = (xs: number[]) => stats(xs).p50;

export async function opsMetricsBench(): Promise<string> {
  const rounds = Math.max(1, envNumber('BENCH_OPS_ROUNDS', 20));
  const requests = Math.max(1, envNumber('BENCH_OPS_REQUESTS', 500));
  const connections = Math.max(1, envNumber('BENCH_OPS_CONNECTIONS', 4));
  const log = (s: string) => process.stderr.write(`[ops-metrics] ${s}\n`);
  checkBuilt(log);
  const loadBefore = loadavg()[0]!;
  const b = await benchDatabase();
  const base = {
    DATABASE_URL: b.url,
    AGENTBASE_SECRET: 'bench-secret-bench-secret-bench-secret-000',
    LOG_LEVEL: 'silent',
    AGENTBASE_MEMORY_EMBEDDER: 'none',
    AGENTBASE_METRICS_FLUSH_SECONDS: '1',
  };
  const defaults = parseConfig(base).opsMetrics;
  const variants: Variant[] = [
    { key: 'off', title: 'recorder off (baseline)', env: { AGENTBASE_METRICS_ENABLED: 'false' }, samples: [], roundP50: [] },
    {
      key: 'requests-only',
      title: `requests only (sample rate ${defaults.sampleRate}), statements not measured`,
      env: { AGENTBASE_METRICS_QUERY_SAMPLE_RATE: '0', AGENTBASE_METRICS_SLOW_QUERY_MS: '0' },
      samples: [],
      roundP50: [],
    },
    {
      key: 'defaults',
      title: `defaults: requests at ${defaults.sampleRate}, statements at ${defaults.querySampleRate} (and every one ≥ ${defaults.slowQueryMs} ms), no request context`,
      env: {},
      samples: [],
      roundP50: [],
    },
    {
      key: 'context',
      title: 'defaults + AGENTBASE_METRICS_QUERY_CONTEXT=true (statement rows linked to their request through AsyncLocalStorage)',
      env: { AGENTBASE_METRICS_QUERY_CONTEXT: 'true' },
      samples: [],
      roundP50: [],
    },
    {
      key: 'everything',
      title: 'everything kept: requests and statements at rate 1, with request context',
      env: { AGENTBASE_METRICS_SAMPLE_RATE: '1', AGENTBASE_METRICS_QUERY_SAMPLE_RATE: '1', AGENTBASE_METRICS_QUERY_CONTEXT: 'true' },
      samples: [],
      roundP50: [],
    },
  ];
  // An empty working directory: the CLI loads a .env from it, which must not add settings.
  const cwd = await mkdtemp(join(tmpdir(), 'agentbase-ops-metrics-bench-'));
  const stopAll = () => Promise.all(variants.map((v) => v.proc?.stop()));
  try {
    // One after the other: each start migrates (nothing to do) and runs maintenance first.
    for (const v of variants) {
      v.proc = await startService({ env: { ...base, ...v.env }, cwd, timeoutMs: 60_000 });
      log(`${v.title}: pid ${v.proc.pid}, ${v.proc.url}`);
    }
    const res = await fetch(`${variants[0]!.proc!.url}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ops-bench@example.com', password: 'bench-password-1', organizationName: 'Bench' }),
    });
    const signup = (await res.json()) as { tokens?: { accessToken?: string } };
    if (!res.ok || !signup.tokens?.accessToken) throw new Error(`signup: HTTP ${res.status}: ${JSON.stringify(signup)}`);
    const authorization = `Bearer ${signup.tokens.accessToken}`;
    await waitQuiet(variants.map((v) => v.proc!.pid));
    // Warm-up: every variant once, not measured.
    for (const v of variants) await load(v, authorization, Math.min(500, requests), connections, true);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < variants.length; i++) {
        const v = variants[(i + r) % variants.length]!;
        const got = await load(v, authorization, requests, connections);
        v.samples.push(...got);
        v.roundP50.push(stats(got).p50);
      }
      log(`round ${r + 1}/${rounds}: p50 ${variants.map((v) => v.roundP50[r]!.toFixed(3)).join(' / ')} ms`);
    }
    // Stopped, each process writes what it still holds; then the database has every row.
    await stopAll();
    const byAgent = await b.db.admin.query<{ ua: string | null; n: number }>('SELECT user_agent AS ua, count(*)::int AS n FROM api_requests GROUP BY 1');
    const byType = await b.db.admin.query<{ t: string; n: number }>('SELECT metric_type AS t, count(*)::int AS n FROM performance_metrics GROUP BY 1 ORDER BY 1');
    const errors = await b.db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM error_logs');
    const apiRows = (ua: string) => byAgent.rows.find((x) => x.ua === ua)?.n ?? 0;
    const apiTotal = byAgent.rows.reduce((a, x) => a + x.n, 0);

    const st = variants.map((v) => ({ v, s: stats(v.samples) }));
    const off = st[0]!.s;
    const ratio = (s: Stats, k: 'p50' | 'p95' | 'mean') => s[k] / off[k];
    const def = st[2]!.s;
    const perRound = (v: Variant, vs = variants[0]!) => median(v.roundP50.map((p, i) => p / vs.roundP50[i]!));
    const verdict = perRound(variants[2]!);
    const statements = perRound(variants[2]!, variants[1]!);
    const context = perRound(variants[3]!, variants[2]!);
    const pass = verdict <= 1.03;
    const pct = (x: number) => `${((x - 1) * 100).toFixed(1)} %`;
    const rows = st.map(({ v, s }) => {
      const kept = apiRows(userAgent(v, false));
      return `| ${v.title} | ${s.n} | ${s.p50.toFixed(3)} ms | ${s.p95.toFixed(3)} ms | ${s.mean.toFixed(3)} ms | ${perRound(v).toFixed(3)} | ` +
        `${ratio(s, 'p50').toFixed(3)} | ${ratio(s, 'p95').toFixed(3)} | ${kept} (${((kept / s.n) * 100).toFixed(1)} %) |`;
    });
    return [
      `### The service measuring itself: request latency with the recorder off and on (authenticated GET /v1/me over loopback, one process per variant, ${connections} connections, ${rounds} alternating rounds of ${requests} requests per variant)`,
      '',
      '| variant | requests | p50 | p95 | mean | median of per-round p50 / off | pooled p50 / off | pooled p95 / off | api_requests rows (share of its requests) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `Goal: with the defaults, p50 at most 3 % above the recorder off (median of the per-round ratios): ${pass ? 'PASS' : 'FAIL'} ` +
        `(${pct(verdict)}; pooled p50 ${pct(ratio(def, 'p50'))}, pooled p95 ${pct(ratio(def, 'p95'))}). ` +
        `Measuring statements (the defaults vs requests only, median of the per-round p50 ratios): ${statements.toFixed(3)} (${pct(statements)}); ` +
          `linking them to their request (AsyncLocalStorage, vs the defaults): ${context.toFixed(3)} (${pct(context)}).`,
      '',
      `Rows in the database at the end (every process stopped; warm-ups and background work included): ${apiTotal} api_requests; ` +
        `performance_metrics ${byType.rows.length ? byType.rows.map((x) => `${x.t} ${x.n}`).join(', ') : 'none'}; ${errors.rows[0]!.n} error_logs. ` +
        `${cpus().length} cores, 1-minute load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
    ].join('\n');
  } finally {
    await stopAll();
    await rm(cwd, { recursive: true, force: true });
    await b.finish();
  }
}
