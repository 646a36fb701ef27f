import { uuidv7, type Sql } from '../../db/index.js';

/** A project (seed 004), as the API shows it. */
export interface ProjectRow {
  id: string;
  userId: string;
  name: string;
  description: string | null;
  color: string | null;
  archivedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** The fields a create or an update writes. */
export interface ProjectFields {
  name: string;
  description: string | null;
  color: string | null;
  archivedAt: Date | null;
}

const COLUMNS = `id, user_id AS "userId", name, description, color, archived_at AS "archivedAt",
  created_at AS "createdAt", updated_at AS "updatedAt", version`;

/** Timestamps are written at millisecond precision, so a (createdAt, id) cursor read back from JSON is exact. */
export async function insertProject(sql: Sql, orgId: string, userId: string, f: ProjectFields, at: Date): Promise<ProjectRow> {
  const r = await sql.query<ProjectRow>(
    `INSERT INTO projects (id, org_id, user_id, name, description, color, archived_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ${COLUMNS}`,
    [uuidv7(), orgId, userId, f.name, f.description, f.color, f.archivedAt?.toISOString() ?? null, at.toISOString()],
  );
  return r.rows[0]!;
}

/** A live (not deleted) project; `lock` takes its row lock for an update. */
export async function getProject(sql: Sql, orgId: string, id: string, lock = false): Promise<ProjectRow | undefined> {
  const r = await sql.query<ProjectRow>(
    `SELECT ${COLUMNS} FROM projects WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [orgId, id],
  );
  return r.rows[0];
}

export interface ProjectFilter {
  userId?: string | undefined;
  /** include archived projects (default: only active ones) */
  archived?: boolean | undefined;
  before?: { createdAt: string; id: string } | undefined;
  limit: number;
}

/** Newest first, along idx_projects_org_created (or idx_projects_user_updated's org/user prefix). */
export async function listProjects(sql: Sql, orgId: string, f: ProjectFilter): Promise<ProjectRow[]> {
  const r = await sql.query<ProjectRow>(
    `SELECT ${COLUMNS} FROM projects
     WHERE org_id = $1 AND deleted_at IS NULL
       AND ($2::uuid IS NULL OR user_id = $2)
       AND ($3::boolean OR archived_at IS NULL)
       AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $6`,
    [orgId, f.userId ?? null, f.archived ?? false, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

/** Writes the fields and moves the version by one (the caller holds the row lock and checked the version). */
export async function updateProject(sql: Sql, orgId: string, id: string, f: ProjectFields, at: Date): Promise<ProjectRow> {
  const r = await sql.query<ProjectRow>(
    `UPDATE projects SET name = $3, description = $4, color = $5, archived_at = $6, updated_at = $7, version = version + 1
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, f.name, f.description, f.color, f.archivedAt?.toISOString() ?? null, at.toISOString()],
  );
  return r.rows[0]!;
}

export async function softDeleteProject(sql: Sql, orgId: string, id: string, at: Date): Promise<void> {
  await sql.query(
    `UPDATE projects SET deleted_at = $3, updated_at = $3, version = version + 1 WHERE org_id = $1 AND id = $2`,
    [orgId, id, at.toISOString()],
  );
}
