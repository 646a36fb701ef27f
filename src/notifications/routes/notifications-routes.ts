import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principal } from '../../http/context.js';
import { Uuid } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { NotificationsDeps } from '../deps.js';
import * as notifications from '../notifications-service.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });
const Bool = z.enum(['true', 'false']).transform((v) => v === 'true');

/**
 * Every authenticated caller reads and marks only their own notifications, so
 * these routes need no permission: the filter is the caller's user id.
 */
export function notificationRoutes(deps: NotificationsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/notifications', {
      schema: {
        tags: ['notifications'],
        summary: "The caller's notifications, newest first",
        querystring: z.strictObject({ unread: Bool.optional().describe('true: only unread ones'), ...pageQuery }),
      },
    }, async (req) => {
      const q = req.query;
      const p = principal(req);
      const before = decodeCursor(q.cursor, Cursor);
      const rows = await notifications.listNotifications(deps, p, { unread: q.unread ?? false, before, limit: q.limit + 1 });
      return page(rows, q.limit, (n) => ({ createdAt: new Date(n.createdAt).toISOString(), id: n.id }));
    });

    r.post('/v1/notifications/:id/read', {
      schema: { tags: ['notifications'], summary: 'Mark one of your notifications read', params: z.strictObject({ id: Uuid }) },
    }, async (req) => notifications.markRead(deps, principal(req), req.params.id));

    r.post('/v1/notifications/read-all', {
      schema: { tags: ['notifications'], summary: 'Mark all your unread notifications read; answers how many changed' },
    }, async (req) => notifications.markAllRead(deps, principal(req)));
  };
}
