import type { Sql } from '../db/index.js';

/**
 * Roll-ups of an execution's subtree: itself, its children, their children…
 * through parent_execution_id. One recursive statement walks the tree down
 * the idx_executions_parent index (one probe per node and partition: a child
 * may carry any created_at, so the walk cannot prune by time) and sums the
 * executions' own totals. Those are the sums of their ledger rows (kept so by
 * ingestion's roll-up), or what the client reported for an execution none of
 * whose spans was priced; the execution rows are read anyway, so the ledger
 * is not read a second time.
 */

/** How deep and how wide a roll-up walks; past either it reports truncated. */
export const SUBTREE_MAX_DEPTH = 32;
export const SUBTREE_MAX_EXECUTIONS = 1000;

export interface Totals {
  costUsd: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
}

export interface SubtreeTotals extends Totals {
  /** executions counted, the root included */
  executions: number;
  /** how many levels below the root were reached (0: no children) */
  depth: number;
  /** the walk stopped at SUBTREE_MAX_DEPTH or SUBTREE_MAX_EXECUTIONS: the totals are a lower bound */
  truncated: boolean;
}

export interface ChildExecution extends Totals {
  id: string;
  clientId: string | null;
  agentId: string | null;
  /** null when the agent was deleted or is not one of the organization's */
  agentSlug: string | null;
  agentName: string | null;
  status: string;
  createdAt: Date;
  subtree: Omit<SubtreeTotals, 'truncated'>;
}

export interface Subtree {
  subtree: SubtreeTotals;
  children: ChildExecution[];
}

interface Row extends Totals {
  total: boolean;
  branch: string | null;
  executions: number;
  depth: number;
  truncated: boolean;
  clientId: string | null;
  agentId: string | null;
  agentSlug: string | null;
  agentName: string | null;
  status: string | null;
  createdAt: Date | null;
  ownCostUsd: number | null;
  ownPromptTokens: number | null;
  ownCompletionTokens: number | null;
  ownCachedTokens: number | null;
  ownCacheWriteTokens: number | null;
  ownReasoningTokens: number | null;
  ownTotalTokens: number | null;
}

const SUMS = `sum(cost_usd)::float8 AS "costUsd", sum(prompt_tokens)::float8 AS "promptTokens",
  sum(completion_tokens)::float8 AS "completionTokens", sum(cached_tokens)::float8 AS "cachedTokens",
  sum(cache_write_tokens)::float8 AS "cacheWriteTokens", sum(reasoning_tokens)::float8 AS "reasoningTokens",
  sum(total_tokens)::float8 AS "totalTokens"`;

/**
 * The subtree's totals and its direct children, each with the totals of its
 * own subtree (branch: the depth-1 ancestor every row carries down). The
 * root is given by id and created_at (one partition). A recursive CTE
 * produces rows level by level, so the LIMIT cuts the deepest levels first
 * and stops the walk itself; one level past the depth bound is read only to
 * learn whether there was more.
 *
 * parent_execution_id is single-valued, so a node can be reached twice only
 * through a cycle back to the root (an update may re-parent an execution):
 * excluding the root's id is enough to end every cycle.
 */
export async function subtreeOf(sql: Sql, id: string, createdAt: Date): Promise<Subtree | undefined> {
  const r = await sql.query<Row>(
    `WITH RECURSIVE tree AS (
       SELECT e.org_id, e.id, e.client_id, e.agent_id, e.status, e.created_at, NULL::uuid AS branch, 0 AS depth,
         e.cost_usd, e.prompt_tokens, e.completion_tokens, e.cached_tokens, e.cache_write_tokens, e.reasoning_tokens, e.total_tokens
       FROM executions e WHERE e.id = $1 AND e.created_at = $2
       UNION ALL
       SELECT c.org_id, c.id, c.client_id, c.agent_id, c.status, c.created_at, coalesce(t.branch, c.id), t.depth + 1,
         c.cost_usd, c.prompt_tokens, c.completion_tokens, c.cached_tokens, c.cache_write_tokens, c.reasoning_tokens, c.total_tokens
       FROM tree t JOIN executions c ON c.org_id = t.org_id AND c.parent_execution_id = t.id
       WHERE t.depth <= $3::int AND c.id <> $1
     ), walked AS MATERIALIZED (
       SELECT w.*, row_number() OVER () AS n FROM (SELECT * FROM tree LIMIT $4::int + 1) w
     ), kept AS (
       SELECT * FROM walked WHERE n <= $4 AND depth <= $3
     ), g AS (
       SELECT grouping(branch) = 0 AND branch IS NULL AS root_only, grouping(branch) = 1 AS total, branch,
         count(*)::int AS executions, (max(depth) - min(depth))::int AS depth, ${SUMS}
       FROM kept GROUP BY GROUPING SETS ((branch), ())
     )
     SELECT g.total, g.branch, g.executions, g.depth, g."costUsd", g."promptTokens", g."completionTokens", g."cachedTokens",
       g."cacheWriteTokens", g."reasoningTokens", g."totalTokens",
       (SELECT count(*) > count(*) FILTER (WHERE n <= $4 AND depth <= $3) FROM walked) AS truncated,
       d.client_id AS "clientId", d.agent_id AS "agentId", a.slug AS "agentSlug", a.name AS "agentName", d.status,
       d.created_at AS "createdAt", d.cost_usd::float8 AS "ownCostUsd", d.prompt_tokens AS "ownPromptTokens",
       d.completion_tokens AS "ownCompletionTokens", d.cached_tokens AS "ownCachedTokens",
       d.cache_write_tokens AS "ownCacheWriteTokens", d.reasoning_tokens AS "ownReasoningTokens",
       d.total_tokens AS "ownTotalTokens"
     FROM g
     LEFT JOIN kept d ON d.id = g.branch AND d.depth = 1
     LEFT JOIN agents a ON a.id = d.agent_id AND a.deleted_at IS NULL
     WHERE NOT g.root_only
     ORDER BY g.total DESC, d.created_at, d.id`,
    [id, createdAt.toISOString(), SUBTREE_MAX_DEPTH, SUBTREE_MAX_EXECUTIONS],
  );
  const total = r.rows.find((x) => x.total);
  if (!total) return undefined;
  const totals = (x: Row): Totals => ({
    costUsd: x.costUsd, promptTokens: x.promptTokens, completionTokens: x.completionTokens, cachedTokens: x.cachedTokens,
    cacheWriteTokens: x.cacheWriteTokens, reasoningTokens: x.reasoningTokens, totalTokens: x.totalTokens,
  });
  return {
    subtree: { executions: total.executions, depth: total.depth, ...totals(total), truncated: total.truncated },
    children: r.rows.filter((x) => !x.total && x.branch).map((x) => ({
      id: x.branch!, clientId: x.clientId, agentId: x.agentId, agentSlug: x.agentSlug, agentName: x.agentName,
      status: x.status!, createdAt: x.createdAt!,
      costUsd: x.ownCostUsd!, promptTokens: x.ownPromptTokens!, completionTokens: x.ownCompletionTokens!,
      cachedTokens: x.ownCachedTokens!, cacheWriteTokens: x.ownCacheWriteTokens!, reasoningTokens: x.ownReasoningTokens!,
      totalTokens: x.ownTotalTokens!,
      subtree: { executions: x.executions, depth: x.depth, ...totals(x) },
    })),
  };
}
