import type { FastifyInstance } from 'fastify';
import { cpus, loadavg } from 'node:os';
import { parseConfig } from '../src/config/index.js';
import { createService } from '../src/server.js';
import { benchDatabase, envNumber, fmt, type Stats } from './bench-db.js';
import { benchOrg, type BenchOrg } from './bench-org.js';
import { sendBatches } from './ingest-client.js';
import { batchBody, generate, type GenExecution } from './ingest-data.js';

/**
 * What a feature costs ingestion: the batch endpoint with the feature's
 * fields on every execution (the variant) against the same endpoint without
 * them (the baseline). Both in one run on one database, in alternating rounds
 * (which goes first alternates too), so the machine's drift falls on both;
 * the figure is the ratio of the medians.
 *
 * Environment (defaults in brackets):
 *   BENCH_DATABASE_URL        server for the throw-away database [TEST_DATABASE_URL, then local postgres]
 *   BENCH_AB_SPANS            spans per timed run [50000]
 *   BENCH_AB_ROUNDS           rounds of (baseline, variant) [5]
 *   BENCH_INGEST_BATCH        spans per request (plus one execution per 10 spans) [1000]
 *   BENCH_INGEST_CONCURRENCY  concurrent HTTP connections [4]
 *   BENCH_AGENTS              agents (each with a published version) [5]
 *   BENCH_KEEP=1              keep the database
 */

const SPANS_PER_EXECUTION = 10;

export interface AbContext extends BenchOrg {
  /** executions ingested before the timed runs (parents to name) */
  earlier: string[];
}

export interface AbSpec {
  /** log prefix */
  name: string;
  title: string;
  baseline: string;
  variant: string;
  /** the issue the goal comes from, for the table */
  goalOf: string;
  /** variant / baseline at least this */
  goal: number;
  /** run once before the timed runs (what the variant's fields name, made through the API) */
  setup?(app: FastifyInstance, ctx: AbContext): Promise<void>;
  /** before each timed run: switch what only the variant has on or off (an endpoint that subscribes …) */
  beforeRun?(app: FastifyInstance, ctx: AbContext, variant: boolean): Promise<void>;
  /** fields every execution of a run carries, baseline and variant; `round` numbers the run */
  fields(e: GenExecution, i: number, ctx: AbContext, variant: boolean, round: number): Record<string, unknown>;
}

export async function ingestAb(spec: AbSpec): Promise<string> {
  const o = {
    spans: envNumber('BENCH_AB_SPANS', 50_000),
    rounds: Math.max(1, envNumber('BENCH_AB_ROUNDS', 5)),
    batch: Math.max(SPANS_PER_EXECUTION, envNumber('BENCH_INGEST_BATCH', 1000)),
    concurrency: Math.max(1, envNumber('BENCH_INGEST_CONCURRENCY', 4)),
    agents: Math.max(1, envNumber('BENCH_AGENTS', 5)),
    keep: process.env.BENCH_KEEP === '1',
  };
  const log = (s: string) => process.stderr.write(`[${spec.name}] ${s}\n`);
  const loadBefore = loadavg()[0]!;
  const b = await benchDatabase({ log, dropOnSignal: !o.keep });
  let close = async () => {};
  try {
    const config = parseConfig({ DATABASE_URL: b.url, AGENTBASE_SECRET: 'bench-secret-bench-secret-bench-secret-000', LOG_LEVEL: 'silent' });
    const svc = await createService(config, b.db, false);
    const app = svc.app;
    close = () => app.close();

    const org = await benchOrg(app, b.db, { name: `${spec.title} Bench`, agents: o.agents, versions: true });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `${base}/v1/ingest/batch`;

    let seq = 0;
    const executions = (spans: number): GenExecution[] => {
      const count = Math.ceil(spans / SPANS_PER_EXECUTION);
      const out = generate({ count, spansPerExecution: SPANS_PER_EXECUTION, agentIds: org.agentIds, from: new Date(Date.now() - 10 * 60_000), stepMs: 1, seq });
      seq += count;
      return out;
    };
    const perRequest = o.batch / SPANS_PER_EXECUTION;
    const bodiesOf = (execs: GenExecution[]) => {
      const out: string[] = [];
      for (let i = 0; i < execs.length; i += perRequest) out.push(batchBody(execs.slice(i, i + perRequest)));
      return out;
    };

    const warm = executions(5 * o.batch);
    const warmRun = await sendBatches(url, org.authorization, bodiesOf(warm), o.concurrency);
    if (warmRun.accepted !== warm.length * (1 + SPANS_PER_EXECUTION)) throw new Error(`warm-up: ${warmRun.accepted} accepted`);
    const earlier = (await b.db.admin.query<{ id: string }>(`SELECT id FROM executions WHERE org_id = $1`, [org.orgId])).rows.map((r) => r.id);
    await b.db.admin.query('ANALYZE');
    const ctx: AbContext = { ...org, earlier };
    await spec.setup?.(app, ctx);

    let round = 0;
    const run = async (variant: boolean) => {
      const execs = executions(o.spans);
      round += 1;
      execs.forEach((e, i) => { e.extra = spec.fields(e, i, ctx, variant, round); });
      await spec.beforeRun?.(app, ctx, variant);
      const r = await sendBatches(url, org.authorization, bodiesOf(execs), o.concurrency);
      const items = execs.length * (1 + SPANS_PER_EXECUTION);
      if (r.accepted !== items) throw new Error(`${variant ? spec.variant : spec.baseline}: ${r.accepted} of ${items} accepted`);
      return { rate: (execs.length * SPANS_PER_EXECUTION) / r.seconds, latency: r.latency };
    };

    const baseline: { rate: number; latency: Stats }[] = [];
    const variant: { rate: number; latency: Stats }[] = [];
    for (let i = 0; i < o.rounds; i++) {
      for (const v of i % 2 === 0 ? [false, true] : [true, false]) {
        const r = await run(v);
        (v ? variant : baseline).push(r);
        log(`round ${i + 1}: ${v ? spec.variant : spec.baseline} ${Math.round(r.rate)} spans/s`);
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const p = median(baseline.map((x) => x.rate));
    const r = median(variant.map((x) => x.rate));
    const n = (x: number) => Math.round(x).toLocaleString('en');
    const row = (name: string, rs: { rate: number; latency: Stats }[]) => {
      const rates = rs.map((x) => x.rate);
      return `| ${name} | ${n(median(rates))} (${n(Math.min(...rates))}–${n(Math.max(...rates))}) | ${fmt(median(rs.map((x) => x.latency.p50)))} |`;
    };
    const server = (await b.db.admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
    return [
      `### ${spec.title} (PostgreSQL ${server}, ${cpus().length} cores shared by server, client and database)`,
      '',
      `1-minute load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
      `POST /v1/ingest/batch over HTTP on loopback, ${o.concurrency} connections, ${o.batch} spans + ${perRequest} executions per request,`,
      `${n(o.spans)} spans per run, ${o.rounds} rounds alternating which goes first; medians, with the slowest and fastest run.`,
      '',
      '| executions carry | spans/s | request p50 |',
      '| --- | ---: | ---: |',
      row(`${spec.baseline} (baseline)`, baseline),
      row(spec.variant, variant),
      '',
      `| goal (${spec.goalOf}) | measured | target | result |`,
      '| --- | ---: | ---: | --- |',
      `| ${spec.variant} / ${spec.baseline} | ${(r / p).toFixed(3)}× | ≥ ${spec.goal}× | ${r / p >= spec.goal ? 'pass' : '**fail**'} |`,
    ].join('\n');
  } finally {
    await close().catch((err: unknown) => log(`closing the server: ${String(err)}`));
    await b.finish(o.keep);
  }
}
