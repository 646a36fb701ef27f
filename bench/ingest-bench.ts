import { cpus, loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { parseConfig } from '../src/config/index.js';
import { createLogger, createService } from '../src/server.js';
import { benchDatabase, envNumber, fmt, stats, type Stats } from './bench-db.js';
import { benchOrg } from './bench-org.js';
import { sendBatches } from './ingest-client.js';
import {
  batchBody, copyText, executionRow, EXECUTION_COLUMNS, generate, KEY_COLUMNS, keyRows, LEDGER_COLUMNS, ledgerRows,
  MODEL, SPAN_COLUMNS, spanRow, type GenExecution, type Price,
} from './ingest-data.js';
import { loadExisting } from './ingest-load.js';

/**
 * Ingestion on server PostgreSQL (issue 3), in one run on a fresh database:
 * spans per second through POST /v1/ingest/batch (real HTTP on loopback)
 * against a raw COPY of the same rows into spans and against one INSERT per
 * span; the same batch run again once BENCH_LOAD_SPANS rows exist; and the
 * latency of the span tree of an execution and of the cost queries, near
 * empty and at BENCH_LOAD_SPANS.
 *
 * Environment (defaults in brackets):
 *   BENCH_DATABASE_URL      server to create the throw-away database on [TEST_DATABASE_URL, then local postgres];
 *                           its role must be able to CREATE DATABASE and bypass row-level security (COPY and the load
 *                           write as the owner), e.g. a superuser
 *   BENCH_INGEST_SPANS      spans sent through the batch endpoint per run [100000]
 *   BENCH_INGEST_BATCH      spans per request (plus one execution per 10 spans) [1000]
 *   BENCH_INGEST_CONCURRENCY  concurrent HTTP connections of the batch client [4]
 *   BENCH_INGEST_WARMUP     requests sent before each timed batch run, not counted [5]
 *   BENCH_COPY_SPANS        spans per COPY run [BENCH_INGEST_SPANS]
 *   BENCH_ROW_SPANS         spans inserted one INSERT each [5000]
 *   BENCH_LOAD_SPANS        existing spans loaded before the second run [10000000]
 *   BENCH_LOAD_CHUNK        spans per load statement [250000]
 *   BENCH_LOAD_PARALLEL     load statements running at once [2]
 *   BENCH_LOAD_DAYS         the loaded rows are spread over this many days before now [30]
 *   BENCH_AGENTS            agents the executions are spread over [5]
 *   BENCH_READ_REQUESTS     requests per read measurement [200]
 *   BENCH_READ_SECONDS      time budget per read measurement; stops early past it (at least 20 requests) [60]
 *   BENCH_KEEP=1            keep the database (its URL is printed) instead of dropping it
 *   BENCH_LOG_LEVEL         the server's log level, to see why a request failed [silent]
 */

const SPANS_PER_EXECUTION = 10;

export async function ingestBench(): Promise<string> {
  const o = {
    spans: envNumber('BENCH_INGEST_SPANS', 100_000),
    batch: Math.max(SPANS_PER_EXECUTION, envNumber('BENCH_INGEST_BATCH', 1000)),
    concurrency: Math.max(1, envNumber('BENCH_INGEST_CONCURRENCY', 4)),
    warmup: envNumber('BENCH_INGEST_WARMUP', 5),
    copySpans: envNumber('BENCH_COPY_SPANS', envNumber('BENCH_INGEST_SPANS', 100_000)),
    rowSpans: Math.max(SPANS_PER_EXECUTION, envNumber('BENCH_ROW_SPANS', 5000)),
    loadSpans: envNumber('BENCH_LOAD_SPANS', 10_000_000),
    loadChunk: Math.max(SPANS_PER_EXECUTION, envNumber('BENCH_LOAD_CHUNK', 250_000)),
    loadParallel: Math.max(1, envNumber('BENCH_LOAD_PARALLEL', 2)),
    loadDays: Math.max(1, envNumber('BENCH_LOAD_DAYS', 30)),
    agents: Math.max(1, envNumber('BENCH_AGENTS', 5)),
    readRequests: Math.max(1, envNumber('BENCH_READ_REQUESTS', 200)),
    readSeconds: envNumber('BENCH_READ_SECONDS', 60),
    keep: process.env.BENCH_KEEP === '1',
  };
  const log = (s: string) => process.stderr.write(`[ingest] ${s}\n`);

  // Other work on the machine moves every figure here: the load average is printed with them.
  const loadBefore = loadavg()[0]!;
  const b = await benchDatabase({ log, dropOnSignal: !o.keep });
  let close = async () => {};
  try {
    const config = parseConfig({
      DATABASE_URL: b.url, AGENTBASE_SECRET: 'bench-secret-bench-secret-bench-secret-000', LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'silent',
    });
    const svc = await createService(config, b.db, config.logLevel === 'silent' ? false : createLogger(config));
    const app = svc.app;
    close = () => app.close();

    // Setup through the API: an organization, an API key (what an SDK sends with), agents.
    const { orgId, authorization, agentIds } = await benchOrg(app, b.db, { name: 'Ingest Bench', agents: o.agents });
    const pr = await b.db.admin.query<{ id: string; tier: string | null; input: string; output: string; cached: string | null; cache_write: string | null; reasoning: string | null }>(
      `SELECT id, tier, input_price::text AS input, output_price::text AS output, cached_input_price::text AS cached,
         cache_write_price::text AS cache_write, reasoning_price::text AS reasoning
       FROM model_prices WHERE org_id IS NULL AND $1 ~ model_pattern ORDER BY length(model_pattern) DESC LIMIT 1`,
      [MODEL],
    );
    const p0 = pr.rows[0];
    if (!p0) throw new Error(`no shipped price for ${MODEL}`);
    const price: Price = {
      id: p0.id, tier: p0.tier, input: Number(p0.input), output: Number(p0.output), cached: Number(p0.cached ?? p0.input),
      cacheWrite: Number(p0.cache_write ?? p0.input), reasoning: Number(p0.reasoning ?? p0.output),
    };
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const server = (await b.db.admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;

    let seq = 0;
    /** Executions for `spans` spans, timed from `from` on, 1 ms apart. */
    const executions = (spans: number, from: Date): GenExecution[] => {
      const count = Math.ceil(spans / SPANS_PER_EXECUTION);
      const out = generate({ count, spansPerExecution: SPANS_PER_EXECUTION, agentIds, from, stepMs: 1, seq });
      seq += count;
      return out;
    };
    const recent = () => new Date(Date.now() - 10 * 60_000);
    const spanCount = async () => Number((await b.db.admin.query<{ n: string }>(`SELECT count(*) AS n FROM spans`)).rows[0]!.n);

    const perRequest = o.batch / SPANS_PER_EXECUTION;
    const bodiesOf = (execs: GenExecution[]) => {
      const out: string[] = [];
      for (let i = 0; i < execs.length; i += perRequest) out.push(batchBody(execs.slice(i, i + perRequest)));
      return out;
    };
    const batchRun = async () => {
      if (o.warmup) await sendBatches(`${base}/v1/ingest/batch`, authorization, bodiesOf(executions(o.warmup * o.batch, recent())), o.concurrency);
      // Current statistics, as autovacuum keeps them on a live system: on a new database the planner
      // otherwise still believes the tables empty for up to a minute and picks plans for that.
      await b.db.admin.query('ANALYZE executions, spans, cost_ledger, ingest_keys');
      const execs = executions(o.spans, recent());
      const bodies = bodiesOf(execs);
      const items = execs.length * (1 + SPANS_PER_EXECUTION);
      const r = await sendBatches(`${base}/v1/ingest/batch`, authorization, bodies, o.concurrency);
      if (r.accepted !== items) throw new Error(`batch: ${r.accepted} of ${items} items accepted`);
      const spans = execs.length * SPANS_PER_EXECUTION;
      return { spans, seconds: r.seconds, rate: spans / r.seconds, latency: r.latency as Stats | undefined };
    };

    const copy = async (tables: { table: string; columns: readonly string[]; rows: unknown[][] }[]) => {
      const texts = tables.map((t) => ({ ...t, chunks: copyText(t.rows as (string | number | null)[][]) }));
      const c = new pg.Client({ connectionString: b.url });
      await c.connect();
      try {
        const t0 = performance.now();
        await c.query('BEGIN');
        for (const t of texts) {
          await pipeline(Readable.from(t.chunks), c.query(copyFrom(`COPY ${t.table} (${t.columns.join(', ')}) FROM STDIN`)));
        }
        await c.query('COMMIT');
        return (performance.now() - t0) / 1000;
      } finally {
        await c.end();
      }
    };
    const copySpans = async () => {
      const execs = executions(o.copySpans, recent());
      const spans = execs.length * SPANS_PER_EXECUTION;
      const seconds = await copy([{ table: 'spans', columns: SPAN_COLUMNS, rows: execs.flatMap((e) => e.spans.map((s) => spanRow(orgId, e, s, price))) }]);
      return { spans, seconds, rate: spans / seconds, latency: undefined };
    };
    /** Everything the batch endpoint writes for the same items (but the audit row), in one transaction. */
    const copyAll = async () => {
      const execs = executions(o.copySpans, recent());
      const spans = execs.length * SPANS_PER_EXECUTION;
      const seconds = await copy([
        { table: 'ingest_keys', columns: KEY_COLUMNS, rows: execs.flatMap((e) => keyRows(orgId, e)) },
        { table: 'executions', columns: EXECUTION_COLUMNS, rows: execs.map((e) => executionRow(orgId, e, price)) },
        { table: 'cost_ledger', columns: LEDGER_COLUMNS, rows: execs.flatMap((e) => ledgerRows(orgId, e, price)) },
        { table: 'spans', columns: SPAN_COLUMNS, rows: execs.flatMap((e) => e.spans.map((s) => spanRow(orgId, e, s, price))) },
      ]);
      return { spans, seconds, rate: spans / seconds, latency: undefined };
    };
    const rowByRow = async () => {
      const execs = executions(o.rowSpans, recent());
      const rows = execs.flatMap((e) => e.spans.map((s) => spanRow(orgId, e, s, price)));
      const text = `INSERT INTO spans (${SPAN_COLUMNS.join(', ')}) VALUES (${SPAN_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;
      const c = new pg.Client({ connectionString: b.url });
      await c.connect();
      try {
        const t0 = performance.now();
        for (const values of rows) await c.query({ name: 'bench_insert_span', text, values });
        const seconds = (performance.now() - t0) / 1000;
        return { spans: rows.length, seconds, rate: rows.length / seconds, latency: undefined };
      } finally {
        await c.end();
      }
    };

    /** Sequential GETs over HTTP; stops at readRequests or once past the time budget (after at least 20). */
    const reads = async (paths: () => string): Promise<Stats> => {
      const get = async () => {
        const url = `${base}${paths()}`;
        const res = await fetch(url, { headers: { authorization } });
        const body = await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${Buffer.from(body).toString().slice(0, 300)}`);
      };
      for (let i = 0; i < Math.min(10, o.readRequests); i++) await get();
      const out: number[] = [];
      const t0 = performance.now();
      while (out.length < o.readRequests && (out.length < 20 || performance.now() - t0 < o.readSeconds * 1000)) {
        const t = performance.now();
        await get();
        out.push(performance.now() - t);
      }
      return stats(out);
    };
    const readSet = async () => {
      const ids = (await b.db.admin.query<{ id: string }>(`SELECT id FROM executions ORDER BY random() LIMIT $1`, [o.readRequests])).rows.map((r) => r.id);
      let i = 0;
      return {
        spans: await spanCount(),
        tree: await reads(() => `/v1/executions/${ids[i++ % ids.length]}`),
        day: await reads(() => '/v1/costs?groupBy=day'),
        model: await reads(() => '/v1/costs?groupBy=model'),
        agent: await reads(() => '/v1/costs?groupBy=agent'),
      };
    };

    // Phase 1: (nearly) empty tables.
    log(`batch endpoint, empty: ${o.spans} spans`);
    const batchEmpty = await batchRun();
    log(`COPY into spans: ${o.copySpans} spans`);
    const copyEmpty = await copySpans();
    log('COPY of all the batch writes');
    const copyAllEmpty = await copyAll();
    log(`one INSERT per span: ${o.rowSpans} spans`);
    const rows = await rowByRow();
    log('reads, small tables');
    const readsSmall = await readSet();

    // Load the existing rows, spread over the last loadDays, ending before the timed runs' rows.
    const to = new Date(Date.now() - 60 * 60_000);
    const from = new Date(to.getTime() - o.loadDays * 86_400_000);
    const load = await loadExisting(b.db, {
      url: b.url, orgId, agentIds, price, spans: o.loadSpans, spansPerExecution: SPANS_PER_EXECUTION,
      chunkSpans: o.loadChunk, parallel: o.loadParallel, from, to,
    });
    const loaded = Math.ceil(o.loadSpans / SPANS_PER_EXECUTION) * SPANS_PER_EXECUTION;
    log(`loaded ${loaded} spans in ${load.loadSeconds.toFixed(0)} s, VACUUM ANALYZE ${load.vacuumSeconds.toFixed(0)} s`);

    // Phase 2: the same runs at the loaded size.
    const before = await spanCount();
    log(`batch endpoint at ${before} spans`);
    const batchFull = await batchRun();
    log('COPY into spans at size');
    const copyFull = await copySpans();
    log('reads at size');
    const readsFull = await readSet();
    const sizes = (await b.db.admin.query<{ t: string; size: string }>(
      // pg_partition_tree has no rows for a table that is not partitioned: then the table itself.
      `SELECT t, pg_size_pretty(sum(pg_total_relation_size(coalesce(p.relid, t::regclass)))) AS size
       FROM unnest(ARRAY['spans', 'executions', 'cost_ledger', 'ingest_keys']) AS t
       LEFT JOIN LATERAL pg_partition_tree(t::regclass) AS p ON true
       GROUP BY t ORDER BY sum(pg_total_relation_size(coalesce(p.relid, t::regclass))) DESC`,
    )).rows;

    const n = (x: number) => Math.round(x).toLocaleString('en');
    const ratio = (x: number) => `${x.toFixed(2)}×`;
    const goal = (name: string, value: number, target: number) =>
      `| ${name} | ${ratio(value)} | ≥ ${target}× | ${value >= target ? 'pass' : '**fail**'} |`;
    const runRow = (name: string, r: { spans: number; seconds: number; rate: number; latency: Stats | undefined }) =>
      `| ${name} | ${n(r.spans)} | ${r.seconds.toFixed(2)} s | ${n(r.rate)} | ${r.latency ? `${fmt(r.latency.p50)} / ${fmt(r.latency.p95)} / ${fmt(r.latency.p99)}` : ''} |`;
    const readRow = (name: string, small: Stats, full: Stats) =>
      `| ${name} | ${small.n} / ${full.n} | ${fmt(small.p95)} | ${fmt(full.p50)} | ${fmt(full.p95)} | ${fmt(full.p99)} | ${ratio(full.p95 / small.p95)} |`;

    return [
      `### Ingestion (PostgreSQL ${server}, ${cpus().length} cores shared by server, client and database)`,
      '',
      `1-minute load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
      '',
      `Batch endpoint: POST /v1/ingest/batch over HTTP on loopback, ${o.concurrency} connections, ${o.batch} spans + ${perRequest} executions per request`,
      `(half the spans llm_call, priced into the cost ledger), after ${o.warmup} warm-up requests. COPY and INSERT write as the database owner over one connection.`,
      '',
      '| run | spans | time | spans/s | request p50 / p95 / p99 |',
      '| --- | ---: | ---: | ---: | ---: |',
      runRow('batch endpoint, empty tables', batchEmpty),
      runRow('COPY of the same span rows into spans, empty tables', copyEmpty),
      runRow('COPY of all the batch writes (keys, executions, ledger, spans; one transaction)', copyAllEmpty),
      runRow('one INSERT per span (autocommit, prepared)', rows),
      runRow(`batch endpoint, ${n(before)} spans already stored`, batchFull),
      runRow(`COPY into spans, ${n(before + batchFull.spans)} spans already stored`, copyFull),
      '',
      '| goal (issue 3) | measured | target | result |',
      '| --- | ---: | ---: | --- |',
      goal('batch endpoint / COPY into spans', batchEmpty.rate / copyEmpty.rate, 0.5),
      goal('batch endpoint / one INSERT per span', batchEmpty.rate / rows.rate, 10),
      goal(`batch endpoint at ${n(before)} spans / empty`, batchFull.rate / batchEmpty.rate, 0.8),
      '',
      `For reference: batch endpoint / COPY of all it writes ${ratio(batchEmpty.rate / copyAllEmpty.rate)}; COPY into spans at size / empty ${ratio(copyFull.rate / copyEmpty.rate)}.`,
      '',
      `Loaded ${n(loaded)} spans (${n(loaded / SPANS_PER_EXECUTION)} executions, ${n(loaded / 2)} cost ledger rows, ${n(loaded * 1.1)} ingestion keys)`,
      `server-side in ${load.loadSeconds.toFixed(0)} s (${n(loaded / load.loadSeconds)} spans/s, ${o.loadParallel} statements at a time), VACUUM ANALYZE and CHECKPOINT ${load.vacuumSeconds.toFixed(0)} s.`,
      `Sizes with indexes: ${sizes.map((s) => `${s.t} ${s.size}`).join(', ')}.`,
      '',
      `### Reads over HTTP on loopback, sequential (${n(readsSmall.spans)} spans vs ${n(readsFull.spans)} spans; costs over the last 30 days)`,
      '',
      '| request | n (small / large) | p95 small | p50 large | p95 large | p99 large | p95 large / small |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      readRow('GET /v1/executions/:id (span tree, random executions)', readsSmall.tree, readsFull.tree),
      readRow('GET /v1/costs?groupBy=day', readsSmall.day, readsFull.day),
      readRow('GET /v1/costs?groupBy=model', readsSmall.model, readsFull.model),
      readRow('GET /v1/costs?groupBy=agent', readsSmall.agent, readsFull.agent),
    ].join('\n');
  } finally {
    await close().catch((err: unknown) => log(`closing the server: ${String(err)}`));
    await b.finish(o.keep);
  }
}
