import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { AgentsDeps } from '../deps.js';
import * as states from '../states-service.js';
import { AgentParams, AgentRef, JsonObject, Uuid } from './schemas.js';

const Cursor = z.object({ id: z.uuid() });
const StateParams = z.strictObject({ id: AgentRef, stateId: Uuid });
const CheckpointType = z
  .string()
  .min(1)
  .max(50)
  .regex(/^[a-z][a-z0-9_-]*$/, 'lower-case letters, digits, "_" and "-", starting with a letter')
  .refine((s) => s !== states.RESTORE_CHECKPOINT, 'restore checkpoints are made by POST /v1/agents/:id/states/:stateId/restore');

export function stateRoutes(deps: AgentsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/agents/:id/states', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['agent states'],
        summary: "Save a checkpoint of an agent's working state",
        params: AgentParams,
        body: z.strictObject({ checkpointType: CheckpointType.describe('e.g. manual, auto, pre_deploy'), stateData: JsonObject }),
      },
    }, async (req, reply) => reply.status(201).send(await states.createCheckpoint(deps, actor(req), req.params.id, req.body)));

    r.get('/v1/agents/:id/states', {
      config: { permission: 'agents:read' },
      schema: { tags: ['agent states'], summary: "An agent's checkpoints, newest first", params: AgentParams, querystring: z.strictObject(pageQuery) },
    }, async (req) => {
      const before = decodeCursor(req.query.cursor, Cursor);
      const rows = await states.listCheckpoints(deps, principal(req).orgId, req.params.id, { beforeId: before?.id, limit: req.query.limit + 1 });
      return page(rows, req.query.limit, (s) => ({ id: s.id }));
    });

    r.get('/v1/agents/:id/states/latest', {
      config: { permission: 'agents:read' },
      schema: { tags: ['agent states'], summary: "An agent's newest checkpoint", params: AgentParams },
    }, async (req) => states.latestCheckpoint(deps, principal(req).orgId, req.params.id));

    r.get('/v1/agents/:id/states/:stateId', {
      config: { permission: 'agents:read' },
      schema: { tags: ['agent states'], summary: 'One checkpoint', params: StateParams },
    }, async (req) => states.getCheckpoint(deps, principal(req).orgId, req.params.id, req.params.stateId));

    r.post('/v1/agents/:id/states/:stateId/restore', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['agent states'],
        summary: 'Restore a checkpoint: appends a copy of it (checkpointType "restore") that becomes the latest',
        params: StateParams,
        body: z.strictObject({}).nullish(),
      },
    }, async (req, reply) => reply.status(201).send(await states.restoreCheckpoint(deps, actor(req), req.params.id, req.params.stateId)));
  };
}
