import type { Sql } from '../db/index.js';

/**
 * Upkeep of the query cache, run as the owner by maintain() (every
 * organization's rows at once; nothing here is returned to a tenant).
 */

export async function deleteExpired(sql: Sql): Promise<number> {
  const r = await sql.query(`DELETE FROM query_cache WHERE expires_at <= now()`);
  return r.rowCount;
}

/**
 * Least recently used first until the rest fits in maxBytes: keeps the
 * newest entries whose running total of data_size stays within the cap.
 */
export async function evictToCap(sql: Sql, maxBytes: number): Promise<number> {
  const r = await sql.query(
    `DELETE FROM query_cache c USING (
       SELECT id, sum(data_size) OVER (ORDER BY last_accessed DESC, id DESC) AS running FROM query_cache
     ) o
     WHERE c.id = o.id AND o.running > $1`,
    [maxBytes],
  );
  return r.rowCount;
}

/**
 * Markers no entry can need any more: older than `graceMs` (a reader that
 * missed stores within its transaction, far sooner) and older than the oldest
 * snapshot of any entry they could apply to (their organization's, or any
 * for a global marker).
 */
export async function pruneInvalidations(sql: Sql, graceMs: number): Promise<number> {
  const r = await sql.query(
    `WITH lo AS (SELECT org_id, min(pg_snapshot_xmin(snapshot)) AS x FROM query_cache GROUP BY org_id)
     DELETE FROM query_cache_invalidations m
     WHERE m.created_at < now() - $1 * interval '1 millisecond'
       AND CASE WHEN m.org_id IS NULL THEN NOT EXISTS (SELECT 1 FROM lo WHERE lo.x <= m.xid)
         ELSE NOT EXISTS (SELECT 1 FROM lo WHERE lo.org_id = m.org_id AND lo.x <= m.xid) END`,
    [graceMs],
  );
  return r.rowCount;
}

export async function totalBytes(sql: Sql): Promise<number> {
  const r = await sql.query<{ n: number }>(`SELECT coalesce(sum(data_size), 0)::float8 AS n FROM query_cache`);
  return r.rows[0]!.n;
}
