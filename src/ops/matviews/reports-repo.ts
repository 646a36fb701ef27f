import type { Sql } from '../../db/index.js';

/**
 * Tenant reads of the materialized views, always through the report_* views
 * of migration 0027 (the app role holds nothing on the materialized views
 * themselves), inside the caller's tenant transaction.
 */

/** by → the report view and its key column: an allow-list. */
export const DAILY_COST_VIEWS = {
  agent: { view: 'report_agent_daily_costs', key: 'agent_id', matview: 'mv_agent_daily_costs' },
  plan: { view: 'report_plan_daily_costs', key: 'plan_id', matview: 'mv_plan_daily_costs' },
} as const;
export type DailyCostsBy = keyof typeof DAILY_COST_VIEWS;

export interface DailyCostRow {
  /** the agent or plan; null for ledger rows with no agent */
  id: string | null;
  day: string;
  costUsd: number;
  alternativeCostUsd: number;
  savingsUsd: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  llmCalls: number;
  /** by=agent: executions started that day, and those completed */
  executions?: number;
  completedExecutions?: number;
  /** by=plan: users whose calls worked on the plan that day */
  users?: number;
}

/** Whether the materialized view holds rows yet (a read of an unpopulated one is an error). */
export async function populated(sql: Sql, matview: string): Promise<boolean> {
  const r = await sql.query<{ p: boolean | null }>(
    `SELECT (SELECT ispopulated FROM pg_matviews WHERE schemaname = 'public' AND matviewname = $1) AS p`, [matview]);
  return r.rows[0]!.p === true;
}

export async function refreshedAt(sql: Sql, matview: string): Promise<Date | null> {
  const r = await sql.query<{ t: Date | null }>(`SELECT matview_refreshed_at($1) AS t`, [matview]);
  const t = r.rows[0]!.t;
  return t === null ? null : new Date(t);
}

export async function dailyCosts(
  sql: Sql, by: DailyCostsBy, q: { from: string; to: string; id?: string | undefined; limit: number },
): Promise<DailyCostRow[]> {
  const { view, key } = DAILY_COST_VIEWS[by];
  const extra = by === 'agent'
    ? `, executions::float8 AS executions, completed_executions::float8 AS "completedExecutions"`
    : `, users::float8 AS users`;
  const r = await sql.query<DailyCostRow>(
    `SELECT ${key}::text AS id, day::text AS day, cost_usd::float8 AS "costUsd",
       alternative_cost_usd::float8 AS "alternativeCostUsd", savings_usd::float8 AS "savingsUsd",
       prompt_tokens::float8 AS "promptTokens", completion_tokens::float8 AS "completionTokens",
       total_tokens::float8 AS "totalTokens", llm_calls::float8 AS "llmCalls"${extra}
     FROM ${view}
     WHERE day >= $1::date AND day <= $2::date AND ($3::uuid IS NULL OR ${key} = $3::uuid)
     ORDER BY day, ${key} NULLS FIRST
     LIMIT $4`,
    [q.from, q.to, q.id ?? null, q.limit],
  );
  return r.rows;
}

export interface AgentPerformanceRow {
  agentId: string | null;
  modelProvider: string | null;
  modelName: string | null;
  executions: number;
  avgExecutionTimeMs: number | null;
  p95ExecutionTimeMs: number | null;
  avgTokens: number | null;
  avgCostUsd: number | null;
  totalCostUsd: number;
  successRate: number | null;
}

export async function agentPerformance(sql: Sql, agentId: string | undefined, limit: number): Promise<AgentPerformanceRow[]> {
  const r = await sql.query<AgentPerformanceRow>(
    `SELECT agent_id::text AS "agentId", model_provider AS "modelProvider", model_name AS "modelName",
       execution_count::float8 AS executions, avg_execution_time_ms AS "avgExecutionTimeMs",
       p95_execution_time_ms AS "p95ExecutionTimeMs", avg_tokens AS "avgTokens", avg_cost_usd::float8 AS "avgCostUsd",
       total_cost_usd::float8 AS "totalCostUsd", success_rate AS "successRate"
     FROM report_agent_performance
     WHERE ($1::uuid IS NULL OR agent_id = $1::uuid)
     ORDER BY execution_count DESC, agent_id NULLS FIRST, model_provider NULLS FIRST, model_name NULLS FIRST
     LIMIT $2`,
    [agentId ?? null, limit],
  );
  return r.rows;
}
