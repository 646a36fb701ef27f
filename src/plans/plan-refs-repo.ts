import type { Sql } from '../db/index.js';

/**
 * Which of these ids are live plans of the transaction's organization: what
 * a run or an ingested item naming a planId is checked against (row-level
 * security makes another organization's plan read as missing).
 */
export async function findPlanRefs(sql: Sql, ids: readonly string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const r = await sql.query<{ id: string }>(`SELECT id FROM plans WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`, [ids]);
  return new Set(r.rows.map((x) => x.id));
}
