/**
 * The agent runtime: model providers (an OpenAI-compatible HTTP provider and
 * an offline scripted one) behind one ChatProvider interface, tools (stored
 * http tools, built-ins in a registry), the agent loop that runs an agent
 * version on an input and records every step through the runs module,
 * conversation sessions, and agents' memory in runs (run-memory.ts: memory
 * tools, recall before the model call, extraction after the run).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { RuntimeDeps } from './deps.js';
import { executionRunRoutes } from './routes/executions-routes.js';
import { sessionRoutes } from './routes/sessions-routes.js';

export * from './providers/index.js';
export { addressCategory, resolveEgress, pinnedLookup, EgressRefusedError, type EgressPolicy, type EgressRefusal, type ResolvedAddress } from '../net/index.js';
export { egressRequest, EgressRequestError, type EgressRequest, type EgressResponse, type EgressFailure } from '../net/index.js';
export { httpTool, HTTP_TOOL_DEFAULTS, type HttpToolDeps, type IntegrationTokenFn, type StoredToolDefinition } from './tools/http-tool.js';
export { loadAgentTools, storedTool, type LoadedTools, type StoredTool, type StoredToolsDeps } from './tools/stored-tools.js';
export { ToolRegistry, type BuiltinTool, type ToolContext, type ToolOutcome, type ToolSpec } from './tools/types.js';
export { createRuntime, type RuntimeDeps, type RuntimeOptions, type RuntimeLog } from './deps.js';
export { registerRuntimeBuiltins } from './builtins/index.js';
export { agentRunHandler } from './agent-run-job.js';
export { memoryExtractHandler, extractMemories, MEMORY_EXTRACT_TASK, type ExtractionResult } from './memory-extract-job.js';
export { estimateTokens, RECALL_HEADER } from './memory-recall.js';
export { EXTRACT_INSTRUCTIONS } from './memory-extract-output.js';
export { AGENT_MEMORY_TYPES, type AgentMemoryType, type RunMemory } from './run-memory.js';
export { runNow, enqueueRun, AGENT_RUN_TASK, AGENT_RUN_QUEUE, type RunRequest, type RunResult } from './run-service.js';
export { runQueued, type QueuedRunOptions } from './run-queued.js';
export { cancelExecution } from './run-cancel.js';
export { RUN_ERRORS, type RunLimits, type RunInput, type RunEvent, type RunOutcome, type RunMode } from './run-types.js';
export { SESSION_HISTORY_LIMIT, SESSION_CONTEXT_MAX_BYTES } from './sessions-service.js';
export type { SessionRow, HistoryEntry } from '../sessions/index.js';
export { isRunToolContext, type RunToolContext } from './agent-loop.js';
export { embeddingEgress } from './embedding-egress.js';

/** POST /v1/agents/{id}/executions, POST /v1/executions/{id}/cancel, /v1/sessions. */
export function runtimeRoutes(deps: RuntimeDeps): FastifyPluginAsync {
  return async (app) => {
    await app.register(executionRunRoutes(deps));
    await app.register(sessionRoutes(deps));
  };
}
