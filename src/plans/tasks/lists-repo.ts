import { uuidv7, type Sql } from '../../db/index.js';

/** A list of tasks (seed 004), in a project or on its own, as the API shows it. */
export interface ListRow {
  id: string;
  userId: string;
  projectId: string | null;
  name: string;
  listOrder: number | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface ListFields {
  projectId: string | null;
  name: string;
  listOrder: number | null;
}

const COLUMNS = `id, user_id AS "userId", project_id AS "projectId", name, list_order AS "listOrder",
  created_at AS "createdAt", updated_at AS "updatedAt", version`;

export async function insertList(sql: Sql, orgId: string, userId: string, f: ListFields, at: Date): Promise<ListRow> {
  const r = await sql.query<ListRow>(
    `INSERT INTO lists (id, org_id, user_id, project_id, name, list_order, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ${COLUMNS}`,
    [uuidv7(), orgId, userId, f.projectId, f.name, f.listOrder, at.toISOString()],
  );
  return r.rows[0]!;
}

/** A live list; `lock` takes its row lock (the lock that orders every change of its task positions). */
export async function getList(sql: Sql, orgId: string, id: string, lock = false): Promise<ListRow | undefined> {
  const r = await sql.query<ListRow>(
    `SELECT ${COLUMNS} FROM lists WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [orgId, id],
  );
  return r.rows[0];
}

export interface ListFilter {
  projectId?: string | undefined;
  before?: { createdAt: string; id: string } | undefined;
  limit: number;
}

/** Newest first. */
export async function listLists(sql: Sql, orgId: string, f: ListFilter): Promise<ListRow[]> {
  const r = await sql.query<ListRow>(
    `SELECT ${COLUMNS} FROM lists
     WHERE org_id = $1 AND deleted_at IS NULL
       AND ($2::uuid IS NULL OR project_id = $2)
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $5`,
    [orgId, f.projectId ?? null, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}

export async function updateList(sql: Sql, orgId: string, id: string, f: ListFields, at: Date): Promise<ListRow> {
  const r = await sql.query<ListRow>(
    `UPDATE lists SET project_id = $3, name = $4, list_order = $5, updated_at = $6, version = version + 1
     WHERE org_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [orgId, id, f.projectId, f.name, f.listOrder, at.toISOString()],
  );
  return r.rows[0]!;
}

/** The live lists of a project, locked in id order (the order every position change locks lists in). */
export async function lockProjectLists(sql: Sql, orgId: string, projectId: string): Promise<string[]> {
  const r = await sql.query<{ id: string }>(
    `SELECT id FROM lists WHERE org_id = $1 AND project_id = $2 AND deleted_at IS NULL ORDER BY id FOR UPDATE`,
    [orgId, projectId],
  );
  return r.rows.map((x) => x.id);
}

/** Soft-deletes lists; returns how many. */
export async function softDeleteLists(sql: Sql, orgId: string, ids: readonly string[], at: Date): Promise<number> {
  if (!ids.length) return 0;
  const r = await sql.query(
    `UPDATE lists SET deleted_at = $3, updated_at = $3, version = version + 1
     WHERE org_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL`,
    [orgId, ids, at.toISOString()],
  );
  return r.rowCount;
}
