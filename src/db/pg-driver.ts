import type pg from 'pg';
import { lazyRequire } from '../lazy-require.js';
import type { AdminSql, Driver, QueryResult } from './types.js';

// Embedded mode never needs the client: loaded when a server connection is made.
const pgModule = lazyRequire<typeof pg>('pg');

const typeOverrides = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v); // int8: counts and sequences, < 2^53 in practice
    return pgModule().types.getTypeParser(oid, format);
  },
};

const COMMIT_WITH_LSN =
  'SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS wrote; COMMIT; SELECT pg_current_wal_lsn()::text AS lsn';

export interface PgDriverOptions {
  connectionString: string;
  max: number;
  applicationName?: string;
  /** give up connecting after this long (replicas: a dead one must not hold reads up); default: wait */
  connectTimeoutMs?: number;
}

export function createPgDriver(opts: PgDriverOptions): Driver {
  const pool = new (pgModule().Pool)({
    connectionString: opts.connectionString,
    max: opts.max,
    application_name: opts.applicationName ?? 'agentbase',
    types: typeOverrides,
    ...(opts.connectTimeoutMs ? { connectionTimeoutMillis: opts.connectTimeoutMs } : {}),
  });
  // Counters for the pool sampler (src/ops/metrics): plain numbers, no work per query.
  const counts = { acquired: 0, acquireMs: 0, errors: 0, acquireMaxMs: 0 };
  // An idle client erroring (server restart) must not crash the process; the pool drops it.
  pool.on('error', () => {
    counts.errors++;
  });
  const wrap = (client: pg.PoolClient | pg.Pool): AdminSql => ({
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const r = await client.query(text, params as unknown[] | undefined);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(script: string) {
      await client.query(script);
    },
  });
  const top = wrap(pool);
  return {
    kind: 'postgres',
    query: (text, params) => top.query(text, params),
    async transaction(fn, setup, opts) {
      const t0 = performance.now();
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        counts.errors++;
        throw err;
      }
      const waited = performance.now() - t0;
      counts.acquired++;
      counts.acquireMs += waited;
      if (waited > counts.acquireMaxMs) counts.acquireMaxMs = waited;
      let broken = false;
      // While a client is checked out the pool no longer listens for its errors;
      // a connection the server drops between two queries would otherwise emit
      // an unhandled 'error' and take the process down.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        // Simple-protocol multi-statement: BEGIN and the setup in one round trip.
        await client.query(setup ? `BEGIN; ${setup}` : 'BEGIN');
        const out = await fn(wrap(client));
        if (opts?.onWriteCommitted) {
          // One round trip still: whether this transaction wrote (it has an xid),
          // the commit, and the WAL position after it (>= the commit record).
          const rs = (await client.query(COMMIT_WITH_LSN)) as unknown as pg.QueryResult[];
          const wrote = rs[0]?.rows[0]?.wrote === true;
          const lsn = rs[2]?.rows[0]?.lsn as string | undefined;
          if (wrote && lsn) opts.onWriteCommitted(lsn);
        } else {
          await client.query('COMMIT');
        }
        return out;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    stats(opts) {
      const s = { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, ...counts };
      if (opts?.resetMax) counts.acquireMaxMs = 0;
      return s;
    },
    close: () => pool.end(),
  };
}
