import type { RuntimeDeps } from '../deps.js';
import type { ToolRegistry } from '../tools/types.js';
import { callAgentTool } from './call-agent.js';
import { contextGetTool, contextSetTool } from './context-tools.js';
import { recordDecisionTool } from './decision-tool.js';

/** The runtime's own built-ins: call_agent, context_get, context_set, record_decision. */
export function registerRuntimeBuiltins(registry: ToolRegistry, deps: RuntimeDeps): void {
  registry.register(callAgentTool(deps));
  registry.register(contextGetTool());
  registry.register(contextSetTool());
  registry.register(recordDecisionTool(deps));
}
