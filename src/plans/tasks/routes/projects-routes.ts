import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../../http/pagination.js';
import type { TasksDeps } from '../deps.js';
import * as projects from '../projects-service.js';
import { changesSomething, Color, CreatedCursor, Description, IdParams, Name, NOTHING_TO_CHANGE, QueryBool, Uuid, Version } from './task-schemas.js';

export function projectsRoutes(deps: TasksDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/projects', {
      config: { permission: 'tasks:write' },
      schema: {
        tags: ['tasks'],
        summary: 'Create a project',
        body: z.strictObject({
          name: Name(255).describe('1..255 characters'),
          description: Description.nullable().optional().describe('free text'),
          color: Color.nullable().optional().describe('#rrggbb'),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await projects.createProject(deps, actor(req), req.body)));

    r.get('/v1/projects', {
      config: { permission: 'tasks:read' },
      schema: {
        tags: ['tasks'],
        summary: 'Projects of the organization, newest first',
        querystring: z.strictObject({
          ...pageQuery,
          userId: Uuid.optional().describe('only projects this user created'),
          archived: QueryBool.optional().describe('true: archived projects too (default false)'),
        }),
      },
    }, async (req) => {
      const q = req.query;
      const rows = await projects.listProjects(deps, principal(req).orgId, {
        userId: q.userId, archived: q.archived, before: decodeCursor(q.cursor, CreatedCursor), limit: q.limit + 1,
      });
      return page(rows, q.limit, (p) => ({ createdAt: new Date(p.createdAt).toISOString(), id: p.id }));
    });

    r.get('/v1/projects/:id', {
      config: { permission: 'tasks:read' },
      schema: { tags: ['tasks'], summary: 'One project', params: IdParams },
    }, async (req) => projects.getProject(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/projects/:id', {
      config: { permission: 'tasks:write' },
      schema: {
        tags: ['tasks'],
        summary: 'Change a project (optimistic lock: send the version you read)',
        params: IdParams,
        body: z.strictObject({
          version: Version,
          name: Name(255).optional().describe('1..255 characters'),
          description: Description.nullable().optional().describe('free text; null clears it'),
          color: Color.nullable().optional().describe('#rrggbb; null clears it'),
          archived: z.boolean().optional().describe('true archives the project, false restores it'),
        }).refine(changesSomething, NOTHING_TO_CHANGE),
      },
    }, async (req) => projects.updateProject(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/projects/:id', {
      config: { permission: 'tasks:write' },
      schema: { tags: ['tasks'], summary: 'Delete a project with its lists and tasks (soft delete)', params: IdParams },
    }, async (req, reply) => {
      await projects.deleteProject(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
