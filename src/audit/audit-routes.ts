import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../db/index.js';
import { badRequest } from '../errors.js';
import { principal } from '../http/context.js';
import { decodeCursor, page, pageQuery } from '../http/pagination.js';
import { listAudit } from './audit-repo.js';
import { verifyChain } from './verify.js';

const Cursor = z.object({ seq: z.number().int().positive() });

export function auditRoutes(deps: { db: Database }): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/audit', {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: "The organization's audit log, newest first",
        querystring: z.strictObject({
          ...pageQuery,
          action: z.string().min(1).max(100).optional(),
          resourceType: z.string().min(1).max(100).optional(),
          resourceId: z.string().min(1).max(255).optional(),
          userId: z.uuid().optional(),
          from: z.iso.datetime({ offset: true }).optional().describe('inclusive lower bound on createdAt'),
          to: z.iso.datetime({ offset: true }).optional().describe('exclusive upper bound on createdAt'),
        }),
      },
    }, async (req) => {
      const q = req.query;
      const from = q.from ? new Date(q.from) : undefined;
      const to = q.to ? new Date(q.to) : undefined;
      if (from && to && from >= to) throw badRequest('from must be before to', { field: 'from' });
      const c = decodeCursor(q.cursor, Cursor);
      const orgId = principal(req).orgId;
      const rows = await deps.db.tenant(orgId, (sql) =>
        listAudit(sql, orgId, {
          action: q.action,
          resourceType: q.resourceType,
          resourceId: q.resourceId,
          userId: q.userId,
          from,
          to,
          beforeSeq: c?.seq,
          limit: q.limit + 1,
        }),
      );
      return page(rows, q.limit, (x) => ({ seq: x.seq }));
    });

    r.get('/v1/audit/verify', {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: "Recompute the organization's hash chain; reports the first row that breaks it",
      },
    }, async (req) => verifyChain(deps.db, principal(req).orgId));
  };
}
