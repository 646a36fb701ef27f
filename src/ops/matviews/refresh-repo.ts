import type { Sql } from '../../db/index.js';
import type { MatviewSpec } from './registry.js';

/** The SQL of refreshing and of the refresh history, all as the owner (db.admin). */

export interface ViewState {
  /** false until the first refresh of a view created WITH NO DATA */
  populated: boolean;
  /** its unique index exists and is valid, so a concurrent refresh can diff against it */
  uniqueIndexReady: boolean;
}

/** null when the materialized view does not exist. */
export async function viewState(sql: Sql, spec: MatviewSpec): Promise<ViewState | null> {
  const r = await sql.query<ViewState>(
    `SELECT c.relispopulated AS populated,
            EXISTS (SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                    WHERE i.indrelid = c.oid AND ic.relname = $2 AND i.indisunique AND i.indisvalid
                      AND i.indpred IS NULL AND i.indexprs IS NULL) AS "uniqueIndexReady"
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname = $1 AND c.relkind = 'm'`,
    [spec.name, spec.uniqueIndex],
  );
  return r.rows[0] ?? null;
}

/** Two refreshes of one view queue on its lock; the second would redo the first's work, so it is skipped instead. */
export async function tryLockView(sql: Sql, name: string): Promise<boolean> {
  const r = await sql.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('agentbase.matview'), hashtext($1)) AS locked`, [name]);
  return r.rows[0]!.locked;
}

/** `spec.name` has passed registry.checkSpec (a plain lower-case identifier). */
export async function refresh(sql: Sql, spec: MatviewSpec, concurrent: boolean): Promise<void> {
  await sql.query(`REFRESH MATERIALIZED VIEW ${concurrent ? 'CONCURRENTLY ' : ''}public."${spec.name}"`);
}

export async function countRows(sql: Sql, spec: MatviewSpec): Promise<number> {
  const r = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM public."${spec.name}"`);
  return Number(r.rows[0]!.n);
}

export interface RefreshRecord {
  name: string;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  /** rows after a successful refresh; null for a failed one */
  rows: number | null;
  concurrent: boolean;
  error: string | null;
}

export async function insertRefresh(sql: Sql, r: RefreshRecord): Promise<void> {
  await sql.query(
    `INSERT INTO matview_refreshes (name, started_at, finished_at, duration_ms, rows, concurrent, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [r.name, r.startedAt.toISOString(), r.finishedAt.toISOString(), r.durationMs, r.rows, r.concurrent, r.error === null ? null : r.error.slice(0, 4000)],
  );
}

export interface LastRefreshes {
  name: string;
  populated: boolean | null;
  ok: RefreshRecord | null;
  failed: RefreshRecord | null;
}

type Row = { name: string; started_at: Date; finished_at: Date; duration_ms: number; rows: string | null; concurrent: boolean; error: string | null };
const record = (r: Row | null): RefreshRecord | null =>
  r && {
    name: r.name, startedAt: new Date(r.started_at), finishedAt: new Date(r.finished_at), durationMs: Number(r.duration_ms),
    rows: r.rows === null ? null : Number(r.rows), concurrent: r.concurrent, error: r.error,
  };

/** Per name: whether it is populated (null: no such view), its last successful refresh, and its last failure if that came after. */
export async function lastRefreshes(sql: Sql, names: string[]): Promise<LastRefreshes[]> {
  const r = await sql.query<{ name: string; populated: boolean | null; ok: Row | null; failed: Row | null }>(
    `SELECT n.name,
       (SELECT c.relispopulated FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE s.nspname = 'public' AND c.relname = n.name AND c.relkind = 'm') AS populated,
       (SELECT to_jsonb(r) FROM matview_refreshes r WHERE r.name = n.name AND r.error IS NULL
        ORDER BY r.finished_at DESC LIMIT 1) AS ok,
       (SELECT to_jsonb(r) FROM matview_refreshes r WHERE r.name = n.name
        ORDER BY r.finished_at DESC LIMIT 1) AS failed
     FROM unnest($1::text[]) AS n(name)`,
    [names],
  );
  return r.rows.map((x) => ({
    name: x.name,
    populated: x.populated,
    ok: record(x.ok),
    failed: x.failed && x.failed.error !== null ? record(x.failed) : null,
  }));
}

/** History past retention; returns how many rows went. */
export async function pruneRefreshes(sql: Sql, before: Date): Promise<number> {
  const r = await sql.query(`DELETE FROM matview_refreshes WHERE finished_at < $1`, [before.toISOString()]);
  return r.rowCount;
}
