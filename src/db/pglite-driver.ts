import { PGlite, types } from '@electric-sql/pglite';
import type { AdminSql, Driver, QueryResult } from './types.js';

// Parse values the same way the node-postgres driver does (see pg-driver.ts) so
// code above the seam sees identical shapes: int8 as number, numeric as string.
const parsers = {
  [types.INT8]: (v: string) => Number(v),
  [types.NUMERIC]: (v: string) => v,
};

/** `dataDir` undefined means in-memory (tests). */
export async function createPgliteDriver(dataDir?: string): Promise<Driver> {
  const pg = await PGlite.create(dataDir ? { dataDir, parsers } : { parsers });
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
  return {
    kind: 'pglite',
    query: (text, params) => top.query(text, params),
    // PGlite serialises transactions internally: it is one connection.
    transaction: (fn, setup) =>
      pg.transaction(async (tx) => {
        if (setup) await tx.query(setup);
        return fn(wrap(tx));
      }),
    stats: () => ({ total: 1, idle: 1, waiting: 0 }),
    close: () => pg.close(),
  };
}
