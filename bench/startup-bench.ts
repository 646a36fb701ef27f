import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { envNumber, serverUrl } from './bench-db.js';
import { freePort, launch, waitQuiet, type RunningStart, type StartSample } from './startup-probe.js';
import { checkBuilt, CLI } from './ops-metrics-server.js';

/**
 * Startup and memory (issue 11): the real CLI (`node dist/cli/main.js start`,
 * so run `npm run build` first) spawned as a child process, against bare PGlite
 * in the same run. Each start is measured launch → first 200 from /readyz, the
 * CPU it used until then, its RSS after a settle period and its peak RSS
 * (VmHWM). Each round runs every kind of start once, so background load falls
 * on all alike; medians are reported. In a round the cold starts run first,
 * then the warm ones; a process settles while the next one is measured, but
 * each launch first waits until the processes still settling are idle. The
 * whole run takes ~3 minutes with the defaults.
 *
 * - bare PGlite, empty folder (the baseline): a tiny script that opens PGlite
 *   on a fresh folder, runs `select 1` and answers /readyz.
 * - bare PGlite, same folder again.
 * - embedded cold: `agentbase start` on an empty data folder.
 * - embedded warm: the same folder again.
 * - embedded warm with AGENTBASE_EMBEDDED_WASM_TIER_UP=true (V8's optimizing
 *   compiler for PostgreSQL's hot code, as Node does by default): a copy of
 *   the same folder.
 * - server cold: a fresh, empty database on the PostgreSQL server.
 * - server warm: the same database again.
 *
 * Environment (defaults in brackets):
 *   BENCH_STARTUP_RUNS       rounds; medians are reported [3]
 *   BENCH_STARTUP_SETTLE_S   seconds after ready before the idle RSS is read [20]: V8's memory
 *                            reducer shrinks the heap ~15 s after an agentbase start (by ~30 MB)
 *   BENCH_STARTUP_TIMEOUT_S  a start still not ready after this fails the bench [120]
 *   BENCH_STARTUP_ONLY       comma list of bare,embedded,server to run a subset [all]
 *   BENCH_DATABASE_URL       server for the server-mode rows [TEST_DATABASE_URL, then local postgres]; a superuser
 */

const ROOT = new URL('../', import.meta.url).pathname;

// The baseline: PGlite as it comes (its defaults), nothing else loaded but node:http.
const BARE_PGLITE = `
import { createServer } from 'node:http';
import { PGlite } from '@electric-sql/pglite';
const pg = await PGlite.create({ dataDir: process.env.BARE_DIR });
await pg.query('select 1');
const server = createServer((_req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => pg.close().then(() => process.exit(0))));
`;

type Kind = 'bare' | 'embedded' | 'server';

interface Row {
  key: string;
  label: string;
  kind: Kind;
  samples: StartSample[];
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export async function startupBench(): Promise<string> {
  const o = {
    runs: Math.max(1, envNumber('BENCH_STARTUP_RUNS', 3)),
    settleMs: envNumber('BENCH_STARTUP_SETTLE_S', 20) * 1000,
    timeoutMs: Math.max(1, envNumber('BENCH_STARTUP_TIMEOUT_S', 120)) * 1000,
    only: new Set((process.env.BENCH_STARTUP_ONLY || 'bare,embedded,server').split(',').map((s) => s.trim())),
  };
  const log = (s: string) => process.stderr.write(`[startup] ${s}\n`);
  checkBuilt(log);
  if (!existsSync(join(ROOT, 'dist/pglite-template/manifest.json'))) log('warning: no dist/pglite-template: embedded cold starts will run initdb');

  const loadBefore = loadavg()[0]!;
  const work = await mkdtemp(join(tmpdir(), 'agentbase-startup-bench-'));
  const databases: string[] = [];
  const baseEnv = { ...process.env, LOG_LEVEL: 'info', DATABASE_URL: '', AGENTBASE_SECRET: '' };
  const rows: Row[] = [
    { key: 'bare-cold', label: 'bare PGlite, empty folder (baseline)', kind: 'bare' as const, samples: [] },
    { key: 'bare-warm', label: 'bare PGlite, same folder again', kind: 'bare' as const, samples: [] },
    { key: 'embedded-cold', label: 'agentbase embedded, empty data folder (cold)', kind: 'embedded' as const, samples: [] },
    { key: 'embedded-warm', label: 'agentbase embedded, same folder again (warm)', kind: 'embedded' as const, samples: [] },
    {
      key: 'embedded-tierup-warm',
      label: 'agentbase embedded, warm, AGENTBASE_EMBEDDED_WASM_TIER_UP=true',
      kind: 'embedded' as const,
      samples: [],
    },
    { key: 'server-cold', label: 'agentbase server mode, empty database (cold)', kind: 'server' as const, samples: [] },
    { key: 'server-warm', label: 'agentbase server mode, same database again (warm)', kind: 'server' as const, samples: [] },
  ].filter((r) => o.only.has(r.kind));
  if (!rows.length) throw new Error('BENCH_STARTUP_ONLY: choose from bare, embedded, server');

  try {
    for (let round = 1; round <= o.runs; round++) {
      const bareDir = join(work, `bare-${round}`);
      const dataDir = join(work, `embedded-${round}`);
      const tierUpDir = join(work, `embedded-tierup-${round}`);
      const dbName = `agentbase_startup_${randomBytes(4).toString('hex')}`;
      if (o.only.has('server')) {
        await adminQuery(`CREATE DATABASE ${dbName}`);
        databases.push(dbName);
      }
      const serverDb = new URL(serverUrl());
      serverDb.pathname = `/${dbName}`;
      // Cold starts first, then (once they have exited: a data folder has one process) the warm ones. A
      // process settles while the next is measured, but a launch waits until the others are idle.
      for (const phase of ['cold', 'warm']) {
        // A copy of the cold folder for the tier-up row, so it can start beside the plain warm one (one process per folder).
        if (phase === 'warm' && o.only.has('embedded')) await cp(dataDir, tierUpDir, { recursive: true });
        const running: RunningStart[] = [];
        try {
          for (const row of rows.filter((r) => r.key.endsWith(phase))) {
            await waitQuiet(running.map((r) => r.pid));
            const port = await freePort();
            const common = { cwd: ROOT, port, settleMs: o.settleMs, timeoutMs: o.timeoutMs };
            const env = { ...baseEnv, PORT: String(port) };
            const spec =
              row.kind === 'bare'
                ? { ...common, args: ['--input-type=module', '-e', BARE_PGLITE], env: { ...env, BARE_DIR: bareDir } }
                : row.key === 'embedded-tierup-warm'
                  ? { ...common, args: [CLI, 'start'], env: { ...env, AGENTBASE_DATA_DIR: tierUpDir, AGENTBASE_EMBEDDED_WASM_TIER_UP: 'true' } }
                  : row.kind === 'embedded'
                  ? { ...common, args: [CLI, 'start'], env: { ...env, AGENTBASE_DATA_DIR: dataDir } }
                  : {
                    ...common,
                    args: [CLI, 'start'],
                    env: { ...env, DATABASE_URL: serverDb.toString(), AGENTBASE_SECRET: 'startup-bench-secret-startup-bench-secret' },
                  };
            const r = await launch(spec);
            log(`round ${round}/${o.runs}: ${row.label}: ready ${r.readyMs.toFixed(0)} ms, CPU ${r.cpuMs.toFixed(0)} ms`);
            running.push(r);
            void r.settled.then(
              (s) => {
                log(`round ${round}/${o.runs}: ${row.label}: idle RSS ${s.idleRssMb.toFixed(0)} MB, peak ${s.peakRssMb.toFixed(0)} MB`);
                row.samples.push(s);
              },
              () => {},
            );
          }
        } finally {
          // (on a failed launch too: the others stop themselves once settled)
          await Promise.allSettled(running.map((r) => r.settled));
        }
        for (const r of running) await r.settled;
      }
      // The folders stay until the end: deleting ~150 MB of files just before the next round's cold starts
      // made the file system slower for them (measured: 3-4× the system CPU of unpacking the template).
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    for (const d of databases) await adminQuery(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`).catch(() => {});
  }
  return report(rows, { ...o, loadBefore });
}

function report(rows: Row[], o: { runs: number; settleMs: number; loadBefore: number }): string {
  const med = (r: Row, k: keyof StartSample) => median(r.samples.map((s) => s[k]));
  const base = rows.find((r) => r.key === 'bare-cold');
  const ratio = (r: Row, k: keyof StartSample) => (base ? `${(med(r, k) / med(base, k)).toFixed(2)}×` : '–');
  const range = (r: Row) => {
    const xs = r.samples.map((s) => s.readyMs);
    return r.samples.length > 1 ? ` (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})` : '';
  };
  const lines = rows.map(
    (r) =>
      `| ${r.label} | ${med(r, 'readyMs').toFixed(0)}${range(r)} | ${med(r, 'cpuMs').toFixed(0)} | ${med(r, 'idleRssMb').toFixed(0)} | ` +
      `${med(r, 'peakRssMb').toFixed(0)} | ${ratio(r, 'readyMs')} | ${ratio(r, 'cpuMs')} | ${ratio(r, 'idleRssMb')} |`,
  );
  return [
    `### Startup and memory (${cpus().length} cores, node ${process.version})`,
    '',
    `Launch → first 200 from GET /readyz, the process's CPU time (user + system, every thread) until then, its RSS ${o.settleMs / 1000} s after ready`,
    `(idle) and its peak RSS (VmHWM). Medians of ${o.runs} rounds, every kind of start once per round (the cold ones, then the warm ones); after ready ms,`,
    `the fastest and slowest. A process settles while the next is measured, but each launch waits until those still settling are idle.`,
    `× is the ratio to bare PGlite on an empty folder, measured in the same run. 1-minute load average ${o.loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
    '',
    '| start | ready ms | CPU ms | idle RSS MB | peak RSS MB | ready × | CPU × | idle RSS × |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...lines,
  ].join('\n');
}
