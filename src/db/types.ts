/**
 * The database seam. Everything above `src/db` talks to PostgreSQL through these
 * few functions and never learns whether PGlite or node-postgres is underneath.
 *
 * Terminology:
 * - owner:  the role that ran the migrations and owns the tables. Used only for
 *           migrations and maintenance (partitions, retention).
 * - app:    `agentbase_app`, the role every request runs as. It owns nothing, so
 *           row-level security (forced on every tenant table) always applies.
 * - tenant: the organization a transaction is scoped to, set with
 *           `set_config('app.org_id', …, true)` so it is transaction-local and safe
 *           behind PgBouncer in transaction mode.
 */

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

/** An owner transaction can also run multi-statement scripts (migrations). */
export interface AdminSql extends Sql {
  exec(script: string): Promise<void>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  /** Since the pool opened: connection checkouts by transactions, their summed wait (ms; a new connection's set-up included) and connection errors. */
  acquired: number;
  acquireMs: number;
  errors: number;
  /** the longest checkout wait (ms) since the last stats({ resetMax: true }) */
  acquireMaxMs: number;
}

export interface PoolStatsOptions {
  /** start a new window for acquireMaxMs (the pool sampler does; /metrics does not) */
  resetMax?: boolean;
}

/** What a driver must provide; the role/tenant logic is shared (see database.ts). */
export interface Driver {
  readonly kind: 'pglite' | 'postgres';
  query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /**
   * `setup` is a parameterless statement run first inside the transaction; the
   * node-postgres driver sends it in the same round trip as BEGIN.
   */
  transaction<T>(fn: (sql: AdminSql) => Promise<T>, setup?: string): Promise<T>;
  stats(opts?: PoolStatsOptions): PoolStats;
  close(): Promise<void>;
}

export interface Database {
  readonly kind: Driver['kind'];
  /** Owner access for migrations and maintenance. Never used to serve tenant data. */
  readonly admin: {
    query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
    transaction<T>(fn: (sql: AdminSql) => Promise<T>): Promise<T>;
  };
  /** A transaction as the app role with no tenant: global identity tables and the auth lookup functions. */
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /** A transaction as the app role scoped to one organization; RLS filters every tenant table. */
  tenant<T>(orgId: string, fn: (sql: Sql) => Promise<T>): Promise<T>;
  stats(opts?: PoolStatsOptions): PoolStats;
  close(): Promise<void>;
}
