import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import * as capabilities from '../capabilities-service.js';
import type { AgentsDeps } from '../deps.js';
import { AgentParams, AgentRef } from './schemas.js';

const Capability = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits, "_", ".", ":" and "-", starting with a letter or digit');
const CapabilityParams = z.strictObject({ id: AgentRef, capability: Capability });
const Cursor = z.object({ capability: Capability });

export function capabilityRoutes(deps: AgentsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.put('/v1/agents/:id/capabilities/:capability', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['agent capabilities'],
        summary: "Set an agent's proficiency in a capability (201 when new, 200 when changed)",
        params: CapabilityParams,
        body: z.strictObject({ proficiency: z.number().min(0).max(1).describe('0..1, stored with two decimals') }),
      },
    }, async (req, reply) => {
      const out = await capabilities.setCapability(deps, actor(req), req.params.id, req.params.capability, req.body.proficiency);
      return reply.status(out.created ? 201 : 200).send(out.capability);
    });

    r.get('/v1/agents/:id/capabilities', {
      config: { permission: 'agents:read' },
      schema: { tags: ['agent capabilities'], summary: "An agent's capabilities by name", params: AgentParams, querystring: z.strictObject(pageQuery) },
    }, async (req) => {
      const after = decodeCursor(req.query.cursor, Cursor);
      const rows = await capabilities.listCapabilities(deps, principal(req).orgId, req.params.id, {
        after: after?.capability,
        limit: req.query.limit + 1,
      });
      return page(rows, req.query.limit, (c) => ({ capability: c.capability }));
    });

    r.delete('/v1/agents/:id/capabilities/:capability', {
      config: { permission: 'agents:write' },
      schema: { tags: ['agent capabilities'], summary: 'Remove a capability from an agent', params: CapabilityParams },
    }, async (req, reply) => {
      await capabilities.removeCapability(deps, actor(req), req.params.id, req.params.capability);
      return reply.status(204).send();
    });
  };
}
