import type { RuntimeDeps } from '../deps.js';
import type { ToolRegistry } from '../tools/types.js';
import { callAgentTool } from './call-agent.js';
import { contextGetTool, contextSetTool } from './context-tools.js';
import { recordDecisionTool } from './decision-tool.js';
import { taskTools } from './task-tools.js';

/** The runtime's own built-ins: call_agent, context_get, context_set, record_decision, and the task tools. */
export function registerRuntimeBuiltins(registry: ToolRegistry, deps: RuntimeDeps): void {
  registry.register(callAgentTool(deps));
  registry.register(contextGetTool());
  registry.register(contextSetTool());
  registry.register(recordDecisionTool(deps));
  for (const t of taskTools(deps)) registry.register(t);
}
