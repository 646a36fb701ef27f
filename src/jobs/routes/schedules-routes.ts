import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { Uuid } from '../../http/json-schemas.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { JobsDeps } from '../deps.js';
import * as schedules from '../schedules-service.js';
import { ScheduleInput, ScheduleName, SchedulePatch } from '../schedules-schemas.js';

const Cursor = z.object({ name: ScheduleName });
const IdParams = z.strictObject({ id: Uuid });

/** Cron schedules: each enqueues one job per slot of its cron expression (see src/jobs/scheduler.ts). */
export function scheduleRoutes(deps: JobsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get('/v1/job-schedules', {
      config: { permission: 'jobs:read' },
      schema: { tags: ['jobs'], summary: 'Job schedules, by name', querystring: z.strictObject({ ...pageQuery }) },
    }, async (req) => {
      const q = req.query;
      const after = decodeCursor(q.cursor, Cursor);
      const rows = await schedules.listSchedules(deps, principal(req).orgId, { after: after?.name, limit: q.limit + 1 });
      return page(rows, q.limit, (s) => ({ name: s.name }));
    });

    r.post('/v1/job-schedules', {
      config: { permission: 'jobs:write' },
      schema: {
        tags: ['jobs'],
        summary: 'Create a schedule that enqueues a job at every slot of a 5-field cron expression (409 if the name is taken)',
        body: ScheduleInput,
      },
    }, async (req, reply) => reply.status(201).send(await schedules.createSchedule(deps, actor(req), req.body)));

    r.get('/v1/job-schedules/:id', {
      config: { permission: 'jobs:read' },
      schema: { tags: ['jobs'], summary: 'One job schedule, with its next and last run', params: IdParams },
    }, async (req) => schedules.getSchedule(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/job-schedules/:id', {
      config: { permission: 'jobs:write' },
      schema: {
        tags: ['jobs'],
        summary: 'Change a schedule; a new cron, time zone or re-enabling moves the next run to the first slot from now',
        params: IdParams,
        body: SchedulePatch,
      },
    }, async (req) => schedules.updateSchedule(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/job-schedules/:id', {
      config: { permission: 'jobs:write' },
      schema: { tags: ['jobs'], summary: 'Delete a schedule; the jobs it enqueued stay', params: IdParams },
    }, async (req, reply) => {
      await schedules.deleteSchedule(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
