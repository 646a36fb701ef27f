import type { Sql } from '../db/index.js';

/** A notification as its recipient sees it. */
export interface NotificationRow {
  id: string;
  kind: string;
  title: string;
  body: string | null;
  data: Record<string, unknown>;
  resourceType: string | null;
  resourceId: string | null;
  readAt: Date | null;
  createdAt: Date;
}

export interface NewNotification {
  id: string;
  userId: string;
  kind: string;
  title: string;
  body: string | null;
  data: Record<string, unknown>;
  resourceType: string | null;
  resourceId: string | null;
  /** the partition key; millisecond precision, so a cursor carrying it is exact */
  createdAt: Date;
}

const COLUMNS = `id, kind, title, body, data, resource_type AS "resourceType", resource_id AS "resourceId",
  read_at AS "readAt", created_at AS "createdAt"`;

/** One statement for every recipient (the rows travel as one JSON parameter). */
export async function insertNotifications(sql: Sql, orgId: string, rows: NewNotification[]): Promise<NotificationRow[]> {
  if (!rows.length) return [];
  const r = await sql.query<NotificationRow>(
    `INSERT INTO notifications (id, org_id, user_id, kind, title, body, data, resource_type, resource_id, created_at)
     SELECT x.id, $1, x."userId", x.kind, x.title, x.body, coalesce(x.data, '{}'), x."resourceType", x."resourceId", x."createdAt"
     FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, "userId" uuid, kind text, title text, body text, data jsonb,
       "resourceType" text, "resourceId" uuid, "createdAt" timestamptz)
     RETURNING ${COLUMNS}`,
    [orgId, JSON.stringify(rows.map((n) => ({ ...n, createdAt: n.createdAt.toISOString() })))],
  );
  return r.rows;
}

export interface NotificationFilter {
  unread: boolean;
  /** keyset: rows strictly older than this (created_at, id) */
  before?: { createdAt: string; id: string };
  limit: number;
}

/**
 * The recipient's notifications, newest first: a range of
 * idx_notifications_user (org_id, user_id, created_at DESC, id DESC), or of
 * idx_notifications_unread when only unread ones are asked for.
 */
export async function listNotifications(sql: Sql, orgId: string, userId: string, f: NotificationFilter): Promise<NotificationRow[]> {
  const params: unknown[] = [orgId, userId, f.limit];
  const where = ['org_id = $1', 'user_id = $2'];
  if (f.unread) where.push('read_at IS NULL');
  if (f.before) {
    params.push(f.before.createdAt, f.before.id);
    where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  const r = await sql.query<NotificationRow>(
    `SELECT ${COLUMNS} FROM notifications WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $3`,
    params,
  );
  return r.rows;
}

/** Marks one of the recipient's notifications read (keeping the first read time); undefined when it is not theirs. */
export async function markRead(sql: Sql, orgId: string, userId: string, id: string): Promise<NotificationRow | undefined> {
  const r = await sql.query<NotificationRow>(
    `UPDATE notifications SET read_at = coalesce(read_at, now())
     WHERE id = $3 AND org_id = $1 AND user_id = $2 RETURNING ${COLUMNS}`,
    [orgId, userId, id],
  );
  return r.rows[0];
}

/** Marks every unread notification of the recipient read; returns how many. */
export async function markAllRead(sql: Sql, orgId: string, userId: string): Promise<number> {
  const r = await sql.query(`UPDATE notifications SET read_at = now() WHERE org_id = $1 AND user_id = $2 AND read_at IS NULL`, [
    orgId,
    userId,
  ]);
  return r.rowCount;
}
