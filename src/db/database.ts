import type { Database, Driver, Sql } from './types.js';

export const APP_ROLE = 'agentbase_app';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Wraps a driver with the role and tenant discipline. Both settings are
 * transaction-local (`set_config(..., true)`), so nothing leaks to the next
 * transaction on a pooled connection and PgBouncer transaction mode is safe.
 */
export function createDatabase(driver: Driver): Database {
  return {
    kind: driver.kind,
    admin: {
      query: (text, params) => driver.query(text, params),
      transaction: (fn) => driver.transaction(fn),
    },
    transaction<T>(fn: (sql: Sql) => Promise<T>) {
      return driver.transaction(fn, `SELECT set_config('role', '${APP_ROLE}', true)`);
    },
    tenant<T>(orgId: string, fn: (sql: Sql) => Promise<T>) {
      // A malformed tenant would make every policy comparison fail; refuse it
      // before touching the database so a bug cannot turn into a silent no-op.
      // Once checked against the UUID pattern it is safe to inline, which lets
      // the setup travel with BEGIN in one round trip.
      if (!UUID_RE.test(orgId)) throw new Error(`tenant id is not a UUID: ${JSON.stringify(orgId)}`);
      return driver.transaction(
        fn,
        `SELECT set_config('role', '${APP_ROLE}', true), set_config('app.org_id', '${orgId.toLowerCase()}', true)`,
      );
    },
    stats: (opts) => driver.stats(opts),
    close: () => driver.close(),
  };
}
