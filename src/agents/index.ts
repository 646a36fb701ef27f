import type { FastifyPluginAsync } from 'fastify';
import type { AgentsDeps } from './deps.js';
import { agentRoutes as agentsCrudRoutes } from './routes/agents-routes.js';
import { capabilityRoutes } from './routes/capabilities-routes.js';
import { stateRoutes } from './routes/states-routes.js';
import { toolRoutes } from './routes/tools-routes.js';
import { versionRoutes } from './routes/versions-routes.js';

/**
 * Terminology:
 * - agent:         the editable definition (prompt, model, settings, tool ids).
 *                  Editing it changes nothing that runs until it is published.
 * - version:       an immutable, semver-numbered snapshot of the agent's
 *                  configuration with the full definitions of its tools
 *                  (agent_versions; a trigger refuses UPDATE). Numbers only grow.
 * - current:       the version an agent runs (agents.current_version_id). Publishing
 *                  makes the new version current; rollback points back at another.
 * - status:        where the agent is in its lifecycle (see status.ts); running
 *                  states need a published version, archived is final.
 * - tool:          a callable the organization defines once (api, mcp,
 *                  integration or function) with JSON Schemas for its input/output.
 * - capability:    a named skill with a proficiency 0..1, one row per agent and name.
 * - checkpoint:    a saved copy of an agent's working state (agent_states,
 *                  partitioned by month). Restoring appends a copy; nothing is rewritten.
 * - version (int): the optimistic-locking counter on agents and tools — not the semver.
 * - agent ref:     how a path names an agent: its id or its slug (agent-ref.ts).
 *                  Other modules' agent routes take AgentRef and resolve it here.
 */

export type { AgentsDeps } from './deps.js';
export type { AgentRow } from './agents-repo.js';
export type { VersionRow } from './versions-repo.js';
export type { ToolRow } from './tools-repo.js';
export type { CapabilityRow } from './capabilities-repo.js';
export type { StateRow } from './states-repo.js';
export type { FieldChange } from './config-diff.js';
export { AGENT_STATUSES, type AgentStatus } from './status.js';
export { compareSemver } from './semver.js';
export { findAgentRefs } from './agents-repo.js';
export { findVersionRefs } from './versions-repo.js';
export { slugify } from './slug.js';
export { isAgentId, resolveAgentRef, requireAgent } from './agent-ref.js';
export { AgentRef } from './routes/schemas.js';
export { findLiveTools } from './tools-repo.js';
export { compileValidator, type SchemaValidator } from './json-schema.js';
export { parseApiToolConfig, type ApiToolConfig, type ToolType } from './tool-config.js';
export { cloneAgentFromConfig, type CloneSource, type ClonedAgent, type ClonedTool } from './clone-service.js';
export { FIRST_VERSION, createAgent, getAgent, listAgents, updateAgent, changeAgentStatus, deleteAgent } from './agents-service.js';
export { publishVersion, getAgentVersion, resolveVersionIn, listVersions, diffVersions, rollbackAgent, rollbackIn } from './versions-service.js';
export { createTool, getTool, listTools, updateTool, deleteTool } from './tools-service.js';
export { setCapability, listCapabilities, removeCapability } from './capabilities-service.js';
export { createCheckpoint, listCheckpoints, latestCheckpoint, getCheckpoint, restoreCheckpoint } from './states-service.js';

export function agentRoutes(deps: AgentsDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(agentsCrudRoutes(deps));
    await app.register(versionRoutes(deps));
    await app.register(toolRoutes(deps));
    await app.register(capabilityRoutes(deps));
    await app.register(stateRoutes(deps));
  };
}
