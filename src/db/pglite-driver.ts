import { PGlite, types } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { pg_stat_statements } from '@electric-sql/pglite/contrib/pg_stat_statements';
import v8 from 'node:v8';
import type { AdminSql, Driver, QueryResult } from './types.js';

// Parse values the same way the node-postgres driver does (see pg-driver.ts) so
// code above the seam sees identical shapes: int8 as number, numeric as string.
const parsers = {
  [types.INT8]: (v: string) => Number(v),
  [types.NUMERIC]: (v: string) => v,
};

export interface PgliteDriverOptions {
  /** the PostgreSQL data folder; undefined means in memory (tests) */
  dataDir?: string;
  /**
   * PostgreSQL's shared_buffers in MB; undefined keeps PGlite's (initdb's 128 MB).
   * PGlite's shared memory is an Emscripten anonymous mmap, which zero-fills it
   * at startup: all of it is resident from the first moment (measured: 151 MB
   * of the WebAssembly heap touched at 128 MB, 29 MB at 16 MB), and a
   * WebAssembly heap never shrinks. The files themselves stay in the OS page
   * cache, so a small pool costs a read() per page miss, not a disk access.
   */
  sharedBuffersMb?: number;
  /**
   * false: V8 runs PostgreSQL's WebAssembly with its baseline compiler
   * (Liftoff) only, never recompiling hot functions with the optimizing one
   * (TurboFan). Measured (npm run bench -- startup) on a warm start: ~0.9 s
   * less CPU until ready and ~60 MB less idle memory, ~80 MB less at peak
   * (TurboFan's work happens in background threads, and its compile zones
   * stay behind in malloc's arenas). The price is speed once running: ~10 %
   * more time for ingestion and listings through the API in a one-off
   * in-process measurement (most of that time is JavaScript and the protocol,
   * not SQL), more on compute-heavy SQL such as large sorts. undefined leaves
   * V8 as it is.
   */
  wasmTierUp?: boolean;
  /**
   * false: start without pg_stat_statements preloaded, as a server without
   * shared_preload_libraries = 'pg_stat_statements' runs (GET /v1/ops/queries
   * then answers 409). Default true: measured, the preload costs no startup
   * time and no query time that stands out of the noise.
   */
  queryStats?: boolean;
}

/**
 * V8 has no per-module switch, so this is process-wide, and it must happen
 * before PGlite compiles its module (later compilations only). The embedded
 * database is the only WebAssembly agentbase compiles.
 */
function useBaselineWasmCompilerOnly(): void {
  v8.setFlagsFromString('--liftoff-only');
}

/** The postgres startup options PGlite's backend runs with: its defaults plus our memory sizing. */
function pgliteStartParams(opts: PgliteDriverOptions): string[] {
  return [
    ...PGlite.defaultStartParams,
    ...(opts.sharedBuffersMb === undefined ? [] : ['-c', `shared_buffers=${opts.sharedBuffersMb}MB`]),
  ];
}

export async function createPgliteDriver(opts: PgliteDriverOptions = {}): Promise<Driver> {
  return (await openPglite(opts)).driver;
}

/** The driver and the PGlite instance under it (the template builder dumps its data folder). */
/**
 * What the template builder needs of the PGlite instance. Declared here rather
 * than as PGlite itself so the published declarations never name PGlite's
 * types (they need Emscripten's, which an SDK user does not have).
 */
export interface PgliteHandle {
  exec(sql: string): Promise<unknown>;
  dumpDataDir(compression: 'gzip'): Promise<Blob>;
  close(): Promise<void>;
}

export async function openPglite(opts: PgliteDriverOptions = {}): Promise<{ pg: PgliteHandle; driver: Driver }> {
  if (opts.wasmTierUp === false) useBaselineWasmCompilerOnly();
  const pg = await PGlite.create({
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    parsers,
    startParams: pgliteStartParams(opts),
    // pgvector, so embedded mode has vector search (the memory module's
    // memory_enable_vectors() creates the extension in the database), and
    // pg_stat_statements, preloaded (ops' enableQueryStats() creates it).
    extensions: opts.queryStats === false ? { vector } : { vector, pg_stat_statements },
  });
  const wrap = (tx: { query: PGlite['query']; exec: PGlite['exec'] }): AdminSql => ({
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const r = await tx.query<R>(text, params as unknown[] | undefined);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async exec(script: string) {
      await tx.exec(script);
    },
  });
  const top = wrap(pg);
  const driver: Driver = {
    kind: 'pglite',
    query: (text, params) => top.query(text, params),
    // PGlite serialises transactions internally: it is one connection.
    transaction: (fn, setup) =>
      pg.transaction(async (tx) => {
        // exec: the setup may be several statements (SET TRANSACTION READ ONLY; …).
        if (setup) await tx.exec(setup);
        return fn(wrap(tx));
      }),
    // One in-process connection, never checked out: nothing to wait for or to fail to connect.
    stats: () => ({ total: 1, idle: 1, waiting: 0, acquired: 0, acquireMs: 0, errors: 0, acquireMaxMs: 0 }),
    close: () => pg.close(),
  };
  return { pg, driver };
}
