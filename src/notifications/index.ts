import type { FastifyPluginAsync } from 'fastify';
import type { NotificationsDeps } from './deps.js';
import { notificationRoutes } from './routes/notifications-routes.js';

/**
 * Terminology:
 * - notification: a message to one user of one organization (seed 003 REQ-T140),
 *                 created by the module whose event needs that user (a workflow
 *                 approval waiting for them, a run they started that failed).
 * - kind:         what the notification is about, lower-case and dotted
 *                 (workflow.approval, workflow.failed); `data` carries the details.
 * - resource:     the thing to open (resource_type + resource_id), e.g. a
 *                 workflow_execution.
 * - read:         read_at is set once, by the recipient; unread ones are those
 *                 without it.
 *
 * Partitioned by month on created_at; the recipient's list is a range of
 * (org_id, user_id, created_at DESC, id DESC), which keeps retrieval within the
 * seed's 100 ms whatever the table's size.
 */

export type { NotificationsDeps } from './deps.js';
export type { NotificationRow } from './notifications-repo.js';
export { notifyIn, listNotifications, markRead, markAllRead, type Notify, type Recipient } from './notifications-service.js';

export function notificationsRoutes(deps: NotificationsDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(notificationRoutes(deps));
  };
}
