import { appendAudit, type Actor } from '../audit/index.js';
import { isPgError } from '../db/index.js';
import { conflict, notFound, validationFailed, versionConflict } from '../errors.js';
import type { Sql } from '../db/index.js';
import { agentsUsingTool } from './agents-repo.js';
import type { AgentsDeps } from './deps.js';
import { assertJsonSchema } from './json-schema.js';
import { assertToolConfig, toolIntegrationId } from './tool-config.js';
import * as repo from './tools-repo.js';
import type { ToolFields, ToolRow } from './tools-repo.js';

export type CreateToolInput = Omit<ToolFields, 'config' | 'outputSchema' | 'isActive'> &
  Partial<Pick<ToolFields, 'config' | 'outputSchema' | 'isActive'>>;
export type UpdateToolInput = Partial<ToolFields> & { version: number };

const nameTaken = (name: string) => conflict(`a tool named ${name} already exists; choose another name`, { field: 'name', name });

/** Schemas and config are checked before the transaction: a bad definition costs no database work. */
function assertDefinition(f: Pick<ToolFields, 'toolType' | 'config' | 'inputSchema' | 'outputSchema'>): void {
  assertJsonSchema('inputSchema', f.inputSchema);
  assertJsonSchema('outputSchema', f.outputSchema);
  assertToolConfig(f.toolType, f.config);
}

/** An api tool's auth.integrationId must name a live integration of the organization. */
async function assertIntegration(deps: AgentsDeps, sql: Sql, orgId: string, f: Pick<ToolFields, 'toolType' | 'config'>): Promise<void> {
  const id = toolIntegrationId(f.toolType, f.config);
  if (id === undefined) return;
  if (deps.integrationExists && (await deps.integrationExists(sql, orgId, id))) return;
  const message = deps.integrationExists
    ? `integration ${id} does not exist in this organization; create it with POST /v1/integrations or use the id of one from GET /v1/integrations`
    : 'this service has no integrations to take a token from; remove config.auth';
  throw validationFailed(`config does not fit tool type api: body.config.auth.integrationId: ${message}`, [{ path: 'body.config.auth.integrationId', message }]);
}

export async function createTool(deps: AgentsDeps, actor: Actor, input: CreateToolInput): Promise<ToolRow> {
  const fields: ToolFields = { ...input, config: input.config ?? {}, outputSchema: input.outputSchema ?? null, isActive: input.isActive ?? true };
  assertDefinition(fields);
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      if (await repo.toolNameOwner(sql, fields.name)) throw nameTaken(fields.name);
      await assertIntegration(deps, sql, actor.orgId, fields);
      const tool = await repo.insertTool(sql, actor.orgId, actor.userId, fields);
      await appendAudit(sql, actor, { action: 'tool.created', resourceType: 'tool', resourceId: tool.id, newValues: tool });
      return tool;
    });
  } catch (err) {
    if (isPgError(err, '23505')) throw nameTaken(fields.name);
    throw err;
  }
}

export async function getTool(deps: AgentsDeps, orgId: string, id: string): Promise<ToolRow> {
  const tool = await deps.db.tenant(orgId, (sql) => repo.getTool(sql, id));
  if (!tool) throw notFound('tool', id);
  return tool;
}

export function listTools(deps: AgentsDeps, orgId: string, f: Parameters<typeof repo.listTools>[1]): Promise<ToolRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listTools(sql, f));
}

/**
 * Changes a tool. Agents pick the change up at their next published version;
 * versions already published keep the definition they froze.
 */
export async function updateTool(deps: AgentsDeps, actor: Actor, id: string, input: UpdateToolInput): Promise<ToolRow> {
  const { version, ...patch } = input;
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      const before = await repo.getTool(sql, id);
      if (!before) throw notFound('tool', id);
      if (before.version !== version) throw versionConflict('tool', version);
      // Check the definition as it will be, so a type change is checked against the config it keeps.
      assertDefinition({ ...before, ...patch });
      // Only when the config or type changes: switching off a tool whose integration is gone must still work.
      if (patch.config !== undefined || patch.toolType !== undefined) await assertIntegration(deps, sql, actor.orgId, { ...before, ...patch });
      if (patch.name !== undefined && patch.name !== before.name && (await repo.toolNameOwner(sql, patch.name))) throw nameTaken(patch.name);
      const after = await repo.updateTool(sql, id, version, patch);
      if (!after) throw versionConflict('tool', version);
      await appendAudit(sql, actor, { action: 'tool.updated', resourceType: 'tool', resourceId: id, oldValues: before, newValues: after });
      return after;
    });
  } catch (err) {
    if (isPgError(err, '23505') && patch.name !== undefined) throw nameTaken(patch.name);
    throw err;
  }
}

/** Soft delete, refused while a live agent still lists the tool (published versions keep their own copy). */
export async function deleteTool(deps: AgentsDeps, actor: Actor, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.getToolForUpdate(sql, id);
    if (!before) throw notFound('tool', id);
    const users = await agentsUsingTool(sql, id);
    if (users.length) {
      throw conflict(`tool ${before.name} is used by ${users.length === 100 ? '100 or more' : users.length} agent(s) (${users.map((a) => a.slug).join(', ')}); remove it from their tools first`, {
        agents: users,
      });
    }
    await repo.softDeleteTool(sql, id);
    await appendAudit(sql, actor, { action: 'tool.deleted', resourceType: 'tool', resourceId: id, oldValues: before });
  });
}
