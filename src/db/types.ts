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

export interface TransactionOptions {
  /**
   * Called after COMMIT with the primary's WAL position when the transaction
   * wrote something (it was assigned a transaction id), so reads can wait for a
   * replica to replay it. The node-postgres driver learns both in the COMMIT's
   * round trip; a driver without replicas may ignore it.
   */
  onWriteCommitted?: (lsn: string) => void;
}

/** One read replica as the router last saw it (see replicas.ts). */
export interface ReplicaStatus {
  /** the replica's URL without its password */
  url: string;
  /** serving reads: reachable and lagging at most AGENTBASE_REPLICA_MAX_LAG_MS */
  healthy: boolean;
  /** replay lag in milliseconds at the last sample (0 when it had replayed all the primary had written); null when unreachable */
  lagMs: number | null;
  /** the WAL position the replica had replayed at the last sample */
  replayLsn: string | null;
  /** when it was last sampled (ISO 8601); null before the first sample */
  sampledAt: string | null;
  /** why it is not healthy, if it is not */
  error: string | null;
  /** reads it has served since the process started */
  reads: number;
}

/**
 * One statement an app-role transaction ran (`transaction`, `tenant`, `read`,
 * `tenantRead`; owner work is not reported: it is migrations, maintenance and
 * the metrics writer itself). The text is the statement as sent, parameters
 * apart, so equal statements have equal text.
 */
export interface StatementTiming {
  text: string;
  durationMs: number;
  /** the tenant of a `tenant`/`tenantRead` transaction; null for the untenanted ones */
  orgId: string | null;
  /** a `read`/`tenantRead` transaction (a replica may have served it) */
  readOnly: boolean;
  /** false when the statement failed */
  ok: boolean;
}

export type StatementListener = (s: StatementTiming) => void;

/** What a driver must provide; the role/tenant logic is shared (see database.ts). */
export interface Driver {
  readonly kind: 'pglite' | 'postgres';
  query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /**
   * `setup` is a parameterless statement run first inside the transaction; the
   * node-postgres driver sends it in the same round trip as BEGIN.
   */
  transaction<T>(fn: (sql: AdminSql) => Promise<T>, setup?: string, opts?: TransactionOptions): Promise<T>;
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
  /**
   * A read-only `transaction`: served by a read replica when one is configured,
   * healthy and has replayed the writes of the last
   * AGENTBASE_REPLICA_READ_YOUR_WRITES_MS; otherwise by the primary. Writing in
   * `fn` fails (the transaction is READ ONLY on either side). `fn` runs again on
   * the primary when a replica's connection fails under it, so it must not act
   * outside its transaction.
   */
  read<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /**
   * A read-only `tenant` transaction, routed like `read`. Read-your-writes is per
   * organization: after any write of `orgId` commits, its reads stay on the
   * primary until a replica has replayed that write or the window has passed.
   * For the hot list, report and search reads that tolerate a bounded lag.
   */
  tenantRead<T>(orgId: string, fn: (sql: Sql) => Promise<T>): Promise<T>;
  /**
   * Reports every statement of the app-role transactions to `listener` after
   * it finishes (src/ops/metrics samples them into performance_metrics).
   * Returns the function that removes it. Without listeners a statement costs
   * nothing extra.
   */
  onStatement(listener: StatementListener): () => void;
  /** The read replicas and their lag (empty without DATABASE_REPLICA_URLS). */
  replicaStatus(): ReplicaStatus[];
  stats(opts?: PoolStatsOptions): PoolStats;
  close(): Promise<void>;
}
