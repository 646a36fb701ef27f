import { CACHE_TAGS, type QueryCache } from '../cache/index.js';
import type { Database, Sql } from '../db/index.js';

export interface RunsDeps {
  db: Database;
  /** The service clock: the default time of items that carry none, and the partition window. */
  now?: () => Date;
  /** Told the outcome of every committed ingest batch (the Prometheus counters of ingested items). */
  onIngested?: (results: readonly { kind: string; status: string }[]) => void;
  /**
   * Which of these plan ids are live plans of the transaction's organization
   * (the plans module's, wired by the app: runs must not import plans, which
   * reads runs' roll-ups). Without it a planId is not checked: the runtime's
   * own items name a plan its run was checked against when it started.
   */
  planRefs?: (sql: Sql, ids: readonly string[]) => Promise<Set<string>>;
  /** the query cache of the cost and performance reports; without it they are computed every time */
  cache?: QueryCache;
}

/**
 * The cache tag of everything read from the ledger and the execution roll-ups
 * (cost_daily, execution_stats_daily): whatever writes them invalidates it.
 */
export const COSTS_CACHE_TAG = CACHE_TAGS.costs;
/** Reports are invalidated exactly on every write; the TTL bounds only what no write touches (an agent's renamed label). */
export const COSTS_CACHE_TTL_MS = 5 * 60_000;

export const clock = (deps: RunsDeps): Date => deps.now?.() ?? new Date();
