import type { Sql } from '../../db/index.js';

/** Comments on a plan (plan_comments): by a member, or through a share with the comment permission. */
export interface CommentRow {
  id: string;
  planId: string;
  planVersion: number;
  shareId: string | null;
  userId: string | null;
  authorName: string | null;
  body: string;
  createdAt: Date;
}

const COMMENT_COLUMNS = `id, plan_id AS "planId", plan_version AS "planVersion", share_id AS "shareId", user_id AS "userId",
  author_name AS "authorName", body, created_at AS "createdAt"`;

export async function insertComment(
  sql: Sql, orgId: string, c: { id: string; planId: string; planVersion: number; shareId: string | null; userId: string | null; authorName: string | null; body: string; at: Date },
): Promise<CommentRow> {
  const r = await sql.query<CommentRow>(
    `INSERT INTO plan_comments (id, org_id, plan_id, plan_version, share_id, user_id, author_name, body, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COMMENT_COLUMNS}`,
    [c.id, orgId, c.planId, c.planVersion, c.shareId, c.userId, c.authorName, c.body, c.at.toISOString()],
  );
  return r.rows[0]!;
}

export async function listComments(
  sql: Sql, orgId: string, planId: string, f: { before?: { createdAt: string; id: string } | undefined; limit: number },
): Promise<CommentRow[]> {
  const r = await sql.query<CommentRow>(
    `SELECT ${COMMENT_COLUMNS} FROM plan_comments WHERE org_id = $1 AND plan_id = $2
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $5`,
    [orgId, planId, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return r.rows;
}
