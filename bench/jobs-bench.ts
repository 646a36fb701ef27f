import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchDatabase, envNumber, fmt, stats, type Stats } from './bench-db.js';
import { graphileQueue, ourQueue, pgBossQueue, type QueueUnderTest } from './jobs-queues.js';

/**
 * The job queue on server PostgreSQL (issue 4), side by side in one run on one
 * throw-away database: ours (background_jobs + Worker) against graphile-worker
 * 0.17 in batched mode and pg-boss 10, which install their own schemas
 * (graphile_worker, pgboss) in the same database. Every queue gets the same
 * concurrency and as many pool connections, and no-op handlers.
 *
 * Throughput: BENCH_JOBS jobs are enqueued in bulk, the way each library offers
 * (timed: enqueue/s), the database is ANALYZEd (untimed), then the workers start
 * and the clock runs until the database records every job completed
 * (complete/s); end-to-end is both. A run takes a second or two, so background
 * load on a small machine moves it a lot: BENCH_JOBS_RUNS rounds run every queue
 * once each, interleaved (a fresh queue and pool each time), and the median of
 * each rate is reported.
 * Pickup latency: with the workers idle, BENCH_JOBS_PICKUP jobs are enqueued one
 * at a time, BENCH_JOBS_PICKUP_GAP_MS apart; latency is from the enqueue call
 * returning (its commit acknowledged) to the handler starting. A handler that
 * starts before the acknowledgement arrives (a NOTIFY can beat it) counts 0.
 *
 * Environment (defaults in brackets):
 *   BENCH_DATABASE_URL        server to create the throw-away database on [TEST_DATABASE_URL, then local postgres];
 *                             its role must be able to CREATE DATABASE and bypass row-level security (a superuser)
 *   BENCH_JOBS                jobs per throughput run [20000]
 *   BENCH_JOBS_RUNS           throughput runs per queue, interleaved; medians are reported [3]
 *   BENCH_JOBS_BATCH          jobs per enqueue batch (statement or transaction) [1000]
 *   BENCH_JOBS_CONCURRENCY    jobs run at once, and pool connections, per queue [10]
 *   BENCH_JOBS_POLL_MS        our Worker's pollIntervalMs [50]; the pickup run is repeated at the default 1000
 *   BENCH_JOBS_PREFETCH       our Worker's prefetch [its default, 100]
 *   BENCH_JOBS_PREFETCH_ALT   a second throughput row for ours with this prefetch, 0 for none [300]
 *   BENCH_JOBS_OUTCOME_DELAY  our Worker's outcomeDelayMs [its default, 2]
 *   BENCH_JOBS_LOCAL_QUEUE    graphile-worker localQueue.size [100]
 *   BENCH_JOBS_COMPLETE_DELAY graphile-worker completeJobBatchDelay and failJobBatchDelay, ms [0]
 *   BENCH_JOBS_PGBOSS_BATCH   pg-boss work() batchSize [100]
 *   BENCH_JOBS_PICKUP         jobs per pickup-latency run [200]
 *   BENCH_JOBS_PICKUP_GAP_MS  pause between them [25]
 *   BENCH_JOBS_TIMEOUT_S      a throughput run still unfinished after this fails the bench [300]
 *   BENCH_JOBS_ONLY           comma list of ours,graphile,pgboss to run a subset [all]
 *   BENCH_KEEP=1              keep the database (its URL is printed) instead of dropping it
 */

interface Result {
  name: string;
  settings: string;
  /** medians over the runs; completeRange is the lowest and highest complete/s of a run */
  throughput?: { jobs: number; enqueueS: number; completeS: number; completeRange: [number, number] };
  pickup?: Stats;
}

export async function jobsBench(): Promise<string> {
  const o = {
    jobs: Math.max(1, envNumber('BENCH_JOBS', 20_000)),
    runs: Math.max(1, envNumber('BENCH_JOBS_RUNS', 3)),
    batch: Math.max(1, envNumber('BENCH_JOBS_BATCH', 1000)),
    concurrency: Math.max(1, envNumber('BENCH_JOBS_CONCURRENCY', 10)),
    pollMs: Math.max(1, envNumber('BENCH_JOBS_POLL_MS', 50)),
    prefetch: process.env.BENCH_JOBS_PREFETCH ? Math.max(0, envNumber('BENCH_JOBS_PREFETCH', 100)) : undefined,
    prefetchAlt: Math.max(0, envNumber('BENCH_JOBS_PREFETCH_ALT', 300)),
    outcomeDelayMs: process.env.BENCH_JOBS_OUTCOME_DELAY ? Math.max(0, envNumber('BENCH_JOBS_OUTCOME_DELAY', 2)) : undefined,
    localQueue: Math.max(2, envNumber('BENCH_JOBS_LOCAL_QUEUE', 100)),
    completeDelay: envNumber('BENCH_JOBS_COMPLETE_DELAY', 0),
    bossBatch: Math.max(1, envNumber('BENCH_JOBS_PGBOSS_BATCH', 100)),
    pickup: Math.max(1, envNumber('BENCH_JOBS_PICKUP', 200)),
    gapMs: envNumber('BENCH_JOBS_PICKUP_GAP_MS', 25),
    timeoutS: Math.max(1, envNumber('BENCH_JOBS_TIMEOUT_S', 300)),
    only: (process.env.BENCH_JOBS_ONLY || 'ours,graphile,pgboss').split(',').map((s) => s.trim()),
    keep: process.env.BENCH_KEEP === '1',
  };
  const log = (s: string) => process.stderr.write(`[jobs] ${s}\n`);

  const loadBefore = loadavg()[0]!;
  const b = await benchDatabase({ log, dropOnSignal: !o.keep });
  const results: Result[] = [];
  let current: QueueUnderTest | null = null;
  try {
    const orgId = (await b.db.admin.query<{ id: string }>(
      `INSERT INTO organizations (name, slug) VALUES ('Jobs Bench', 'jobs-bench') RETURNING id`,
    )).rows[0]!.id;
    const server = (await b.db.admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
    const base = { url: b.url, concurrency: o.concurrency };
    const ours = {
      ...base, admin: b.db, orgId,
      ...(o.prefetch === undefined ? {} : { prefetch: o.prefetch }),
      ...(o.outcomeDelayMs === undefined ? {} : { outcomeDelayMs: o.outcomeDelayMs }),
    };

    /** Enqueue all, start the workers, and wait until the database records every job completed. */
    const throughput = async (q: QueueUnderTest, on: { job: (i: number) => void }, first: number) => {
      let seen = 0;
      on.job = (i) => {
        if (i >= first && i < first + o.jobs) seen++;
      };
      const t0 = performance.now();
      await q.enqueueBulk(first, o.jobs, o.batch);
      const enqueueS = (performance.now() - t0) / 1000;
      log(`${q.name}: ${o.jobs} enqueued in ${enqueueS.toFixed(2)} s`);
      // Current statistics, as autovacuum keeps them on a live system (untimed, every queue's tables): on a new
      // table the planner believes it empty, and our claim then sorts the whole backlog on every call (~5 ms at 20,000).
      await b.db.admin.query('ANALYZE');
      const t1 = performance.now();
      await q.start((i) => on.job(i));
      const deadline = t1 + o.timeoutS * 1000;
      // The database is asked only once every handler has run, so watching adds no load meanwhile.
      while (seen < o.jobs && performance.now() < deadline) await sleep(5);
      while (performance.now() < deadline && (await q.pending()) > 0) await sleep(10);
      const completeS = (performance.now() - t1) / 1000;
      if (performance.now() >= deadline) throw new Error(`${q.name}: not done after ${o.timeoutS} s (${seen} handlers ran)`);
      log(`${q.name}: completed in ${completeS.toFixed(2)} s`);
      return { jobs: o.jobs, enqueueS, completeS };
    };

    /** With the workers idle, one job at a time; enqueue acknowledged → handler start. */
    const pickup = async (q: QueueUnderTest, on: { job: (i: number) => void }, first: number) => {
      const started = new Map<number, number>();
      on.job = (i) => {
        if (!started.has(i)) started.set(i, performance.now());
      };
      await sleep(1500); // idle: past any batch, refetch delay or poll back-off left from before
      const committed = new Map<number, number>();
      for (let k = 0; k < o.pickup; k++) {
        await q.enqueueOne(first + k);
        committed.set(first + k, performance.now());
        await sleep(o.gapMs);
      }
      const deadline = performance.now() + 30_000;
      while (started.size < o.pickup && performance.now() < deadline) await sleep(10);
      if (started.size < o.pickup) throw new Error(`${q.name}: only ${started.size} of ${o.pickup} pickup jobs started within 30 s`);
      return stats([...committed].map(([i, t]) => Math.max(0, started.get(i)! - t)));
    };

    interface Spec { make: () => QueueUnderTest; throughput: boolean; pickup: boolean }
    const specs: Record<string, Spec[]> = {
      ours: [
        { make: () => ourQueue({ ...ours, pollIntervalMs: o.pollMs }), throughput: true, pickup: true },
        ...(o.prefetchAlt > 0 && o.prefetchAlt !== o.prefetch
          ? [{
            make: () => ourQueue({ ...ours, prefetch: o.prefetchAlt, pollIntervalMs: o.pollMs, label: `agentbase (ours), prefetch ${o.prefetchAlt}` }),
            throughput: true, pickup: false,
          }]
          : []),
        ...(o.pollMs !== 1000
          ? [{ make: () => ourQueue({ ...ours, pollIntervalMs: 1000, label: 'agentbase (ours), default poll' }), throughput: false, pickup: true }]
          : []),
      ],
      graphile: [{
        make: () => graphileQueue({ ...base, localQueueSize: o.localQueue, completeBatchDelayMs: o.completeDelay }), throughput: true, pickup: true,
      }],
      pgboss: [{ make: () => pgBossQueue({ ...base, batchSize: o.bossBatch, pollingIntervalSeconds: 0.5 }), throughput: true, pickup: true }],
    };
    const unknown = o.only.filter((k) => !specs[k]);
    if (unknown.length) throw new Error(`BENCH_JOBS_ONLY: unknown ${unknown.join(', ')}; choose from ${Object.keys(specs).join(', ')}`);
    const chosen = o.only.flatMap((k) => specs[k]!);
    let offset = 0;
    // Job numbers never repeat across runs, so a late handler of one run cannot count in another.
    const nextFirst = () => ++offset * 100_000_000;

    // Throughput: round after round, each queue once per round, so background load falls on all alike.
    const runs = new Map<Spec, { name: string; settings: string; samples: { enqueueS: number; completeS: number }[] }>();
    for (let round = 1; round <= o.runs; round++) {
      for (const spec of chosen.filter((x) => x.throughput)) {
        const q = spec.make();
        current = q;
        log(`${q.name}: throughput run ${round} of ${o.runs}`);
        const t = await throughput(q, { job: () => {} }, nextFirst());
        await q.stop();
        current = null;
        const r = runs.get(spec) ?? { name: q.name, settings: q.settings, samples: [] };
        r.samples.push(t);
        runs.set(spec, r);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

    // Pickup latency: a fresh, idle queue each.
    for (const spec of chosen) {
      const r = runs.get(spec);
      const throughputOf = r && {
        jobs: o.jobs, enqueueS: median(r.samples.map((x) => x.enqueueS)), completeS: median(r.samples.map((x) => x.completeS)),
        completeRange: [Math.min(...r.samples.map((x) => o.jobs / x.completeS)), Math.max(...r.samples.map((x) => o.jobs / x.completeS))] as [number, number],
      };
      if (!spec.pickup) {
        results.push({ name: r!.name, settings: r!.settings, throughput: throughputOf! });
        continue;
      }
      const q = spec.make();
      current = q;
      const on = { job: (_i: number) => {} };
      await q.start((i) => on.job(i));
      log(`${q.name}: pickup latency, ${o.pickup} jobs ${o.gapMs} ms apart`);
      const pickupStats = await pickup(q, on, nextFirst());
      log(`${q.name}: pickup p50 ${fmt(pickupStats.p50)}, p99 ${fmt(pickupStats.p99)}`);
      await q.stop();
      current = null;
      results.push({ name: q.name, settings: q.settings, pickup: pickupStats, ...(throughputOf ? { throughput: throughputOf } : {}) });
    }

    return report(results, { ...o, server, loadBefore });
  } finally {
    await (current as QueueUnderTest | null)?.stop().catch(() => {});
    await b.finish(o.keep);
  }
}

function report(results: Result[], o: {
  jobs: number; runs: number; batch: number; concurrency: number; pickup: number; gapMs: number; server: string; loadBefore: number;
}): string {
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const rate = (t: Result['throughput'], s: 'enqueueS' | 'completeS' | 'both') =>
    t ? n(t.jobs / (s === 'both' ? t.enqueueS + t.completeS : t[s])) : '–';
  const rows = results.map((r) => {
    const t = r.throughput;
    const range = t && o.runs > 1 ? ` (${n(t.completeRange[0])}–${n(t.completeRange[1])})` : '';
    return `| ${r.name} | ${rate(t, 'enqueueS')} | ${rate(t, 'completeS')}${range} | ${rate(t, 'both')} | `
      + `${r.pickup ? `${fmt(r.pickup.p50)} / ${fmt(r.pickup.p99)}` : '–'} |`;
  });
  const ours = results.find((r) => r.name === 'agentbase (ours)')?.throughput;
  const gw = results.find((r) => r.name.startsWith('graphile-worker'))?.throughput;
  const goal = (label: string, a: number, b: number) => {
    const x = a / b;
    return `| ${label} | ${x.toFixed(2)}× | ≥ 1.0× | ${x >= 1 ? 'pass' : '**fail**'} |`;
  };
  const goals = ours && gw
    ? [
      '| goal (issue 4) | measured | target | result |',
      '| --- | ---: | ---: | --- |',
      goal('ours / graphile-worker, complete/s', ours.jobs / ours.completeS, gw.jobs / gw.completeS),
      goal('ours / graphile-worker, end-to-end (enqueue + complete) jobs/s', ours.jobs / (ours.enqueueS + ours.completeS), gw.jobs / (gw.enqueueS + gw.completeS)),
      goal('ours / graphile-worker, enqueue/s', ours.jobs / ours.enqueueS, gw.jobs / gw.enqueueS),
    ]
    : ['(the goal needs both ours and graphile-worker in the run)'];
  return [
    `### Job queue (PostgreSQL ${o.server}, ${cpus().length} cores shared by workers, client and database)`,
    '',
    `1-minute load average ${o.loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
    '',
    `Throughput: ${n(o.jobs)} no-op jobs enqueued in batches of ${n(o.batch)} (one statement or transaction each, sequentially),`,
    `ANALYZE (untimed), then worked off at concurrency ${o.concurrency}; complete/s runs from starting the workers until the database records every job completed.`,
    ...(o.runs > 1
      ? [`Each rate is the median of ${o.runs} runs per queue, interleaved (every queue once per round, a fresh queue and pool each run); `
        + 'after complete/s, the slowest and fastest run.']
      : []),
    `Pickup: ${o.pickup} jobs enqueued one at a time, ${o.gapMs} ms apart, to idle workers; enqueue acknowledged → handler start.`,
    '',
    '| queue | enqueue/s | complete/s | end-to-end jobs/s | pickup p50 / p99 |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    ...goals,
    '',
    'Settings:',
    '',
    ...results.map((r) => `- ${r.name}: ${r.settings}.`),
  ].join('\n');
}
