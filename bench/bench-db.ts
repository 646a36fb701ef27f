import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, createPgDriver, migrate, type Database } from '../src/db/index.js';

/** The PostgreSQL server benchmarks create their throw-away databases on. */
export const serverUrl = (): string => process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A benchmark knob from the environment: a non-negative integer (underscores allowed, 10_000_000), or the default. */
export function envNumber(name: string, def: number): number {
  const v = process.env[name];
  const n = v === undefined || v === '' ? def : Number(v.replaceAll('_', ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not ${v}`);
  return Math.floor(n);
}

async function dropDatabase(name: string): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

export interface BenchDatabase {
  db: Database;
  url: string;
  /** Drops the database, or with keep closes it and says where it is. */
  finish(keep?: boolean): Promise<void>;
}

/**
 * A throw-away database on the benchmark server, migrated. Until finish(), an
 * interrupted run (Ctrl-C, SIGTERM) drops it on the way out: such a run never
 * reaches the caller's finally.
 */
export async function benchDatabase(opts: { log?: (s: string) => void; dropOnSignal?: boolean } = {}): Promise<BenchDatabase> {
  const log = opts.log ?? (() => {});
  const name = `agentbase_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl());
  u.pathname = `/${name}`;
  log(`database ${name}`);
  const db = createDatabase(createPgDriver({ connectionString: u.toString(), max: 20 }));
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: dropping ${name}`);
    void dropDatabase(name)
      .catch((err: unknown) => log(`could not drop ${name}: ${String(err)}`))
      .finally(() => process.exit(130));
  };
  if (opts.dropOnSignal ?? true) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const finish = async (keep = false) => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await db.close();
    if (keep) log(`kept database ${u.toString()}`);
    else await dropDatabase(name);
  };
  try {
    await migrate(db);
  } catch (err) {
    await finish(); // a failed migration must not leave the database behind
    throw err;
  }
  return { db, url: u.toString(), finish };
}

export interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

export function stats(samplesMs: number[]): Stats {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Times fn sequentially (after a warm-up) and returns milliseconds per call. */
export async function timeIt(fn: () => Promise<unknown>, iterations: number, warmup = 50): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return stats(out);
}

export const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
