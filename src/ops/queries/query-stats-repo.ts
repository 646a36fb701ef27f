import type { Sql } from '../../db/index.js';

/**
 * SQL over pg_stat_statements. Every read names this database's oid: the
 * extension's counters are per server, and a shared server holds other
 * databases' statements (and their text), which are none of this service's
 * business.
 */

/** The orderings GET /v1/ops/queries accepts, each mapped to its one column (the allow-list for ORDER BY). */
export const QUERY_SORTS = {
  total: 'total_exec_time',
  mean: 'mean_exec_time',
  calls: 'calls',
} as const;
export type QuerySort = keyof typeof QUERY_SORTS;

export interface StatementRow {
  queryId: string;
  query: string | null;
  role: string | null;
  calls: number;
  totalMs: number;
  meanMs: number;
  maxMs: number;
  rows: number;
  sharedBlksHit: number;
  sharedBlksRead: number;
}

/** Longer normalised statements (function bodies, bulk VALUES lists) are cut: this is a list to scan, not an archive. */
export const QUERY_TEXT_MAX = 4000;

export async function topStatements(sql: Sql, sort: QuerySort, limit: number): Promise<StatementRow[]> {
  const column = QUERY_SORTS[sort];
  const r = await sql.query<StatementRow>(
    `SELECT s.queryid::text AS "queryId", left(s.query, ${QUERY_TEXT_MAX}) AS query, pg_get_userbyid(s.userid)::text AS role,
       s.calls, s.total_exec_time AS "totalMs", s.mean_exec_time AS "meanMs", s.max_exec_time AS "maxMs", s.rows,
       s.shared_blks_hit AS "sharedBlksHit", s.shared_blks_read AS "sharedBlksRead"
     FROM pg_stat_statements s
     WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     ORDER BY s.${column} DESC, s.queryid
     LIMIT $1`,
    [limit],
  );
  return r.rows;
}

/** When the counters were last reset (server-wide) and how many entries were evicted since (pg_stat_statements.max). */
export async function statsInfo(sql: Sql): Promise<{ since: Date | null; deallocations: number }> {
  const r = await sql.query<{ since: Date | null; deallocations: number }>(
    `SELECT stats_reset AS since, dealloc AS deallocations FROM pg_stat_statements_info`,
  );
  return r.rows[0] ?? { since: null, deallocations: 0 };
}

/** What the server says about the extension: shipped, created here, preloaded. Reads catalogs only, so it works without it. */
export interface ExtensionState {
  /** the extension's files are installed on the server (pg_available_extensions lists it) */
  installed: boolean;
  /** CREATE EXTENSION has run in this database (its version), or null */
  createdVersion: string | null;
  /** shared_preload_libraries names it (reading the counters needs this, and a restart to change) */
  preloaded: boolean;
  database: string;
}

export async function extensionState(sql: Sql): Promise<ExtensionState> {
  const r = await sql.query<ExtensionState>(
    `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS installed,
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements')::text AS "createdVersion",
       'pg_stat_statements' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) AS preloaded,
       current_database()::text AS database`,
  );
  return r.rows[0]!;
}

export async function createExtension(sql: Sql): Promise<void> {
  await sql.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
}

/** Resets this database's counters only (every user, every statement), leaving other databases' alone. */
export async function resetStatements(sql: Sql): Promise<void> {
  await sql.query(
    `SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)`,
  );
}

export async function databaseName(sql: Sql): Promise<string> {
  const r = await sql.query<{ name: string }>(`SELECT current_database()::text AS name`);
  return r.rows[0]!.name;
}
