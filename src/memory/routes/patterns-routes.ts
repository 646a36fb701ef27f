import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest } from '../../errors.js';
import { actor, principal } from '../../http/context.js';
import { JsonObject, MetadataObject } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as patterns from '../patterns-service.js';
import { PATTERN_SORTS, PATTERN_TYPES, sortKeyOf, type PatternSort, type PatternsDeps } from '../patterns-service.js';
import { IdParams, Instant, Label, Uuid } from './learning-schemas.js';

const PatternType = z.enum(PATTERN_TYPES);
const Sort = z.enum(Object.keys(PATTERN_SORTS) as [PatternSort, ...PatternSort[]]);
// A cursor carries its sort and a key of that sort's type, so it is refused (400) under another sort.
const Cursor = z.discriminatedUnion('s', [
  z.object({ s: z.literal('created'), k: Instant, id: Uuid }),
  z.object({ s: z.literal('accuracy'), k: z.number().min(-1).max(1), id: Uuid }),
  z.object({ s: z.literal('usage'), k: z.number().int().min(0).max(2_147_483_647), id: Uuid }),
]);
const Version = z.number().int().min(1).max(2_147_483_647).describe('the version you read; a stale one gets 409 version_conflict');

export function patternsRoutes(deps: PatternsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/patterns', {
      config: { permission: 'memory:write' },
      schema: {
        tags: ['patterns'],
        summary: 'Store a reusable cognitive pattern; its name is unique in the organization (409 if taken)',
        body: z.strictObject({
          type: PatternType.describe('the cognitive pattern it implements; agents whose cognitivePattern is this type use it by default'),
          name: Label(100),
          patternData: JsonObject,
          metadata: MetadataObject.optional(),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await patterns.createPattern(deps, actor(req), req.body)));

    r.get('/v1/patterns', {
      config: { permission: 'memory:read' },
      schema: {
        tags: ['patterns'],
        summary: 'Patterns of the organization: newest first (sort=created, the default), most accurate first (accuracy; '
          + 'never-used ones last) or most used first (usage)',
        querystring: z.strictObject({ ...pageQuery, type: PatternType.optional(), sort: Sort.default('created') }),
      },
    }, async (req) => {
      const q = req.query;
      const after = decodeCursor(q.cursor, Cursor);
      if (after && after.s !== q.sort) {
        throw badRequest(`this cursor is from a list sorted by ${after.s}; send sort=${after.s} with it, or start over without a cursor`, { field: 'cursor' });
      }
      const rows = await patterns.listPatterns(deps, principal(req).orgId, {
        type: q.type,
        sort: q.sort,
        after: after && { key: after.k, id: after.id },
        limit: q.limit + 1,
      });
      return page(rows, q.limit, (p) => ({ s: q.sort, k: sortKeyOf(p, q.sort), id: p.id }));
    });

    r.get('/v1/patterns/:id', {
      config: { permission: 'memory:read' },
      schema: { tags: ['patterns'], summary: 'One pattern', params: IdParams },
    }, async (req) => patterns.getPattern(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/patterns/:id', {
      config: { permission: 'memory:write' },
      schema: {
        tags: ['patterns'],
        summary: "Change a pattern's name, data or metadata; send the version you read (recording uses does not change it)",
        params: IdParams,
        body: z.strictObject({ version: Version, name: Label(100).optional(), patternData: JsonObject.optional(), metadata: MetadataObject.optional() }),
      },
    }, async (req) => patterns.updatePattern(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/patterns/:id', {
      config: { permission: 'memory:write' },
      schema: { tags: ['patterns'], summary: 'Delete a pattern; its uses and metrics stay, and its name is free again', params: IdParams },
    }, async (req, reply) => {
      await patterns.deletePattern(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
