import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor } from '../../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import { Text } from '../../../http/json-schemas.js';
import { platformAdminOnly } from '../../admins/index.js';
import type { MarketplaceDeps } from '../deps.js';
import { LISTING_STATUSES } from '../listings-repo.js';
import * as queue from '../review-queue-service.js';
import { IdParams, Uuid } from './schemas.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });
// "pending" is the short name of pending_review in this query.
const StatusQuery = z.enum([...LISTING_STATUSES, 'pending']).default('pending_review')
  .transform((s) => (s === 'pending' ? 'pending_review' : s));

/**
 * The platform admins' review routes. No organization permission applies;
 * platformAdminOnly answers 403 platform_admin_required to anyone else.
 */
export function adminRoutes(deps: MarketplaceDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/admin/marketplace/listings', {
      ...platformAdminOnly(deps.db),
      schema: {
        tags: ['admin'],
        summary: 'Platform admins: listings in one status (default pending_review, oldest first), with what each would publish',
        querystring: z.strictObject({ ...pageQuery, status: StatusQuery }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await queue.reviewQueue(deps, q.status, decodeCursor(q.cursor, Cursor), q.limit + 1);
      return page(rows, q.limit, (l) => ({ createdAt: new Date(l.createdAt).toISOString(), id: l.id }));
    });

    r.post('/v1/admin/marketplace/listings/:id/review', {
      ...platformAdminOnly(deps.db),
      schema: {
        tags: ['admin'],
        summary: 'Platform admins: approve or reject a pending listing, with the reason the publisher will read',
        params: IdParams,
        body: z.strictObject({
          decision: z.enum(['approve', 'reject']),
          reason: Text(5000).trim().min(1).describe('why; the publisher reads it as the listing\'s reviewNotes'),
        }),
      },
    }, async (req) => {
      const { orgId: _org, ...admin } = actor(req);
      return queue.reviewListing(deps, admin, req.params.id, req.body);
    });
  };
}
