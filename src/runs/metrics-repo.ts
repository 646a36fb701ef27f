import type { Sql } from '../db/index.js';

export interface MetricRow {
  id: string;
  agentId: string;
  type: string;
  value: number;
  metadata: Record<string, unknown>;
  recordedAt: Date;
}

export interface MetricPoint {
  type: string;
  bucket: Date;
  count: number;
  avg: number;
  min: number;
  max: number;
}

/** What date_trunc receives for each interval: SQL text from this map only, never from the request. */
export const BUCKET_UNITS = { hour: `'hour'`, day: `'day'` } as const;
export type MetricInterval = keyof typeof BUCKET_UNITS;

export interface NewMetric {
  metric_type: string;
  value: number;
  metadata: Record<string, unknown> | undefined;
  recorded_at: string;
}

/** One statement for the whole request, so the points are stored all together or not at all. */
export async function insertMetrics(sql: Sql, orgId: string, agentId: string, rows: NewMetric[]): Promise<number> {
  if (!rows.length) return 0;
  const r = await sql.query(
    `INSERT INTO agent_metrics (org_id, agent_id, metric_type, value, metadata, recorded_at)
     SELECT $1, $2, x.metric_type, x.value, coalesce(x.metadata, '{}'), x.recorded_at
     FROM jsonb_to_recordset($3::jsonb) AS x(metric_type text, value numeric, metadata jsonb, recorded_at timestamptz)`,
    [orgId, agentId, JSON.stringify(rows)],
  );
  return r.rowCount;
}

export interface MetricFilter {
  agentId: string;
  type?: string | undefined;
  from: string;
  to: string;
}

/** Newest first; (recorded_at, id) is an exact keyset because points are stored at millisecond precision. */
export async function listMetrics(
  sql: Sql,
  f: MetricFilter & { after?: { recordedAt: string; id: string } | undefined; limit: number },
): Promise<MetricRow[]> {
  const r = await sql.query<MetricRow>(
    `SELECT id, agent_id AS "agentId", metric_type AS type, value::float8 AS value, metadata, recorded_at AS "recordedAt"
     FROM agent_metrics
     WHERE agent_id = $1 AND ($2::text IS NULL OR metric_type = $2) AND recorded_at >= $3 AND recorded_at < $4
       AND ($5::timestamptz IS NULL OR (recorded_at, id) < ($5, $6::uuid))
     ORDER BY recorded_at DESC, id DESC LIMIT $7`,
    [f.agentId, f.type ?? null, f.from, f.to, f.after?.recordedAt ?? null, f.after?.id ?? null, f.limit],
  );
  return r.rows;
}

/** Points per type and UTC hour or day, oldest bucket first. */
export async function metricSeries(sql: Sql, f: MetricFilter & { interval: MetricInterval; limit: number }): Promise<MetricPoint[]> {
  const unit = BUCKET_UNITS[f.interval];
  const r = await sql.query<MetricPoint>(
    `SELECT metric_type AS type, date_trunc(${unit}, recorded_at, 'UTC') AS bucket, count(*)::int AS count,
       avg(value)::float8 AS avg, min(value)::float8 AS min, max(value)::float8 AS max
     FROM agent_metrics
     WHERE agent_id = $1 AND ($2::text IS NULL OR metric_type = $2) AND recorded_at >= $3 AND recorded_at < $4
     GROUP BY 1, 2
     ORDER BY 1, 2 LIMIT $5`,
    [f.agentId, f.type ?? null, f.from, f.to, f.limit],
  );
  return r.rows;
}
