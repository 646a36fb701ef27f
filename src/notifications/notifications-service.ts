import { uuidv7, type Sql } from '../db/index.js';
import { notFound } from '../errors.js';
import type { NotificationsDeps } from './deps.js';
import * as repo from './notifications-repo.js';
import type { NotificationFilter, NotificationRow } from './notifications-repo.js';

export interface Notify {
  userId: string;
  /** lower-case dotted, e.g. workflow.approval (the table's CHECK) */
  kind: string;
  title: string;
  body?: string | null;
  data?: Record<string, unknown>;
  resourceType?: string | null;
  resourceId?: string | null;
}

/** Who is reading: notifications are always the caller's own. */
export interface Recipient {
  orgId: string;
  userId: string;
}

/**
 * Creates notifications inside the caller's tenant transaction, so they exist
 * exactly when the change that asked for them commits. One row per recipient;
 * a recipient named twice is notified once.
 */
export async function notifyIn(sql: Sql, orgId: string, items: Notify[], now: Date = new Date()): Promise<NotificationRow[]> {
  const seen = new Set<string>();
  const rows: repo.NewNotification[] = [];
  for (const n of items) {
    const dedupe = `${n.userId}\u0000${n.kind}\u0000${n.resourceId ?? ''}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    rows.push({
      id: uuidv7(),
      userId: n.userId,
      kind: n.kind,
      title: n.title.slice(0, 255),
      body: n.body ?? null,
      data: n.data ?? {},
      resourceType: n.resourceType ?? null,
      resourceId: n.resourceId ?? null,
      createdAt: now,
    });
  }
  return repo.insertNotifications(sql, orgId, rows);
}

export function listNotifications(deps: NotificationsDeps, who: Recipient, f: NotificationFilter): Promise<NotificationRow[]> {
  return deps.db.tenant(who.orgId, (sql) => repo.listNotifications(sql, who.orgId, who.userId, f));
}

/** Another user's notification is 404, like one that does not exist. */
export function markRead(deps: NotificationsDeps, who: Recipient, id: string): Promise<NotificationRow> {
  return deps.db.tenant(who.orgId, async (sql) => {
    const row = await repo.markRead(sql, who.orgId, who.userId, id);
    if (!row) throw notFound('notification', id);
    return row;
  });
}

export function markAllRead(deps: NotificationsDeps, who: Recipient): Promise<{ updated: number }> {
  return deps.db.tenant(who.orgId, async (sql) => ({ updated: await repo.markAllRead(sql, who.orgId, who.userId) }));
}
