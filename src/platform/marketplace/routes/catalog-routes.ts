import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest } from '../../../errors.js';
import { actor, principal } from '../../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import { Text } from '../../../http/json-schemas.js';
import * as catalog from '../catalog-service.js';
import type { MarketplaceDeps } from '../deps.js';
import * as installs from '../install-service.js';
import * as reviews from '../reviews-service.js';
import { Category, PriceCents, RefParams, ReviewBody, Tag, Uuid } from './schemas.js';

const BrowseCursor = z.object({ r: z.number().optional(), p: z.iso.datetime({ offset: true }).optional(), id: Uuid });
const ReviewCursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });
const InstallCursor = z.object({ installedAt: z.iso.datetime({ offset: true }), id: Uuid });

/** Browsing, installing and reviewing: /v1/marketplace. */
export function catalogRoutes(deps: MarketplaceDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/marketplace', {
      config: { permission: 'marketplace:read' },
      schema: {
        tags: ['marketplace'],
        summary: 'Approved listings of every organization: full-text search (q, best match first) or newest first, by category and tag',
        querystring: z.strictObject({
          ...pageQuery,
          q: Text(500).trim().min(1).optional().describe('words to search for (web-search syntax: "quoted phrase", -excluded, or)'),
          category: Category.optional(),
          tag: Tag.optional(),
        }),
      },
    }, async (req) => {
      const q = req.query;
      const after = decodeCursor(q.cursor, BrowseCursor);
      if (after && (q.q !== undefined) !== (after.r !== undefined)) {
        throw badRequest('cursor belongs to another query; pass nextCursor with the same q, category and tag', { field: 'cursor' });
      }
      const rows = await catalog.browseListings(deps, principal(req).orgId, {
        q: q.q, category: q.category, tag: q.tag, limit: q.limit + 1,
        after: after && { id: after.id, rank: after.r, publishedAt: after.p },
      });
      const res = page(rows, q.limit, (l) => (q.q !== undefined ? { r: l.rank, id: l.id } : { p: new Date(l.publishedAt).toISOString(), id: l.id }));
      return { ...res, data: res.data.map(({ rank, ...l }) => (q.q !== undefined ? { ...l, rank } : l)) };
    });

    r.get('/v1/marketplace/installs', {
      config: { permission: 'marketplace:read' },
      schema: { tags: ['marketplace'], summary: 'The organization\'s installs, newest first', querystring: z.strictObject({ ...pageQuery }) },
    }, async (req) => {
      const q = req.query;
      const rows = await installs.listInstalls(deps, principal(req).orgId, decodeCursor(q.cursor, InstallCursor), q.limit + 1);
      return page(rows, q.limit, (i) => ({ installedAt: new Date(i.installedAt).toISOString(), id: i.id }));
    });

    r.get('/v1/marketplace/:ref', {
      config: { permission: 'marketplace:read' },
      schema: { tags: ['marketplace'], summary: 'One approved listing, by id or slug', params: RefParams },
    }, async (req) => catalog.getPublicListing(deps, principal(req).orgId, req.params.ref));

    r.get('/v1/marketplace/:ref/reviews', {
      config: { permission: 'marketplace:read' },
      schema: {
        tags: ['marketplace'],
        summary: 'An approved listing\'s reviews, newest first (who wrote them is not shown)',
        params: RefParams,
        querystring: z.strictObject({ ...pageQuery }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await catalog.listPublicReviews(deps, principal(req).orgId, req.params.ref, decodeCursor(q.cursor, ReviewCursor), q.limit + 1);
      return page(rows, q.limit, (x) => ({ createdAt: new Date(x.createdAt).toISOString(), id: x.id }));
    });

    r.post('/v1/marketplace/:ref/install', {
      config: { permission: 'marketplace:write' },
      schema: {
        tags: ['marketplace'],
        summary: 'Install a listing: a new agent (and its tools) in this organization, published and active; secrets are never copied',
        params: RefParams,
        body: z.strictObject({ acceptPriceCents: PriceCents.optional().describe('a paid listing\'s price, to accept it') }).nullish(),
      },
    }, async (req, reply) => reply.status(201).send(await installs.installListing(deps, actor(req), req.params.ref, req.body ?? {})));

    r.post('/v1/marketplace/:ref/reviews', {
      config: { permission: 'marketplace:write' },
      schema: {
        tags: ['marketplace'],
        summary: 'Review a listing this organization installed (1–5); writing again replaces the organization\'s review (200)',
        params: RefParams,
        body: ReviewBody,
      },
    }, async (req, reply) => {
      const b = req.body;
      const { created, ...row } = await reviews.writeReview(deps, actor(req), req.params.ref, { rating: b.rating, title: b.title ?? null, body: b.body ?? null });
      return reply.status(created ? 201 : 200).send(row);
    });

    r.get('/v1/marketplace/:ref/review', {
      config: { permission: 'marketplace:read' },
      schema: { tags: ['marketplace'], summary: 'This organization\'s review of a listing', params: RefParams },
    }, async (req) => reviews.getOwnReview(deps, principal(req).orgId, req.params.ref));

    r.delete('/v1/marketplace/:ref/review', {
      config: { permission: 'marketplace:write' },
      schema: { tags: ['marketplace'], summary: 'Delete this organization\'s review of a listing', params: RefParams },
    }, async (req, reply) => {
      await reviews.deleteOwnReview(deps, actor(req), req.params.ref);
      return reply.status(204).send();
    });
  };
}
