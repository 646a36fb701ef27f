import { findLiveTools } from '../../agents/index.js';
import type { Sql } from '../../db/index.js';
import { httpTool, type HttpToolDeps, type StoredToolDefinition } from './http-tool.js';
import type { BuiltinTool } from './types.js';

/**
 * An organization's stored tools (agent_tools) as the agent loop calls them:
 * the same {spec, run} shape as a built-in. Only `api` tools run on the
 * server; function, mcp and integration tools run in the caller's code, so
 * calling one here gives the model an isError outcome that says so.
 */

export interface StoredTool extends BuiltinTool {
  /** the agent_tools id, when the definition came from a row or a version snapshot that has it */
  id: string | undefined;
  toolType: string;
}

export type StoredToolsDeps = HttpToolDeps;

export interface LoadedTools {
  /** the live, active stored tools among the refs, in the order of the refs */
  tools: StoredTool[];
  /** refs that name no live stored tool (the loop may find them among the built-ins) */
  missing: string[];
  /** refs naming a stored tool that is switched off (is_active = false); not loaded */
  inactive: string[];
}

/** A runner for one stored definition: a live row, or the copy frozen into a published agent version. */
export function storedTool(def: StoredToolDefinition, deps: StoredToolsDeps): StoredTool {
  if (def.toolType === 'api') return { ...httpTool(def, deps), id: def.id, toolType: def.toolType };
  return {
    id: def.id,
    toolType: def.toolType,
    spec: { name: def.name, description: def.description, parameters: def.inputSchema },
    async run() {
      return {
        isError: true,
        output: {
          error: `the tool ${def.name} is a ${def.toolType} tool, which cannot run on the server; run it in your own code and ingest the result (POST /v1/ingest/batch)`,
        },
        details: { toolType: def.toolType, notRunnable: true },
      };
    },
  };
}

/**
 * The agent's stored tools. refs are tool ids (what agents.tools holds) or
 * tool names, mixed as they come; a tool named twice is loaded once.
 */
export async function loadAgentTools(sql: Sql, orgId: string, refs: readonly string[], deps: StoredToolsDeps): Promise<LoadedTools> {
  const rows = await findLiveTools(sql, orgId, [...new Set(refs)]);
  const byRef = new Map<string, (typeof rows)[number]>();
  for (const row of rows) {
    byRef.set(row.id, row);
    byRef.set(row.name, row);
  }
  const out: LoadedTools = { tools: [], missing: [], inactive: [] };
  const loaded = new Set<string>();
  for (const ref of refs) {
    const row = byRef.get(ref);
    if (!row) {
      if (!out.missing.includes(ref)) out.missing.push(ref);
    } else if (!row.isActive) {
      if (!out.inactive.includes(ref)) out.inactive.push(ref);
    } else if (!loaded.has(row.id)) {
      loaded.add(row.id);
      out.tools.push(storedTool(row, deps));
    }
  }
  return out;
}
