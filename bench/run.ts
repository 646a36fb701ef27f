import { identityBench } from './identity-bench.js';

/** `npm run bench`: every benchmark, printed as Markdown for the README. Needs a PostgreSQL server (BENCH_DATABASE_URL). */
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);

const started = new Date();
const out = [
  `## Benchmarks (${started.toISOString().slice(0, 10)}, node ${process.version}, ${process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'local PostgreSQL'})`,
  '',
  await identityBench({ seconds, connections }),
];
process.stdout.write(`${out.join('\n')}\n`);
