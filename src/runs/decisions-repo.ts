import type { Sql } from '../db/index.js';
import { metadataParams } from './runs-repo.js';

export interface DecisionRow {
  id: string;
  decisionId: string;
  agentId: string | null;
  executionId: string | null;
  sessionId: string | null;
  /** the plan (such as a campaign) the decision was about */
  planId: string | null;
  decisionType: string;
  reasoningChain: unknown;
  dataSources: unknown;
  confidenceScore: number;
  decisionMetadata: Record<string, unknown> | null;
  modelUsed: string | null;
  latencyMs: number | null;
  errorMessage: string | null;
  tags: string[];
  decidedAt: Date;
  createdAt: Date;
}

export interface DecisionStat {
  decisionType: string;
  totalDecisions: number;
  avgConfidence: number;
  avgLatencyMs: number | null;
}

export interface DecisionFilter {
  decisionType?: string | undefined;
  /** what session_id may hold for the session asked for (see sessionMatchKeys) */
  sessionIds?: string[] | undefined;
  agentId?: string | undefined;
  executionId?: string | undefined;
  planId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  minConfidence?: number | undefined;
  tag?: string | undefined;
  metadata?: Record<string, unknown>[] | undefined;
  /** The last row of the previous page: its decided_at as exact text (microseconds) and id. */
  after?: { decidedAt: string; id: string } | undefined;
  limit: number;
}

/**
 * Newest first on the exact keyset (decided_at, id). decided_at keeps the
 * microseconds a client sent, which a JavaScript Date drops, so each row also
 * carries its time as exact UTC text for the cursor.
 */
export async function listDecisions(sql: Sql, f: DecisionFilter): Promise<Array<DecisionRow & { cursorAt: string }>> {
  const r = await sql.query<DecisionRow & { cursorAt: string }>(
    `SELECT id, decision_id AS "decisionId", agent_id AS "agentId", execution_id AS "executionId", session_id AS "sessionId",
       plan_id AS "planId", decision_type AS "decisionType", reasoning_chain AS "reasoningChain", data_sources AS "dataSources",
       confidence_score::float8 AS "confidenceScore", decision_metadata AS "decisionMetadata", model_used AS "modelUsed",
       latency_ms AS "latencyMs", error_message AS "errorMessage", tags, decided_at AS "decidedAt", created_at AS "createdAt",
       to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorAt"
     FROM agent_decisions
     WHERE ($1::text IS NULL OR decision_type = $1) AND ($2::text[] IS NULL OR session_id = ANY($2::text[]))
       AND ($3::uuid IS NULL OR agent_id = $3) AND ($4::uuid IS NULL OR execution_id = $4)
       AND ($5::timestamptz IS NULL OR decided_at >= $5) AND ($6::timestamptz IS NULL OR decided_at < $6)
       AND ($7::numeric IS NULL OR confidence_score >= $7)
       AND ($8::timestamptz IS NULL OR (decided_at, id) < ($8, $9::uuid))
       AND ($11::text IS NULL OR (tags @> ARRAY[$11::text] AND cardinality(tags) > 0))
       AND ($12::jsonb IS NULL OR ((decision_metadata @> $12 OR decision_metadata @> $13) AND decision_metadata IS NOT NULL))
       AND ($14::uuid IS NULL OR (plan_id = $14 AND plan_id IS NOT NULL))
     ORDER BY decided_at DESC, id DESC LIMIT $10`,
    [f.decisionType ?? null, f.sessionIds ?? null, f.agentId ?? null, f.executionId ?? null, f.from ?? null, f.to ?? null,
      f.minConfidence ?? null, f.after?.decidedAt ?? null, f.after?.id ?? null, f.limit, f.tag ?? null, ...metadataParams(f.metadata),
      f.planId ?? null],
  );
  return r.rows;
}

/** Seed 001 appendix A3 (v_decision_analytics) over any range; an open end (to null) is what the view does. */
export async function decisionStats(sql: Sql, from: string, to: string | null): Promise<DecisionStat[]> {
  const r = await sql.query<DecisionStat>(
    `SELECT decision_type AS "decisionType", count(*)::int AS "totalDecisions",
       avg(confidence_score)::float8 AS "avgConfidence", avg(latency_ms) AS "avgLatencyMs"
     FROM agent_decisions
     WHERE decided_at >= $1 AND ($2::timestamptz IS NULL OR decided_at < $2)
     GROUP BY decision_type
     ORDER BY 2 DESC, 1`,
    [from, to],
  );
  return r.rows;
}
