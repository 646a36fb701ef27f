/**
 * The tool vocabulary of the agent loop.
 *
 * - tool:      something a model may call by name with JSON arguments. Either an
 *              organization's stored tool (agent_tools; `api` tools run as http
 *              tools) or a built-in registered in code by a module (call another
 *              agent, read/write the conversation context, search and save the
 *              agent's memories; later knowledge, plans).
 * - registry:  the built-ins by name. Modules register theirs at start-up; the
 *              loop offers an agent its own stored tools plus the built-ins its
 *              configuration names (agents.tools lists names of either kind).
 * - outcome:   what a call returned, as the model will see it. A failure the
 *              model can act on (bad arguments, a 404 from the API) is an outcome
 *              with isError, not an exception; exceptions are for the run itself.
 */
import type { Sql } from '../../db/index.js';

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments (what the model is shown and what is validated). */
  parameters: Record<string, unknown>;
}

/** Where a call happens: enough for a built-in to act on the run's behalf. */
export interface ToolContext {
  orgId: string;
  agentId: string;
  executionId: string;
  /** the conversation session, when the run has one */
  sessionId: string | undefined;
  /** 0 for a top-level run, +1 per agent-to-agent call */
  depth: number;
  /** the agents on the call path, outermost first (cycle detection) */
  callPath: readonly string[];
  /** aborted when the run is cancelled or times out */
  signal: AbortSignal;
  /** a tenant transaction for built-ins that read or write the org's data */
  tenant<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
}

export interface ToolOutcome {
  /** what the model is shown (JSON-serialisable) */
  output: unknown;
  isError: boolean;
  /** recorded on the tool span, never shown to the model (status code, bytes, child execution id …) */
  details?: Record<string, unknown>;
}

export interface BuiltinTool {
  spec: ToolSpec;
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<ToolOutcome>;
}

export class ToolRegistry {
  private readonly tools = new Map<string, BuiltinTool>();

  register(tool: BuiltinTool): void {
    if (this.tools.has(tool.spec.name)) throw new Error(`a built-in tool named ${tool.spec.name} is already registered`);
    this.tools.set(tool.spec.name, tool);
  }

  get(name: string): BuiltinTool | undefined {
    return this.tools.get(name);
  }

  names(): string[] {
    return [...this.tools.keys()].sort();
  }
}
