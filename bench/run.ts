import { identityBench } from './identity-bench.js';
import { ingestBench } from './ingest-bench.js';
import { ingestRefsBench } from './ingest-refs-bench.js';
import { ingestPlansBench } from './ingest-plans-bench.js';
import { ingestWebhooksBench } from './ingest-webhooks-bench.js';
import { ingestSessionsBench } from './ingest-sessions-bench.js';
import { jobsBench } from './jobs-bench.js';
import { memoryBench } from './memory-bench.js';
import { memoryQualityBench } from './memory-quality.js';
import { opsMetricsBench } from './ops-metrics-bench.js';
import { opsCacheBench } from './ops-cache-bench.js';
import { plansBench } from './plans-bench.js';
import { tasksBench } from './tasks-bench.js';
import { startupBench } from './startup-bench.js';
import { webhooksBench } from './webhooks-bench.js';

/**
 * `npm run bench`: every benchmark, printed as Markdown for the README. Needs a PostgreSQL server (BENCH_DATABASE_URL).
 * Run some only with `npm run bench -- ingest` or BENCH_ONLY=identity,ingest.
 */
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);

const benches: Record<string, () => Promise<string>> = {
  identity: () => identityBench({ seconds, connections }),
  ingest: () => ingestBench(),
  'ingest-refs': () => ingestRefsBench(),
  'ingest-sessions': () => ingestSessionsBench(),
  'ingest-plans': () => ingestPlansBench(),
  'ingest-webhooks': () => ingestWebhooksBench(),
  jobs: () => jobsBench(),
  memory: () => memoryBench(),
  'memory-quality': () => memoryQualityBench(),
  // what recording api requests into the operational tables costs a request (issue 15)
  'ops-metrics': () => opsMetricsBench(),
  // the query cache: cost reports cached vs uncached over HTTP, and what invalidation costs ingestion
  'ops-cache': () => opsCacheBench(),
  // issue 15's two figures: self-measurement's cost on request latency, then the cache's speed-up
  ops: async () => `${await opsMetricsBench()}\n\n${await opsCacheBench()}`,
  // plans: plan reads, diffs and share opens, then task search at scale (seed 004)
  plans: async () => `${await plansBench()}\n\n${await tasksBench()}`,
  tasks: () => tasksBench(),
  startup: () => startupBench(),
  webhooks: () => webhooksBench(),
};
const only = (process.argv.slice(2).join(',') || process.env.BENCH_ONLY || Object.keys(benches).join(','))
  .split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only.filter((name) => !benches[name]);
if (unknown.length) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(benches).join(', ')}\n`);
  process.exit(2);
}

const started = new Date();
const out = [
  `## Benchmarks (${started.toISOString().slice(0, 10)}, node ${process.version}, ${process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'local PostgreSQL'})`,
];
for (const name of only) out.push('', await benches[name]!());
process.stdout.write(`${out.join('\n')}\n`);
