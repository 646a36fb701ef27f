import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actor, principal } from '../../http/context.js';
import { decodeCursor, page, pageQuery } from '../../http/pagination.js';
import type { AgentsDeps } from '../deps.js';
import { TOOL_TYPES } from '../tool-config.js';
import * as tools from '../tools-service.js';
import { IdParams, JsonObject, Text, Version } from './schemas.js';

const Cursor = z.object({ id: z.uuid() });
const ToolName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-zA-Z][a-zA-Z0-9_-]*$/, 'a letter, then letters, digits, "_" and "-" (models call tools by this name)');

const fields = {
  description: Text(10_000).refine((s) => s.trim().length > 0, 'must not be empty'),
  toolType: z.enum(TOOL_TYPES),
  config: JsonObject.describe('api: {url, method}; mcp: {serverUrl} or {command}; integration: {integrationId}; function: anything'),
  inputSchema: JsonObject.describe('JSON Schema of the arguments (draft-07 unless $schema says 2019-09 or 2020-12)'),
  outputSchema: JsonObject.nullable().describe('JSON Schema of the result'),
  isActive: z.boolean(),
};

export function toolRoutes(deps: AgentsDeps): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post('/v1/tools', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['tools'],
        summary: 'Define a tool agents can use; its schemas must compile as JSON Schema (strict)',
        body: z.strictObject({
          name: ToolName,
          description: fields.description,
          toolType: fields.toolType,
          config: fields.config.optional(),
          inputSchema: fields.inputSchema,
          outputSchema: fields.outputSchema.optional(),
          isActive: fields.isActive.optional(),
        }),
      },
    }, async (req, reply) => reply.status(201).send(await tools.createTool(deps, actor(req), req.body)));

    r.get('/v1/tools', {
      config: { permission: 'agents:read' },
      schema: {
        tags: ['tools'],
        summary: 'Tools of the organization, newest first',
        querystring: z.strictObject({ ...pageQuery, toolType: z.enum(TOOL_TYPES).optional() }),
      },
    }, async (req) => {
      const before = decodeCursor(req.query.cursor, Cursor);
      const rows = await tools.listTools(deps, principal(req).orgId, { toolType: req.query.toolType, beforeId: before?.id, limit: req.query.limit + 1 });
      return page(rows, req.query.limit, (t) => ({ id: t.id }));
    });

    r.get('/v1/tools/:id', {
      config: { permission: 'agents:read' },
      schema: { tags: ['tools'], summary: 'One tool', params: IdParams },
    }, async (req) => tools.getTool(deps, principal(req).orgId, req.params.id));

    r.patch('/v1/tools/:id', {
      config: { permission: 'agents:write' },
      schema: {
        tags: ['tools'],
        summary: 'Change a tool; send the version you read. Published agent versions keep their own copy',
        params: IdParams,
        body: z.strictObject({
          version: Version,
          name: ToolName.optional(),
          description: fields.description.optional(),
          toolType: fields.toolType.optional(),
          config: fields.config.optional(),
          inputSchema: fields.inputSchema.optional(),
          outputSchema: fields.outputSchema.optional(),
          isActive: fields.isActive.optional(),
        }),
      },
    }, async (req) => tools.updateTool(deps, actor(req), req.params.id, req.body));

    r.delete('/v1/tools/:id', {
      config: { permission: 'agents:write' },
      schema: { tags: ['tools'], summary: 'Delete a tool; refused (409) while an agent lists it', params: IdParams },
    }, async (req, reply) => {
      await tools.deleteTool(deps, actor(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
