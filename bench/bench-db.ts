import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, createPgDriver, migrate, type Database } from '../src/db/index.js';

/** A throw-away database on the benchmark server, dropped at the end. */
export async function benchDatabase(): Promise<{ db: Database; url: string; drop(): Promise<void> }> {
  const base = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `agentbase_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const db = createDatabase(createPgDriver({ connectionString: u.toString(), max: 20 }));
  const drop = async () => {
    await db.close();
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
  try {
    await migrate(db);
  } catch (err) {
    await drop(); // a failed migration must not leave the database behind
    throw err;
  }
  return { db, url: u.toString(), drop };
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
