import type { Sql } from '../db/index.js';

/** One thing that happened in a session: an execution started, a decision was made, a message was sent. */
export interface TimelineEntry {
  type: 'execution' | 'decision' | 'message';
  id: string;
  at: Date;
  /** `at` as exact UTC text with microseconds (a JavaScript Date drops them), for the cursor */
  cursorAt: string;
  item: Record<string, unknown>;
}

/** Ties at one instant come in this order: the execution before what it decided and sent. */
export const TYPE_RANK = { execution: 0, decision: 1, message: 2 } as const;

export interface TimelineQuery {
  /** what session_id holds for the session (its id, and the key of rows ingested before sessions were one notion) */
  sessionKeys: string[];
  after?: { at: string; rank: number; id: string } | undefined;
  limit: number;
}

const AT = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * Oldest first across the three tables. Each branch reads its own index on
 * (org_id, session_id, time) from the cursor on and stops at limit rows; the
 * union is then cut to limit. The cursor's time bounds each index scan, the
 * full (time, rank, id) comparison places the page exactly.
 */
export async function sessionTimeline(sql: Sql, orgId: string, q: TimelineQuery): Promise<TimelineEntry[]> {
  const c = q.after;
  const r = await sql.query<TimelineEntry>(
    `SELECT type, id, at, "cursorAt", item FROM (
       (SELECT 'execution' AS type, 0 AS rank, e.id, e.created_at AS at, ${AT('e.created_at')} AS "cursorAt",
          jsonb_build_object('agentId', e.agent_id, 'agentVersionId', e.agent_version_id, 'parentExecutionId', e.parent_execution_id,
            'status', e.status, 'modelName', e.model_name, 'input', e.input, 'output', e.output,
            'errorMessage', e.error_message, 'startedAt', e.started_at, 'completedAt', e.completed_at,
            'latencyMs', e.latency_ms, 'totalTokens', e.total_tokens, 'costUsd', e.cost_usd::float8,
            'traceId', e.trace_id, 'clientId', e.client_id, 'tags', e.tags) AS item
        FROM executions e
        WHERE e.org_id = $1 AND e.session_id = ANY($2::text[])
          AND ($3::timestamptz IS NULL OR (e.created_at >= $3 AND (e.created_at, 0, e.id) > ($3, $4::int, $5::uuid)))
        ORDER BY e.created_at, e.id LIMIT $6)
       UNION ALL
       (SELECT 'decision', 1, d.id, d.decided_at, ${AT('d.decided_at')},
          jsonb_build_object('agentId', d.agent_id, 'executionId', d.execution_id, 'decisionId', d.decision_id,
            'decisionType', d.decision_type, 'confidenceScore', d.confidence_score::float8,
            'reasoningChain', d.reasoning_chain, 'modelUsed', d.model_used, 'tags', d.tags)
        FROM agent_decisions d
        WHERE d.org_id = $1 AND d.session_id = ANY($2::text[])
          AND ($3::timestamptz IS NULL OR (d.decided_at >= $3 AND (d.decided_at, 1, d.id) > ($3, $4::int, $5::uuid)))
        ORDER BY d.decided_at, d.id LIMIT $6)
       UNION ALL
       (SELECT 'message', 2, m.id, m.sent_at, ${AT('m.sent_at')},
          jsonb_build_object('executionId', m.execution_id, 'fromAgentId', m.from_agent_id, 'toAgentId', m.to_agent_id,
            'fromAgent', m.from_agent, 'toAgent', m.to_agent, 'messageType', m.message_type, 'messageData', m.message_data,
            'status', m.status, 'responseData', m.response_data, 'clientId', m.client_id, 'tags', m.tags)
        FROM agent_communications m
        WHERE m.org_id = $1 AND m.session_id = ANY($2::text[])
          AND ($3::timestamptz IS NULL OR (m.sent_at >= $3 AND (m.sent_at, 2, m.id) > ($3, $4::int, $5::uuid)))
        ORDER BY m.sent_at, m.id LIMIT $6)
     ) t
     ORDER BY at, rank, id LIMIT $6`,
    [orgId, q.sessionKeys, c?.at ?? null, c?.rank ?? null, c?.id ?? null, q.limit],
  );
  return r.rows;
}
