import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { Uuid } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { JobsDeps } from '../deps.js';
import * as jobs from '../jobs-service.js';
import { JOB_STATUSES, QueueName } from '../jobs-schemas.js';
import { orgQueueDepth } from '../queue-depth.js';

const Cursor = z.object({ id: Uuid });
const IdParams = z.strictObject({ id: Uuid });

/** jobs:read and jobs:write (migration 0012): viewers read, members act, as for executions. */
export function jobRoutes(deps: JobsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/jobs', {
      config: { permission: 'jobs:read' },
      schema: {
        tags: ['jobs'],
        summary: 'Background jobs, newest first',
        querystring: z.strictObject({ status: z.enum(JOB_STATUSES).optional(), queue: QueueName.optional(), ...pageQuery }),
      },
    }, async (req) => {
      const q = req.query;
      const after = decodeCursor(q.cursor, Cursor);
      const rows = await jobs.listJobs(deps, principal(req).orgId, { status: q.status, queue: q.queue, after: after?.id, limit: q.limit + 1 });
      return page(rows, q.limit, (j) => ({ id: j.id }));
    });

    r.get('/v1/jobs/depth', {
      config: { permission: 'jobs:read' },
      schema: {
        tags: ['jobs'],
        summary: "The organization's unfinished jobs by queue and task: ready (claimable now), scheduled (run_at ahead), running, and how long the oldest ready one has waited",
        querystring: z.strictObject({}),
      },
    }, async (req) => ({ data: await orgQueueDepth(deps.db, principal(req).orgId) }));

    r.get('/v1/jobs/:id', {
      config: { permission: 'jobs:read' },
      schema: { tags: ['jobs'], summary: 'One job: status, attempts, last error and result', params: IdParams },
    }, async (req) => jobs.getJob(deps, principal(req).orgId, req.params.id));

    r.post('/v1/jobs/:id/cancel', {
      config: { permission: 'jobs:write' },
      schema: { tags: ['jobs'], summary: 'Cancel a job that has not started (409 otherwise)', params: IdParams },
    }, async (req) => jobs.cancelJob(deps, actor(req), req.params.id));

    r.post('/v1/jobs/:id/redrive', {
      config: { permission: 'jobs:write' },
      schema: { tags: ['jobs'], summary: 'Queue a dead job again with its attempts reset (409 if it is not dead)', params: IdParams },
    }, async (req) => jobs.redriveJob(deps, actor(req), req.params.id));
  };
}
