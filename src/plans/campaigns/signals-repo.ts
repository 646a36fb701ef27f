import type { Sql } from '../../db/index.js';

/** One market signal (seed 001 market_signals), as the API shows it. */
export interface SignalRow {
  id: string;
  source: string;
  content: string;
  observedAt: Date;
  relevanceScore: number;
  category: string;
  impact: 'low' | 'medium' | 'high';
  serviceId: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

export interface NewSignal {
  id: string;
  source: string;
  content: string;
  observedAt: string;
  relevanceScore: number;
  category: string;
  impact: string;
  serviceId: string | null;
  metadata: Record<string, unknown>;
}

const COLUMNS = `id, source, content, observed_at AS "observedAt", relevance_score AS "relevanceScore", category, impact,
  service_id AS "serviceId", metadata, created_at AS "createdAt",
  to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorAt"`;

/** The whole batch in one statement (each row lands in its week's partition); answered in the batch's order. */
export async function insertSignals(sql: Sql, orgId: string, xs: readonly NewSignal[], at: Date): Promise<Array<SignalRow & { cursorAt: string }>> {
  const r = await sql.query<SignalRow & { cursorAt: string }>(
    `INSERT INTO market_signals (id, org_id, source, content, observed_at, relevance_score, category, impact, service_id, metadata, created_at)
     SELECT x.id, $1, x.source, x.content, x.observed_at, x.relevance_score, x.category, x.impact, x.service_id, x.metadata, $3
     FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, source text, content text, observed_at timestamptz,
       relevance_score real, category text, impact text, service_id uuid, metadata jsonb)
     RETURNING ${COLUMNS}`,
    [orgId, JSON.stringify(xs.map((s) => ({
      id: s.id, source: s.source, content: s.content, observed_at: s.observedAt, relevance_score: s.relevanceScore,
      category: s.category, impact: s.impact, service_id: s.serviceId, metadata: s.metadata,
    }))), at.toISOString()],
  );
  const byId = new Map(r.rows.map((row) => [row.id, row]));
  return xs.map((s) => byId.get(s.id)!);
}

export interface SignalFilter {
  impact?: string | undefined;
  category?: string | undefined;
  source?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  minRelevance?: number | undefined;
  serviceId?: string | undefined;
  /** the last row of the previous page: its observed_at as exact text (microseconds) and id */
  before?: { observedAt: string; id: string } | undefined;
  limit: number;
}

/**
 * Newest first on the exact keyset (observed_at, id), along idx_signals_timestamp
 * (or idx_signals_impact_time / _source / _category when that filter is given).
 * observed_at keeps the microseconds a client sent, so each row carries it as
 * exact text for the cursor.
 */
export async function listSignals(sql: Sql, orgId: string, f: SignalFilter): Promise<Array<SignalRow & { cursorAt: string }>> {
  // minRelevance is compared as real, the column's type: as float8, a stored 0.9 would fall below 0.9.
  const r = await sql.query<SignalRow & { cursorAt: string }>(
    `SELECT ${COLUMNS} FROM market_signals
     WHERE org_id = $1
       AND ($2::text IS NULL OR impact = $2) AND ($3::text IS NULL OR category = $3) AND ($4::text IS NULL OR source = $4)
       AND ($5::timestamptz IS NULL OR observed_at >= $5) AND ($6::timestamptz IS NULL OR observed_at < $6)
       AND ($7::real IS NULL OR relevance_score >= $7::real) AND ($8::uuid IS NULL OR service_id = $8)
       AND ($9::timestamptz IS NULL OR (observed_at, id) < ($9::timestamptz, $10::uuid))
     ORDER BY observed_at DESC, id DESC LIMIT $11`,
    [orgId, f.impact ?? null, f.category ?? null, f.source ?? null, f.since ?? null, f.until ?? null, f.minRelevance ?? null,
      f.serviceId ?? null, f.before?.observedAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}
