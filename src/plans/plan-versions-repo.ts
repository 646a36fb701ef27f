import type { Sql } from '../db/index.js';
import type { PlanDocument } from './plan-document.js';

/** One immutable version of a plan (plan_versions): its whole document and what changed. */
export interface PlanVersionRow {
  planId: string;
  version: number;
  summary: string;
  restoredFrom: number | null;
  createdByUserId: string | null;
  createdByApiKeyId: string | null;
  createdAt: Date;
}
export interface PlanVersionWithDocument extends PlanVersionRow {
  document: PlanDocument;
}

const COLUMNS = `plan_id AS "planId", version, summary, restored_from AS "restoredFrom", created_by_user_id AS "createdByUserId",
  created_by_api_key_id AS "createdByApiKeyId", created_at AS "createdAt"`;

export async function insertVersion(
  sql: Sql,
  orgId: string,
  v: { planId: string; version: number; document: PlanDocument; summary: string; restoredFrom: number | null; userId: string | null; apiKeyId: string | null; at: Date },
): Promise<PlanVersionRow> {
  const r = await sql.query<PlanVersionRow>(
    `INSERT INTO plan_versions (org_id, plan_id, version, document, summary, restored_from, created_by_user_id, created_by_api_key_id, created_at)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
    [orgId, v.planId, v.version, JSON.stringify(v.document), v.summary, v.restoredFrom, v.userId, v.apiKeyId, v.at.toISOString()],
  );
  return r.rows[0]!;
}

export async function getVersion(sql: Sql, orgId: string, planId: string, version: number): Promise<PlanVersionWithDocument | undefined> {
  const r = await sql.query<PlanVersionWithDocument>(
    `SELECT ${COLUMNS}, document FROM plan_versions WHERE org_id = $1 AND plan_id = $2 AND version = $3`,
    [orgId, planId, version],
  );
  return r.rows[0];
}

/** Newest first, without documents (a plan may have hundreds of versions). */
export async function listVersions(sql: Sql, orgId: string, planId: string, f: { beforeVersion?: number | undefined; limit: number }): Promise<PlanVersionRow[]> {
  const r = await sql.query<PlanVersionRow>(
    `SELECT ${COLUMNS} FROM plan_versions WHERE org_id = $1 AND plan_id = $2 AND ($3::int IS NULL OR version < $3)
     ORDER BY version DESC LIMIT $4`,
    [orgId, planId, f.beforeVersion ?? null, f.limit],
  );
  return r.rows;
}
