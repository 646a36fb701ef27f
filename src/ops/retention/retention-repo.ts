import type { Sql } from '../../db/index.js';
import { ident } from '../sql-ident.js';

export interface PolicyRow {
  category: string;
  days: number;
  updatedAt: Date;
}

export async function listPolicies(sql: Sql, orgId: string): Promise<PolicyRow[]> {
  const r = await sql.query<PolicyRow>(
    `SELECT category, days, updated_at AS "updatedAt" FROM retention_policies WHERE org_id = $1 ORDER BY category`,
    [orgId],
  );
  return r.rows;
}

export async function setPolicy(sql: Sql, orgId: string, category: string, days: number): Promise<void> {
  await sql.query(
    `INSERT INTO retention_policies (org_id, category, days) VALUES ($1, $2, $3)
     ON CONFLICT (org_id, category) DO UPDATE SET days = EXCLUDED.days, updated_at = now()`,
    [orgId, category, days],
  );
}

export async function clearPolicy(sql: Sql, orgId: string, category: string): Promise<void> {
  await sql.query(`DELETE FROM retention_policies WHERE org_id = $1 AND category = $2`, [orgId, category]);
}

// ---- owner role (maintenance)

/** Every organization's policies, for maintenance. */
export async function allPolicies(sql: Sql): Promise<Array<{ orgId: string; category: string; days: number }>> {
  const r = await sql.query<{ orgId: string; category: string; days: number }>(
    `SELECT org_id AS "orgId", category, days FROM retention_policies ORDER BY org_id, category`,
  );
  return r.rows;
}

/**
 * One bounded batch: the oldest rows of the organization older than the
 * cutoff. ctid is unique within one partition only, so the batch is matched
 * on (tableoid, ctid). agentbase.skip_rollups tells the rollup triggers (0028)
 * that these rows leave by retention, so the daily aggregates keep them.
 */
export async function deleteBatch(sql: Sql, table: string, timeColumn: string, orgId: string, cutoff: Date, limit: number): Promise<number> {
  const t = ident(table);
  const c = ident(timeColumn);
  await sql.query(`SELECT set_config('agentbase.skip_rollups', 'on', true)`);
  const r = await sql.query(
    `DELETE FROM ${t} WHERE (tableoid, ctid) IN (
       SELECT tableoid, ctid FROM ${t} WHERE org_id = $1 AND ${c} < $2 LIMIT $3)`,
    [orgId, cutoff.toISOString(), limit],
  );
  return r.rowCount;
}

/** One bounded batch of every organization's rows older than the cutoff (the platform's own period). */
export async function deleteBatchAllOrgs(sql: Sql, table: string, timeColumn: string, cutoff: Date, limit: number): Promise<number> {
  const t = ident(table);
  const c = ident(timeColumn);
  const r = await sql.query(
    `DELETE FROM ${t} WHERE (tableoid, ctid) IN (SELECT tableoid, ctid FROM ${t} WHERE ${c} < $1 LIMIT $2)`,
    [cutoff.toISOString(), limit],
  );
  return r.rowCount;
}
