/**
 * The tools a run offers its model: what the agent version froze, stored tools
 * from their frozen definitions (an `api` tool runs as an http tool; see
 * tools/stored-tools.ts) and built-ins by name from the registry. Running
 * the version's own copy, not the live tool, is what makes a version what
 * runs: editing a tool changes nothing until a new version is published.
 * Agents with memory also get memory_search and memory_save (run-memory.ts).
 */
import type { VersionRow } from '../agents/index.js';
import type { RuntimeDeps } from './deps.js';
import { memoryTools } from './builtins/memory-tools.js';
import { notConfigured } from './provider-for-agent.js';
import type { RunMemory } from './run-memory.js';
import type { StoredToolDefinition } from './tools/http-tool.js';
import { storedTool } from './tools/stored-tools.js';
import type { BuiltinTool } from './tools/types.js';

/** A tool of a run. Built-ins that call another agent record their span as an agent_call, memory tools as a memory_access, record_decision as a reasoning_step. */
export interface RunnableTool extends BuiltinTool {
  spanKind?: 'tool_call' | 'agent_call' | 'memory_access' | 'reasoning_step';
}

export function toolsForVersion(deps: RuntimeDeps, agentSlug: string, version: VersionRow, memory?: RunMemory): RunnableTool[] {
  const out: RunnableTool[] = [];
  for (const raw of version.tools as Record<string, unknown>[]) {
    const name = String(raw.name);
    if (raw.toolType === 'builtin') {
      const builtin = deps.builtins.get(name);
      if (!builtin) {
        throw notConfigured(
          `agent ${agentSlug} version ${version.version} uses the built-in tool ${name}, which this service does not have (it has: ${deps.builtins.names().join(', ') || 'none'})`,
          { tool: name },
        );
      }
      out.push(builtin);
    } else if (raw.isActive !== false) {
      // A tool switched off when the version was published stays off in it.
      out.push(storedTool(raw as unknown as StoredToolDefinition, { keys: deps.keys, egress: { allowPrivate: deps.config.egressAllowPrivate }, integrationToken: deps.integrationToken }));
    }
  }
  if (memory && deps.memory) {
    // Offered, not named: a tool of the version's own by the same name (a stored
    // tool called memory_search) keeps its place rather than failing the agent.
    for (const t of memoryTools(deps.memory)) if (!out.some((o) => o.spec.name === t.spec.name)) out.push(t);
  }
  const names = out.map((t) => t.spec.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) {
    throw notConfigured(`agent ${agentSlug} version ${version.version} has two tools named ${twice} (a stored tool and a built-in?); rename one and publish a version`, {
      tool: twice,
    });
  }
  return out;
}
