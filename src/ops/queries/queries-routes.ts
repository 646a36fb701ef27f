import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../db/index.js';
import { meta, principal } from '../../http/context.js';
import { platformAdminOnly } from '../../platform/index.js';
import { QUERY_SORTS, type QuerySort } from './query-stats-repo.js';
import { resetQueryStats, topQueries } from './query-stats-service.js';

export interface QueriesDeps {
  db: Database;
}

export const QUERIES_MAX_LIMIT = 100;

const SORTS = Object.keys(QUERY_SORTS) as [QuerySort, ...QuerySort[]];

/**
 * Staff routes: the statements this database spends its time on. Platform
 * administrators only (403 platform_admin_required for anyone else, API keys
 * included); statement text is normalised by PostgreSQL (constants become $n).
 */
export function queriesRoutes(deps: QueriesDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/ops/queries', {
      ...platformAdminOnly(deps.db),
      schema: {
        tags: ['ops'],
        summary: 'Platform admins: the top statements of this database from pg_stat_statements (409 pg_stat_statements_unavailable without it)',
        querystring: z.strictObject({
          sort: z.enum(SORTS).default('total').describe('total: total execution time; mean: mean execution time; calls: number of calls'),
          limit: z.coerce.number().int().min(1).max(QUERIES_MAX_LIMIT).default(20).describe(`1..${QUERIES_MAX_LIMIT}`),
        }),
      },
    }, async (req) => topQueries(deps.db, req.query.sort, req.query.limit));

    r.post('/v1/ops/queries/reset', {
      ...platformAdminOnly(deps.db),
      schema: {
        tags: ['ops'],
        summary: 'Platform admins: reset this database\'s pg_stat_statements counters (recorded in the platform audit)',
      },
    }, async (req) => resetQueryStats(deps.db, { userId: principal(req).userId, requestId: meta(req).requestId }));
  };
}
