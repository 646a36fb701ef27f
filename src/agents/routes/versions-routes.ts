import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { AgentsDeps } from '../deps.js';
import * as versions from '../versions-service.js';
import { AgentParams, AgentRef, Semver, Text } from './schemas.js';

const Cursor = z.object({ id: z.uuid() });
const VersionParams = z.strictObject({ id: AgentRef, version: Semver });

export function versionRoutes(deps: AgentsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/agents/:id/versions', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['agent versions'],
        summary: "Publish the agent's configuration (tool definitions included) as an immutable version and make it current (unless makeCurrent is false)",
        params: AgentParams,
        body: z.strictObject({
          version: Semver.describe('semantic version, greater than every existing one'),
          changelog: Text(10_000).nullable().optional(),
          makeCurrent: z.boolean().optional().describe('false: publish a candidate that runs only when named (a run\'s version, an eval run) until promoted (POST …/versions/{v}/promote); default true'),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await versions.publishVersion(deps, actor(req), req.params.id, req.body)));

    r.get('/v1/agents/:id/versions', {
      config: { permission: 'agents:read' },
      schema: { tags: ['agent versions'], summary: 'Versions of an agent, newest first', params: AgentParams, querystring: z.strictObject(pageQuery) },
    }, async (req) => {
      const before = decodeCursor(req.query.cursor, Cursor);
      const rows = await versions.listVersions(deps, principal(req).orgId, req.params.id, { beforeId: before?.id, limit: req.query.limit + 1 });
      return page(rows, req.query.limit, (v) => ({ id: v.id }));
    });

    r.get('/v1/agents/:id/versions/:version', {
      config: { permission: 'agents:read' },
      schema: { tags: ['agent versions'], summary: 'One version with its full configuration snapshot', params: VersionParams },
    }, async (req) => versions.getAgentVersion(deps, principal(req).orgId, req.params.id, req.params.version));

    r.get('/v1/agents/:id/versions/:version/diff/:to', {
      config: { permission: 'agents:read' },
      schema: {
        tags: ['agent versions'],
        summary: 'Field-by-field differences between two versions: [{field, from, to}]',
        params: z.strictObject({ id: AgentRef, version: Semver, to: Semver }),
      },
    }, async (req) => versions.diffVersions(deps, principal(req).orgId, req.params.id, req.params.version, req.params.to));

    r.post('/v1/agents/:id/rollback', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['agent versions'],
        summary: 'Make another existing version current; no version changes',
        params: AgentParams,
        body: z.strictObject({ version: Semver }),
      },
    }, async (req) => versions.rollbackAgent(deps, actor(req), req.params.id, req.body.version));
  };
}
