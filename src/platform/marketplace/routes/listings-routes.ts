import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { MarketplaceDeps } from '../deps.js';
import * as listings from '../listings-service.js';
import { IdParams, ListingPatchBody, ListingStatusQuery, NewListingBody, Uuid, Version } from './schemas.js';

const Cursor = z.object({ createdAt: z.iso.datetime({ offset: true }), id: Uuid });

/** The organization's own listings: /v1/marketplace/listings. */
export function listingRoutes(deps: MarketplaceDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/marketplace/listings', {
      config: { permission: 'marketplace:write' },
      schema: {
        tags: ['marketplace'],
        summary: 'Publish a version of one of your agents as a marketplace listing (a draft; secrets are stripped from what it publishes)',
        body: NewListingBody,
      },
    }, async (req, reply) => {
      const { agent, agentVersion, ...fields } = req.body;
      return reply.status(201).send(await listings.createListing(deps, actor(req), { agent, agentVersion, ...fields }));
    });

    r.get('/v1/marketplace/listings', {
      config: { permission: 'marketplace:read' },
      schema: {
        tags: ['marketplace'],
        summary: 'The organization\'s own listings, newest first, in every status',
        querystring: z.strictObject({ ...pageQuery, status: ListingStatusQuery.optional() }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await listings.listListings(deps, principal(req).orgId, { status: q.status, before: decodeCursor(q.cursor, Cursor), limit: q.limit + 1 });
      return page(rows, q.limit, (l) => ({ createdAt: new Date(l.createdAt).toISOString(), id: l.id }));
    });

    r.get('/v1/marketplace/listings/:id', {
      config: { permission: 'marketplace:read' },
      schema: { tags: ['marketplace'], summary: 'One of the organization\'s listings, with what it publishes (config) and its review notes', params: IdParams },
    }, async (req) => listings.getListing(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/marketplace/listings/:id', {
      config: { permission: 'marketplace:write' },
      schema: {
        tags: ['marketplace'],
        summary: 'Change a listing; an approved listing goes back to pending_review (and leaves the marketplace until approved again)',
        params: IdParams,
        body: ListingPatchBody,
      },
    }, async (req) => listings.updateListing(deps, actor(req), req.params.id, req.body));

    r.post('/v1/marketplace/listings/:id/submit', {
      config: { permission: 'marketplace:write' },
      schema: {
        tags: ['marketplace'],
        summary: 'Submit a draft (or rejected) listing for review by the platform',
        params: IdParams,
        body: z.strictObject({ version: Version }),
      },
    }, async (req) => listings.submitListing(deps, actor(req), req.params.id, req.body.version));

    r.delete('/v1/marketplace/listings/:id', {
      config: { permission: 'marketplace:write' },
      schema: { tags: ['marketplace'], summary: 'Withdraw a listing (soft delete); copies already installed stay with their installers', params: IdParams },
    }, async (req, reply) => {
      await listings.deleteListing(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
