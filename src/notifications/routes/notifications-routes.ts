import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { principal } from '../../http/context.js';
import { Uuid } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { NotificationsDeps } from '../deps.js';
import * as notifications from '../notifications-service.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });
const Bool = z.enum(['true', 'false']).transform((v) => v === 'true');

/**
 * A signed-in user reads and marks only their own notifications, so these
 * routes need no permission: the filter is the caller's user id. API keys are
 * refused (403): a key acts for the user who made it, but holds no permission
 * that covers that person's inbox, and approval requests are addressed to people.
 */
export function notificationRoutes(deps: NotificationsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();
    // Before the query is parsed, like the permission check of app.ts.
    const usersOnly = async (req: FastifyRequest) => {
      if (principal(req).kind !== 'user') throw new AppError(403, 'forbidden', 'notifications are read by a signed-in user, not with an API key');
    };

    r.get('/v1/notifications', {
      onRequest: usersOnly,
      schema: {
        tags: ['notifications'],
        summary: "The signed-in user's notifications, newest first (API keys 403)",
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
      onRequest: usersOnly,
      schema: { tags: ['notifications'], summary: 'Mark one of your notifications read (signed-in users; API keys 403)', params: z.strictObject({ id: Uuid }) },
    }, async (req) => notifications.markRead(deps, principal(req), req.params.id));

    r.post('/v1/notifications/read-all', {
      onRequest: usersOnly,
      schema: { tags: ['notifications'], summary: 'Mark all your unread notifications read; answers how many changed (signed-in users; API keys 403)' },
    }, async (req) => notifications.markAllRead(deps, principal(req)));
  };
}
