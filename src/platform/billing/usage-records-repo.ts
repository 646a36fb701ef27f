import type { Sql } from '../../db/index.js';
import type { UsageFigures } from './pricing.js';

/** SQL of usage_records (migration 0024) and the storage estimate. Every function runs in a tenant transaction of orgId. */

/**
 * The tables whose rows make up most of an organization's data (an
 * allow-list: the only identifiers that reach the SQL text). Indexes, TOAST
 * overhead and the smaller tables are not counted.
 */
const STORAGE_TABLES = [
  'agents', 'agent_versions', 'agent_tools', 'executions', 'spans', 'cost_ledger', 'agent_decisions', 'agent_communications',
  'agent_memories', 'knowledge_items', 'plans', 'plan_versions', 'tasks', 'workflows', 'workflow_executions', 'audit_logs',
] as const;

/**
 * Estimated bytes of the organization's rows now: the sum of pg_column_size
 * of each row (its stored, possibly compressed, size) over STORAGE_TABLES.
 * Exact for what it counts, but it reads every row of the organization in
 * those tables, so it is taken once per period (when the period is first
 * recorded), not on every request.
 */
export async function storageBytes(sql: Sql, orgId: string): Promise<number> {
  const parts = STORAGE_TABLES.map((t) => `(SELECT coalesce(sum(pg_column_size(x.*)), 0) FROM ${t} x WHERE x.org_id = $1)`);
  const r = await sql.query<{ bytes: string }>(`SELECT (${parts.join(' + ')})::bigint::text AS bytes`, [orgId]);
  return Number(r.rows[0]!.bytes);
}

export interface UsageRecordRow extends UsageFigures {
  id: string;
  periodStart: string;
  periodEnd: string;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, period_start::text AS "periodStart", period_end::text AS "periodEnd",
  executions_count::float8 AS runs, ingested_spans::float8 AS "ingestedSpans", input_tokens::float8 AS "inputTokens",
  output_tokens::float8 AS "outputTokens", tokens_used::float8 AS "tokensUsed", llm_cost_usd::text AS "llmCostUsd",
  storage_bytes::float8 AS "storageBytes", seats, created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function getUsageRecord(sql: Sql, orgId: string, periodStart: string): Promise<UsageRecordRow | undefined> {
  const r = await sql.query<UsageRecordRow>(`SELECT ${COLUMNS} FROM usage_records WHERE org_id = $1 AND period_start = $2`, [orgId, periodStart]);
  return r.rows[0];
}

/**
 * Writes the period's row, or rewrites the flows (runs, spans, tokens, cost)
 * of the one there: one row per organization and period however often it is
 * recorded. storage_bytes and seats keep their first measurement.
 */
export async function upsertUsageRecord(
  sql: Sql, orgId: string, id: string, periodStart: string, periodEnd: string, u: UsageFigures,
): Promise<UsageRecordRow> {
  const r = await sql.query<UsageRecordRow>(
    `INSERT INTO usage_records AS u (id, org_id, period_start, period_end, executions_count, ingested_spans, input_tokens,
       output_tokens, tokens_used, llm_cost_usd, storage_bytes, seats)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::numeric, $11, $12)
     ON CONFLICT (org_id, period_start, period_end) DO UPDATE SET
       executions_count = EXCLUDED.executions_count, ingested_spans = EXCLUDED.ingested_spans,
       input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens, tokens_used = EXCLUDED.tokens_used,
       llm_cost_usd = EXCLUDED.llm_cost_usd
     RETURNING ${COLUMNS}`,
    [id, orgId, periodStart, periodEnd, u.runs, u.ingestedSpans, u.inputTokens, u.outputTokens, u.tokensUsed, u.llmCostUsd,
      u.storageBytes, u.seats],
  );
  return r.rows[0]!;
}
