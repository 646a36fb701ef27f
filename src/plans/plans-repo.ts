import type { Sql } from '../db/index.js';
import type { PlanCore, PlanKind } from './plan-document.js';

/** One row of `plans` as the API shows it (content fields plus bookkeeping). */
export interface PlanRow extends PlanCore {
  id: string;
  kind: PlanKind;
  userId: string;
  templatePlanId: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  archivedAt: Date | null;
  deletedAt: Date | null;
}

export const cols = (p = '') => `${p}id, ${p}kind, ${p}user_id AS "userId", ${p}title, ${p}description, ${p}status,
  ${p}completion_percentage AS "completionPercentage", ${p}user_rating AS "userRating", ${p}user_feedback AS "userFeedback",
  ${p}plan_data AS "planData", ${p}is_template AS "isTemplate", ${p}is_public AS "isPublic", ${p}is_active AS "isActive",
  ${p}template_plan_id AS "templatePlanId", ${p}version, ${p}created_at AS "createdAt", ${p}updated_at AS "updatedAt",
  ${p}completed_at AS "completedAt", ${p}archived_at AS "archivedAt", ${p}deleted_at AS "deletedAt"`;
const COLUMNS = cols();

export async function insertPlan(
  sql: Sql, orgId: string, p: { id: string; userId: string; kind: PlanKind; core: PlanCore; templatePlanId: string | null; at: Date },
): Promise<PlanRow> {
  const c = p.core;
  const r = await sql.query<PlanRow>(
    `INSERT INTO plans (id, org_id, user_id, kind, title, description, status, completion_percentage, user_rating,
       user_feedback, plan_data, is_template, is_public, is_active, template_plan_id, version, created_at, updated_at,
       completed_at, archived_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::varchar, $8, $9, $10, $11::jsonb, $12, $13, $14, $15, 1, $16, $16,
       CASE WHEN $7::varchar = 'completed' THEN $16::timestamptz END, CASE WHEN $7::varchar = 'archived' THEN $16::timestamptz END)
     RETURNING ${COLUMNS}`,
    [p.id, orgId, p.userId, p.kind, c.title, c.description, c.status, c.completionPercentage, c.userRating, c.userFeedback,
      JSON.stringify(c.planData), c.isTemplate, c.isPublic, c.isActive, p.templatePlanId, p.at.toISOString()],
  );
  return r.rows[0]!;
}

export async function getPlan(sql: Sql, orgId: string, id: string): Promise<PlanRow | undefined> {
  const r = await sql.query<PlanRow>(`SELECT ${COLUMNS} FROM plans WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, [orgId, id]);
  return r.rows[0];
}

/** Locks the plan's row for a change: concurrent changes of one plan queue here. */
export async function lockPlan(sql: Sql, orgId: string, id: string): Promise<PlanRow | undefined> {
  const r = await sql.query<PlanRow>(`SELECT ${COLUMNS} FROM plans WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`, [orgId, id]);
  return r.rows[0];
}

/** Writes the content fields and moves the plan to `version` (completed_at/archived_at follow the status). */
export async function updatePlan(sql: Sql, orgId: string, id: string, c: PlanCore, version: number, at: Date): Promise<PlanRow> {
  const r = await sql.query<PlanRow>(
    `UPDATE plans SET title = $3, description = $4, status = $5::varchar, completion_percentage = $6, user_rating = $7,
       user_feedback = $8, plan_data = $9::jsonb, is_template = $10, is_public = $11, is_active = $12, version = $13,
       updated_at = $14,
       completed_at = CASE WHEN $5::varchar = 'completed' THEN coalesce(completed_at, $14::timestamptz) END,
       archived_at = CASE WHEN $5::varchar = 'archived' THEN coalesce(archived_at, $14::timestamptz) END
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, c.title, c.description, c.status, c.completionPercentage, c.userRating, c.userFeedback,
      JSON.stringify(c.planData), c.isTemplate, c.isPublic, c.isActive, version, at.toISOString()],
  );
  return r.rows[0]!;
}

export async function softDeletePlan(sql: Sql, orgId: string, id: string, at: Date): Promise<void> {
  await sql.query(`UPDATE plans SET deleted_at = $3, is_active = false WHERE org_id = $1 AND id = $2`, [orgId, id, at.toISOString()]);
}

export interface PlanFilter {
  kind?: string | undefined;
  status?: string | undefined;
  userId?: string | undefined;
  template?: boolean | undefined;
  /** travel plans: a destination named exactly so */
  destination?: string | undefined;
  /** travel plans: trips that overlap [startsBefore..endsAfter] */
  travelFrom?: string | undefined;
  travelTo?: string | undefined;
  before?: { createdAt: string; id: string } | undefined;
  limit: number;
}

/** Newest first along idx_plans_org_created; travel filters join travel_plans. */
export async function listPlans(sql: Sql, orgId: string, f: PlanFilter): Promise<PlanRow[]> {
  const travel = f.destination !== undefined || f.travelFrom !== undefined || f.travelTo !== undefined;
  const r = await sql.query<PlanRow>(
    `SELECT ${cols('p.')} FROM plans p
     ${travel ? 'JOIN travel_plans t ON t.org_id = p.org_id AND t.plan_id = p.id' : ''}
     WHERE p.org_id = $1 AND p.deleted_at IS NULL
       AND ($2::text IS NULL OR p.kind = $2) AND ($3::text IS NULL OR p.status = $3)
       AND ($4::uuid IS NULL OR p.user_id = $4) AND ($5::boolean IS NULL OR p.is_template = $5)
       ${f.destination !== undefined ? `AND t.destinations @> jsonb_build_array(jsonb_build_object('name', $9::text))` : 'AND $9::text IS NULL'}
       ${f.travelFrom !== undefined ? 'AND t.end_date >= $10::date' : 'AND $10::date IS NULL'}
       ${f.travelTo !== undefined ? 'AND t.start_date <= $11::date' : 'AND $11::date IS NULL'}
       AND ($6::timestamptz IS NULL OR (p.created_at, p.id) < ($6::timestamptz, $7::uuid))
     ORDER BY p.created_at DESC, p.id DESC LIMIT $8`,
    [orgId, f.kind ?? null, f.status ?? null, f.userId ?? null, f.template ?? null, f.before?.createdAt ?? null,
      f.before?.id ?? null, f.limit, f.destination ?? null, f.travelFrom ?? null, f.travelTo ?? null],
  );
  return r.rows;
}
