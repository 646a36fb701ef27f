import type { ReplicaRouter } from './replicas.js';
import type { Database, Driver, Sql, StatementListener, TransactionOptions } from './types.js';

export const APP_ROLE = 'agentbase_app';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ROLE_SETUP = `SELECT set_config('role', '${APP_ROLE}', true)`;
const READ_ONLY = 'SET TRANSACTION READ ONLY; ';
/** Read-your-writes key of the app-role transactions that are not scoped to an organization. */
const GLOBAL_KEY = 'global';

function tenantSetup(orgId: string): string {
  // A malformed tenant would make every policy comparison fail; refuse it
  // before touching the database so a bug cannot turn into a silent no-op.
  // Once checked against the UUID pattern it is safe to inline, which lets
  // the setup travel with BEGIN in one round trip.
  if (!UUID_RE.test(orgId)) throw new Error(`tenant id is not a UUID: ${JSON.stringify(orgId)}`);
  return `SELECT set_config('role', '${APP_ROLE}', true), set_config('app.org_id', '${orgId.toLowerCase()}', true)`;
}

/**
 * Wraps a driver with the role and tenant discipline. Both settings are
 * transaction-local (`set_config(..., true)`), so nothing leaks to the next
 * transaction on a pooled connection and PgBouncer transaction mode is safe.
 *
 * With a replica router, `read`/`tenantRead` may run on a replica (same role,
 * same tenant setting, READ ONLY) and every write committed on the primary is
 * noted, so the writer's organization reads it back (see replicas.ts).
 */
export function createDatabase(driver: Driver, replicas?: ReplicaRouter): Database {
  const listeners = new Set<StatementListener>();
  // With a listener, the Sql handed to `fn` times each statement; the timing
  // is reported after the statement settles and a listener that throws is
  // ignored (a measurement must never fail the work it measures).
  const timed = <T>(orgId: string | null, readOnly: boolean, fn: (sql: Sql) => Promise<T>) =>
    listeners.size === 0
      ? fn
      : (sql: Sql) =>
          fn({
            async query(text, params) {
              const started = performance.now();
              let ok = false;
              try {
                const r = await sql.query(text, params);
                ok = true;
                return r as never;
              } finally {
                const timing = { text, durationMs: performance.now() - started, orgId, readOnly, ok };
                for (const l of listeners) {
                  try {
                    l(timing);
                  } catch {
                    // see above
                  }
                }
              }
            },
          });
  const noting = (key: string): TransactionOptions | undefined =>
    replicas ? { onWriteCommitted: (lsn) => replicas.noteWrite(key, lsn) } : undefined;
  const readOn = <T>(keys: string[], setup: string, fn: (sql: Sql) => Promise<T>): Promise<T> =>
    replicas ? replicas.route(keys, (d) => d.transaction(fn, setup)) : driver.transaction(fn, setup);
  return {
    kind: driver.kind,
    admin: {
      query: (text, params) => driver.query(text, params),
      transaction: (fn) => driver.transaction(fn),
    },
    transaction<T>(fn: (sql: Sql) => Promise<T>) {
      return driver.transaction(timed(null, false, fn), ROLE_SETUP, noting(GLOBAL_KEY));
    },
    tenant<T>(orgId: string, fn: (sql: Sql) => Promise<T>) {
      const setup = tenantSetup(orgId);
      return driver.transaction(timed(orgId.toLowerCase(), false, fn), setup, noting(orgId.toLowerCase()));
    },
    read<T>(fn: (sql: Sql) => Promise<T>) {
      return readOn([GLOBAL_KEY], READ_ONLY + ROLE_SETUP, timed(null, true, fn));
    },
    tenantRead<T>(orgId: string, fn: (sql: Sql) => Promise<T>) {
      const setup = READ_ONLY + tenantSetup(orgId);
      return readOn([orgId.toLowerCase()], setup, timed(orgId.toLowerCase(), true, fn));
    },
    onStatement(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    replicaStatus: () => replicas?.status() ?? [],
    stats: (opts) => driver.stats(opts),
    async close() {
      await replicas?.close();
      await driver.close();
    },
  };
}
