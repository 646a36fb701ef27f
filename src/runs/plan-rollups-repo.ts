import type { Sql } from '../db/index.js';

/**
 * What the runs module knows about plans: the cost and tokens of each plan
 * (from the ledger's daily roll-up, dimension 'plan', which the ledger's
 * statement-level trigger keeps per batch, so reading it never slows ingest
 * and it agrees with the ledger to the cent) and how many executions,
 * decisions and messages name it. The plans module shows these; it never
 * reads runs' tables itself.
 */
export interface PlanRollup {
  costUsd: number;
  totalTokens: number;
  promptTokens: number;
  completionTokens: number;
  /** priced llm spans */
  spans: number;
  executions: number;
}

export async function planRollups(sql: Sql, orgId: string, planIds: readonly string[]): Promise<Map<string, PlanRollup>> {
  const out = new Map<string, PlanRollup>();
  if (!planIds.length) return out;
  const r = await sql.query<PlanRollup & { planId: string }>(
    `SELECT p.id AS "planId",
       coalesce(c.cost, 0)::float8 AS "costUsd", coalesce(c.total, 0)::float8 AS "totalTokens",
       coalesce(c.prompt, 0)::float8 AS "promptTokens", coalesce(c.completion, 0)::float8 AS "completionTokens",
       coalesce(c.spans, 0)::float8 AS spans, coalesce(e.n, 0)::float8 AS executions
     FROM unnest($2::uuid[]) AS p(id)
     LEFT JOIN LATERAL (
       SELECT sum(cost_usd) AS cost, sum(total_tokens) AS total, sum(prompt_tokens) AS prompt,
         sum(completion_tokens) AS completion, sum(spans) AS spans
       FROM cost_daily WHERE org_id = $1 AND dimension = 'plan' AND key = p.id::text
     ) c ON true
     LEFT JOIN LATERAL (SELECT count(*) AS n FROM executions WHERE org_id = $1 AND plan_id = p.id) e ON true`,
    [orgId, planIds],
  );
  for (const { planId, ...rest } of r.rows) out.set(planId, rest);
  return out;
}

export interface PlanActivity {
  decisions: number;
  messages: number;
  /** the sessions its executions ran in (ids, or keys ingested before sessions were one notion), most recent first, at most 100 */
  sessions: string[];
}

/** Counts of a plan's decisions and messages between agents, and its sessions (one plan's page). */
export async function planActivity(sql: Sql, orgId: string, planId: string): Promise<PlanActivity> {
  const r = await sql.query<PlanActivity>(
    `SELECT (SELECT count(*) FROM agent_decisions WHERE org_id = $1 AND plan_id = $2)::float8 AS decisions,
       (SELECT count(*) FROM agent_communications WHERE org_id = $1 AND plan_id = $2)::float8 AS messages,
       ARRAY(SELECT s.session_id FROM (
         SELECT session_id, max(created_at) AS at FROM executions
         WHERE org_id = $1 AND plan_id = $2 AND session_id IS NOT NULL GROUP BY session_id
       ) s ORDER BY s.at DESC LIMIT 100) AS sessions`,
    [orgId, planId],
  );
  return r.rows[0]!;
}
