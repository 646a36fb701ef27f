import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as plans from '../plans-service.js';
import type { PlansDeps } from '../plans-service.js';
import { ExpectedVersion, IdParams, Uuid, VersionNumber } from './plan-schemas.js';

const Cursor = z.object({ version: z.number().int().min(1) });
const VersionParams = z.strictObject({ id: Uuid, n: VersionNumber });

export function planVersionsRoutes(deps: PlansDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/plans/:id/versions', {
      config: { permission: 'plans:read' },
      schema: { tags: ['plans'], summary: "A plan's versions, newest first, each with what changed (without documents)", params: IdParams, querystring: z.strictObject(pageQuery) },
    }, async (req) => {
      const q = req.query;
      const rows = await plans.listVersions(deps, principal(req).orgId, req.params.id, {
        beforeVersion: decodeCursor(q.cursor, Cursor)?.version, limit: q.limit + 1,
      });
      return page(rows, q.limit, (v) => ({ version: v.version }));
    });

    r.get('/v1/plans/:id/versions/:n', {
      config: { permission: 'plans:read' },
      schema: { tags: ['plans'], summary: 'One version of a plan with its whole document', params: VersionParams },
    }, async (req) => plans.getVersion(deps, principal(req).orgId, req.params.id, req.params.n));

    r.get('/v1/plans/:id/diff', {
      config: { permission: 'plans:read' },
      schema: {
        tags: ['plans'],
        summary: 'What changed between two versions: an RFC 6902 JSON Patch from `from` to `to`, and a summary in words',
        params: IdParams,
        querystring: z.strictObject({ from: VersionNumber, to: VersionNumber }),
      },
    }, async (req) => plans.diffVersions(deps, principal(req).orgId, req.params.id, req.query.from, req.query.to));

    r.post('/v1/plans/:id/versions/:n/restore', {
      config: { permission: 'plans:write' },
      schema: {
        tags: ['plans'],
        summary: 'Restore version n as the next version (the versions in between stay in the history)',
        params: VersionParams,
        body: z.strictObject({ version: ExpectedVersion }),
      },
    }, async (req) => plans.restoreVersion(deps, actor(req), req.params.id, req.params.n, req.body.version));
  };
}
