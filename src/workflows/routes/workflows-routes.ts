import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { WorkflowsDeps } from '../deps.js';
import * as service from '../workflows-service.js';
import { WORKFLOW_STATUSES } from '../workflows-repo.js';
import { Description, IdParams, Name, Steps, Uuid, Version, VersionParam } from './schemas.js';

const Cursor = z.object({ id: Uuid });
const VersionCursor = z.object({ version: z.number().int().min(1) });

export function workflowRoutes(deps: WorkflowsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/workflows', {
      config: { permission: 'workflows:write' },
      schema: {
        tags: ['workflows'],
        summary: 'Create a workflow (version 1); a definition with a cycle, a dangling reference or an unknown agent/tool is refused naming the step',
        body: z.strictObject({ name: Name, description: Description.optional(), steps: Steps, status: z.enum(['draft', 'active']).optional() }),
      },
    }, async (req, reply) => reply.status(201).send(await service.createWorkflow(deps, actor(req), req.body)));

    r.get('/v1/workflows', {
      config: { permission: 'workflows:read' },
      schema: {
        tags: ['workflows'],
        summary: 'Workflows of the organization, newest first',
        querystring: z.strictObject({ status: z.enum(WORKFLOW_STATUSES).optional(), ...pageQuery }),
      },
    }, async (req) => {
      const q = req.query;
      const before = decodeCursor(q.cursor, Cursor);
      const rows = await service.listWorkflows(deps, principal(req).orgId, { status: q.status, beforeId: before?.id, limit: q.limit + 1 });
      return page(rows, q.limit, (w) => ({ id: w.id }));
    });

    r.get('/v1/workflows/:id', {
      config: { permission: 'workflows:read' },
      schema: { tags: ['workflows'], summary: 'One workflow: its current definition', params: IdParams },
    }, async (req) => service.getWorkflow(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/workflows/:id', {
      config: { permission: 'workflows:write' },
      schema: {
        tags: ['workflows'],
        summary: 'Change a workflow (a new version); send the version you read. Runs already started keep their version',
        params: IdParams,
        body: z.strictObject({
          version: Version, name: Name.optional(), description: Description.optional(), steps: Steps.optional(), status: z.enum(WORKFLOW_STATUSES).optional(),
        }),
      },
    }, async (req) => service.updateWorkflow(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/workflows/:id', {
      config: { permission: 'workflows:write' },
      schema: { tags: ['workflows'], summary: 'Delete a workflow (409 while it has unfinished runs); its runs and versions stay', params: IdParams },
    }, async (req, reply) => {
      await service.deleteWorkflow(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });

    r.get('/v1/workflows/:id/versions', {
      config: { permission: 'workflows:read' },
      schema: { tags: ['workflows'], summary: "A workflow's saved versions, newest first", params: IdParams, querystring: z.strictObject({ ...pageQuery }) },
    }, async (req) => {
      const before = decodeCursor(req.query.cursor, VersionCursor);
      const rows = await service.listWorkflowVersions(deps, principal(req).orgId, req.params.id, { beforeVersion: before?.version, limit: req.query.limit + 1 });
      return page(rows, req.query.limit, (v) => ({ version: v.version }));
    });

    r.get('/v1/workflows/:id/versions/:version', {
      config: { permission: 'workflows:read' },
      schema: { tags: ['workflows'], summary: 'One saved version of a workflow', params: z.strictObject({ id: Uuid, version: VersionParam }) },
    }, async (req) => service.getWorkflowVersion(deps, principal(req).orgId, req.params.id, req.params.version));
  };
}
