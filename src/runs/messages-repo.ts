import type { Sql } from '../db/index.js';
import { metadataParams } from './runs-repo.js';

export interface MessageRow {
  id: string;
  clientId: string | null;
  planId: string | null;
  executionId: string | null;
  sessionId: string | null;
  fromAgentId: string | null;
  toAgentId: string | null;
  fromAgent: string | null;
  toAgent: string | null;
  messageType: string;
  messageData: Record<string, unknown>;
  priority: number;
  responseData: Record<string, unknown>;
  responseTimeMs: number | null;
  status: string;
  errorMessage: string | null;
  retryCount: number;
  sentAt: Date;
  deliveredAt: Date | null;
  receivedAt: Date | null;
  processedAt: Date | null;
  traceId: string | null;
  correlationId: string | null;
  metadata: Record<string, unknown>;
  tags: string[];
  createdAt: Date;
}

export interface MessageFilter {
  executionId?: string | undefined;
  /** what session_id may hold for the session asked for (see sessionMatchKeys) */
  sessionIds?: string[] | undefined;
  planId?: string | undefined;
  fromAgentId?: string | undefined;
  toAgentId?: string | undefined;
  /** Either side, by name (fromAgent/toAgent) or, when it is a UUID, also by id. */
  agent?: string | undefined;
  messageType?: string | undefined;
  status?: string | undefined;
  traceId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  minPriority?: number | undefined;
  tag?: string | undefined;
  metadata?: Record<string, unknown>[] | undefined;
  /** The last row of the previous page: its sent_at as exact text (microseconds) and id. */
  after?: { sentAt: string; id: string } | undefined;
  limit: number;
}

/** Aggregates over one group of messages; rates are derived by the service. */
export interface MessageAggregate {
  total: number;
  failed: number;
  avgResponseTimeMs: number | null;
  p95ResponseTimeMs: number | null;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Newest first on the exact keyset (sent_at, id). sent_at keeps the
 * microseconds a client sent, which a JavaScript Date drops, so each row also
 * carries its time as exact UTC text for the cursor.
 */
export async function listMessages(sql: Sql, f: MessageFilter): Promise<Array<MessageRow & { cursorAt: string }>> {
  const agentId = f.agent !== undefined && UUID_RE.test(f.agent) ? f.agent : null;
  const r = await sql.query<MessageRow & { cursorAt: string }>(
    `SELECT id, client_id AS "clientId", plan_id AS "planId", execution_id AS "executionId", session_id AS "sessionId",
       from_agent_id AS "fromAgentId", to_agent_id AS "toAgentId", from_agent AS "fromAgent", to_agent AS "toAgent",
       message_type AS "messageType", message_data AS "messageData", priority, response_data AS "responseData",
       response_time_ms AS "responseTimeMs", status, error_message AS "errorMessage", retry_count AS "retryCount",
       sent_at AS "sentAt", delivered_at AS "deliveredAt", received_at AS "receivedAt", processed_at AS "processedAt",
       trace_id AS "traceId", correlation_id AS "correlationId", metadata, tags, created_at AS "createdAt",
       to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorAt"
     FROM agent_communications
     WHERE ($1::uuid IS NULL OR execution_id = $1) AND ($2::text[] IS NULL OR session_id = ANY($2::text[]))
       AND ($3::uuid IS NULL OR plan_id = $3)
       AND ($4::uuid IS NULL OR from_agent_id = $4) AND ($5::uuid IS NULL OR to_agent_id = $5)
       AND ($6::text IS NULL OR from_agent = $6 OR to_agent = $6 OR from_agent_id = $7::uuid OR to_agent_id = $7::uuid)
       AND ($8::text IS NULL OR message_type = $8) AND ($9::text IS NULL OR status = $9)
       AND ($10::text IS NULL OR trace_id = $10)
       AND ($11::timestamptz IS NULL OR sent_at >= $11) AND ($12::timestamptz IS NULL OR sent_at < $12)
       AND ($13::int IS NULL OR priority >= $13)
       AND ($14::timestamptz IS NULL OR (sent_at, id) < ($14, $15::uuid))
       AND ($17::text IS NULL OR (tags @> ARRAY[$17::text] AND cardinality(tags) > 0))
       AND ($18::jsonb IS NULL OR ((metadata @> $18 OR metadata @> $19) AND metadata <> '{}'))
     ORDER BY sent_at DESC, id DESC LIMIT $16`,
    [f.executionId ?? null, f.sessionIds ?? null, f.planId ?? null, f.fromAgentId ?? null, f.toAgentId ?? null,
      f.agent ?? null, agentId, f.messageType ?? null, f.status ?? null, f.traceId ?? null, f.from ?? null, f.to ?? null,
      f.minPriority ?? null, f.after?.sentAt ?? null, f.after?.id ?? null, f.limit, f.tag ?? null, ...metadataParams(f.metadata)],
  );
  return r.rows;
}

// failed and timeout are the two outcomes in which the message never got its answer.
const AGGREGATES = `count(*)::int AS total,
  count(*) FILTER (WHERE status IN ('failed', 'timeout'))::int AS failed,
  avg(response_time_ms)::float8 AS "avgResponseTimeMs",
  percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms::float8) AS "p95ResponseTimeMs"`;

/** All messages sent in [from, to). */
export async function messageTotals(sql: Sql, from: string, to: string): Promise<MessageAggregate> {
  const r = await sql.query<MessageAggregate>(
    `SELECT ${AGGREGATES} FROM agent_communications WHERE sent_at >= $1 AND sent_at < $2`,
    [from, to],
  );
  return r.rows[0]!;
}

/** Counts per status in [from, to); statuses with no message are absent. */
export async function messageStatusCounts(sql: Sql, from: string, to: string): Promise<Array<{ status: string; count: number }>> {
  const r = await sql.query<{ status: string; count: number }>(
    `SELECT status, count(*)::int AS count FROM agent_communications
     WHERE sent_at >= $1 AND sent_at < $2 GROUP BY status`,
    [from, to],
  );
  return r.rows;
}

/** Per message type in [from, to), most frequent first, at most limit types. */
export async function messageTypeStats(
  sql: Sql,
  from: string,
  to: string,
  limit: number,
): Promise<Array<MessageAggregate & { messageType: string }>> {
  const r = await sql.query<MessageAggregate & { messageType: string }>(
    `SELECT message_type AS "messageType", ${AGGREGATES}
     FROM agent_communications WHERE sent_at >= $1 AND sent_at < $2
     GROUP BY message_type ORDER BY total DESC, message_type LIMIT $3`,
    [from, to, limit],
  );
  return r.rows;
}
