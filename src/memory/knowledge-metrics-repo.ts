import { uuidv7, type Sql } from '../db/index.js';

export type KnowledgeEvent = 'read' | 'search_hit' | 'transfer' | 'transfer_failed';

export interface MetricEvent {
  knowledgeId: string;
  agentId: string | null;
  event: KnowledgeEvent;
  at: Date;
}

/** One row per event, in one statement. */
export async function insertMetricEvents(sql: Sql, orgId: string, events: readonly MetricEvent[]): Promise<void> {
  if (!events.length) return;
  await sql.query(
    `INSERT INTO knowledge_metrics (id, org_id, knowledge_id, agent_id, event, recorded_at)
     SELECT u.id, $1, u.knowledge_id, u.agent_id, u.event, u.recorded_at
     FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[]) AS u(id, knowledge_id, agent_id, event, recorded_at)`,
    [
      orgId,
      events.map(() => uuidv7()),
      events.map((e) => e.knowledgeId),
      events.map((e) => e.agentId),
      events.map((e) => e.event),
      events.map((e) => e.at.toISOString()),
    ],
  );
}

export interface DayCounts {
  day: string;
  reads: number;
  searchHits: number;
  transfers: number;
  transfersFailed: number;
}

/**
 * Counts per UTC day from `from` to `to` (dates, both inclusive), every day
 * listed, zeros included. The range on recorded_at is a constant, so only the
 * partitions of those days are read.
 */
export async function dailyCounts(sql: Sql, orgId: string, knowledgeId: string, from: string, to: string): Promise<DayCounts[]> {
  const r = await sql.query<DayCounts>(
    `WITH m AS (
       SELECT (recorded_at AT TIME ZONE 'UTC')::date AS day, event, sum(count) AS n
       FROM knowledge_metrics
       WHERE org_id = $1 AND knowledge_id = $2
         AND recorded_at >= ($3::date)::timestamp AT TIME ZONE 'UTC'
         AND recorded_at < ($4::date + 1)::timestamp AT TIME ZONE 'UTC'
       GROUP BY 1, 2)
     SELECT to_char(g.d, 'YYYY-MM-DD') AS day,
       coalesce(sum(m.n) FILTER (WHERE m.event = 'read'), 0)::int AS reads,
       coalesce(sum(m.n) FILTER (WHERE m.event = 'search_hit'), 0)::int AS "searchHits",
       coalesce(sum(m.n) FILTER (WHERE m.event = 'transfer'), 0)::int AS transfers,
       coalesce(sum(m.n) FILTER (WHERE m.event = 'transfer_failed'), 0)::int AS "transfersFailed"
     FROM generate_series($3::date::timestamp, $4::date::timestamp, interval '1 day') AS g(d)
     LEFT JOIN m ON m.day = g.d::date
     GROUP BY g.d ORDER BY g.d`,
    [orgId, knowledgeId, from, to],
  );
  return r.rows;
}
