import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { TasksDeps } from '../deps.js';
import * as lists from '../lists-service.js';
import { changesSomething, CreatedCursor, IdParams, ListOrder, Name, NOTHING_TO_CHANGE, Uuid, Version } from './task-schemas.js';

export function listsRoutes(deps: TasksDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/lists', {
      config: { permission: 'tasks:write' },
      schema: {
        tags: ['tasks'],
        summary: 'Create a list of tasks, in a project or on its own',
        body: z.strictObject({
          name: Name(255).describe('1..255 characters'),
          projectId: Uuid.nullable().optional().describe('the project it belongs to; none by default'),
          listOrder: ListOrder.nullable().optional().describe("its place among the project's lists"),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await lists.createList(deps, actor(req), req.body)));

    r.get('/v1/lists', {
      config: { permission: 'tasks:read' },
      schema: {
        tags: ['tasks'],
        summary: 'Lists of the organization, newest first',
        querystring: z.strictObject({ ...pageQuery, projectId: Uuid.optional().describe("only this project's lists") }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await lists.listLists(deps, principal(req).orgId, {
        projectId: q.projectId, before: decodeCursor(q.cursor, CreatedCursor), limit: q.limit + 1,
      });
      return page(rows, q.limit, (l) => ({ createdAt: new Date(l.createdAt).toISOString(), id: l.id }));
    });

    r.get('/v1/lists/:id', {
      config: { permission: 'tasks:read' },
      schema: { tags: ['tasks'], summary: 'One list', params: IdParams },
    }, async (req) => lists.getList(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/lists/:id', {
      config: { permission: 'tasks:write' },
      schema: {
        tags: ['tasks'],
        summary: 'Change a list (optimistic lock: send the version you read); its tasks follow it to another project',
        params: IdParams,
        body: z.strictObject({
          version: Version,
          name: Name(255).optional().describe('1..255 characters'),
          projectId: Uuid.nullable().optional().describe('another project, or null for none'),
          listOrder: ListOrder.nullable().optional().describe("its place among the project's lists"),
        }).refine(changesSomething, NOTHING_TO_CHANGE),
      },
    }, async (req) => lists.updateList(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/lists/:id', {
      config: { permission: 'tasks:write' },
      schema: { tags: ['tasks'], summary: 'Delete a list with its tasks (soft delete)', params: IdParams },
    }, async (req, reply) => {
      await lists.deleteList(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
