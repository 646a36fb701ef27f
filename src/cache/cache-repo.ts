import type { Sql } from '../db/index.js';

/**
 * The query cache's SQL, run in the caller's tenant transaction (RLS applies).
 * See migrations/0026_query_cache.sql for why entries carry a snapshot and
 * invalidations a transaction id.
 */

/**
 * Markers a snapshot could not see: a transaction that invalidated these tags
 * committed after the snapshot was taken (or had not committed then).
 * `c` is the alias of the snapshot's row.
 */
const INVALIDATED_SINCE = (snapshot: string, tags: string, org: string) => `EXISTS (
  SELECT 1 FROM query_cache_invalidations m
  WHERE (m.org_id = ${org} OR m.org_id IS NULL) AND m.xid >= pg_snapshot_xmin(${snapshot})
    AND m.tags && ${tags} AND NOT pg_visible_in_snapshot(m.xid, ${snapshot}))`;

export interface Lookup {
  /** the entry when it is live: not expired and not invalidated since it was computed */
  hit: { id: string; data: unknown; bytes: number } | undefined;
  /** this statement's snapshot: what a miss computes under (later statements see at least this) */
  snapshot: string;
}

export async function lookup(sql: Sql, orgId: string, keyHash: string): Promise<Lookup> {
  const r = await sql.query<{ id: string | null; data: unknown; bytes: number | null; snap: string }>(
    `SELECT c.id, c.cached_data AS data, c.data_size AS bytes, s.snap::text AS snap
     FROM (SELECT pg_current_snapshot() AS snap) s
     LEFT JOIN query_cache c ON c.org_id = $1 AND c.cache_key_hash = $2 AND c.expires_at > now()
       AND NOT ${INVALIDATED_SINCE('c.snapshot', 'c.tags', 'c.org_id')}`,
    [orgId, keyHash],
  );
  const row = r.rows[0]!;
  return { hit: row.id ? { id: row.id, data: row.data, bytes: row.bytes ?? 0 } : undefined, snapshot: row.snap };
}

export interface StoreRow {
  keyText: string;
  keyHash: string;
  queryHash: string;
  json: string;
  size: number;
  userId: string | null;
  tags: readonly string[];
  snapshot: string;
  ttlMs: number;
  generationMs: number;
}

/**
 * Stores an answer computed under `snapshot`, unless its tags were
 * invalidated since (it would only ever be read as a miss). Returns whether
 * it was stored.
 */
export async function store(sql: Sql, orgId: string, e: StoreRow): Promise<boolean> {
  const r = await sql.query(
    `INSERT INTO query_cache AS q (org_id, cache_key, cache_key_hash, cached_data, data_size, query_hash, user_id, tags,
       snapshot, expires_at, generation_time_ms)
     SELECT $1, $2, $3, $4::jsonb, $5, $6, $7, $8::text[], $9::pg_snapshot, now() + $10 * interval '1 millisecond', $11
     WHERE NOT ${INVALIDATED_SINCE('$9::pg_snapshot', '$8::text[]', '$1')}
     ON CONFLICT (org_id, cache_key_hash) DO UPDATE SET
       cache_key = EXCLUDED.cache_key, cached_data = EXCLUDED.cached_data, data_size = EXCLUDED.data_size,
       query_hash = EXCLUDED.query_hash, user_id = EXCLUDED.user_id, tags = EXCLUDED.tags, snapshot = EXCLUDED.snapshot,
       created_at = now(), expires_at = EXCLUDED.expires_at, last_accessed = now(),
       access_count = q.access_count + 1, generation_time_ms = EXCLUDED.generation_time_ms`,
    [orgId, e.keyText, e.keyHash, e.json, e.size, e.queryHash, e.userId, [...e.tags], e.snapshot, e.ttlMs, e.generationMs],
  );
  return r.rowCount > 0;
}

/**
 * Drops the organization's entries with any of the tags and records the
 * invalidation (one statement). Call it in the transaction that changes the
 * data: it takes effect exactly when that transaction commits.
 */
export async function invalidateTags(sql: Sql, orgId: string, tags: readonly string[], everyOrganization = false): Promise<void> {
  // Every organization's: only this tenant's rows can be deleted here; the marker (org_id NULL) reaches the others' on their next read.
  await sql.query(
    `WITH d AS (DELETE FROM query_cache WHERE org_id = $2 AND tags && $1::text[])
     INSERT INTO query_cache_invalidations (org_id, tags) VALUES (CASE WHEN $3::boolean THEN NULL ELSE $2::uuid END, $1::text[])`,
    [[...tags], orgId, everyOrganization],
  );
}

/** Folded hits (entry id → count) and the day's hit and miss counts of one organization. */
export async function recordStats(
  sql: Sql, orgId: string, day: string, hits: number, misses: number, entryHits: Map<string, number>, at: Date,
): Promise<void> {
  if (entryHits.size) {
    await sql.query(
      `UPDATE query_cache c SET hit_count = c.hit_count + x.n, access_count = c.access_count + x.n,
         last_accessed = greatest(c.last_accessed, $3)
       FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, n int)
       WHERE c.org_id = $1 AND c.id = x.id`,
      [orgId, JSON.stringify([...entryHits].map(([id, n]) => ({ id, n }))), at],
    );
  }
  if (hits || misses) {
    await sql.query(
      `INSERT INTO query_cache_stats AS s (org_id, day, hits, misses) VALUES ($1, $2::date, $3, $4)
       ON CONFLICT (org_id, day) DO UPDATE SET hits = s.hits + EXCLUDED.hits, misses = s.misses + EXCLUDED.misses`,
      [orgId, day, hits, misses],
    );
  }
}

export interface CacheFigures {
  hits: number;
  misses: number;
  /** hits / (hits + misses); null before the first read */
  ratio: number | null;
  /** live entries (not expired) */
  entries: number;
  /** their data_size, bytes */
  bytes: number;
}

const FIGURES = `
  SELECT coalesce((SELECT sum(hits) FROM query_cache_stats WHERE %ORG% day >= $1::date), 0)::float8 AS hits,
    coalesce((SELECT sum(misses) FROM query_cache_stats WHERE %ORG% day >= $1::date), 0)::float8 AS misses,
    (SELECT count(*) FROM query_cache WHERE %ORG% expires_at > now())::float8 AS entries,
    coalesce((SELECT sum(data_size) FROM query_cache WHERE %ORG% expires_at > now()), 0)::float8 AS bytes`;

const withRatio = (f: Omit<CacheFigures, 'ratio'>): CacheFigures => ({
  ...f, ratio: f.hits + f.misses > 0 ? f.hits / (f.hits + f.misses) : null,
});

/** One organization's figures since a UTC day (hits and misses are counted per day). */
export async function orgFigures(sql: Sql, orgId: string, sinceDay: string): Promise<CacheFigures> {
  const r = await sql.query<Omit<CacheFigures, 'ratio'>>(FIGURES.replaceAll('%ORG%', 'org_id = $2 AND'), [sinceDay, orgId]);
  return withRatio(r.rows[0]!);
}

/** Every organization's figures (run as the owner: operations, not tenant data). */
export async function allFigures(sql: Sql, sinceDay: string): Promise<CacheFigures> {
  const r = await sql.query<Omit<CacheFigures, 'ratio'>>(FIGURES.replaceAll('%ORG%', ''), [sinceDay]);
  return withRatio(r.rows[0]!);
}
