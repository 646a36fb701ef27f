/**
 * A new agent made from a published configuration (a version's `config`
 * snapshot), inside the caller's transaction: its stored tools are created
 * in this organization, the agent is created (within the organization's
 * agent limit), the configuration is published under the given semver and
 * the agent is activated — the same rows and audit rows as the separate
 * calls. The marketplace installs listings through this; what the snapshot
 * carries was checked when it was published, and is checked again here.
 */
import type { Actor } from '../audit/index.js';
import { appendAudit } from '../audit/index.js';
import type { Sql } from '../db/index.js';
import { conflict } from '../errors.js';
import type { AgentFields, AgentRow } from './agents-repo.js';
import { insertDraft, moveStatus } from './agents-service.js';
import type { AgentsDeps } from './deps.js';
import { assertJsonSchema } from './json-schema.js';
import { assertToolConfig, TOOL_TYPES, type ToolType } from './tool-config.js';
import * as tools from './tools-repo.js';
import { publishLocked } from './versions-service.js';
import type { VersionRow } from './versions-repo.js';

export interface CloneSource {
  /** a version's configuration snapshot (versions-service.ts snapshot()) */
  config: Record<string, unknown>;
  /** the semver the clone's first version gets */
  version: string;
  changelog?: string | null;
}

export interface ClonedTool {
  id: string;
  name: string;
  /** the name in the snapshot, when a tool of that name already existed here and the clone got another */
  originalName: string;
}

export interface ClonedAgent {
  agent: AgentRow;
  version: VersionRow;
  tools: ClonedTool[];
}

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);
const num = (v: unknown, fallback: number | null): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

/** The first name not taken among name, name_2, name_3, … (tool names allow "_"). */
async function freeToolName(sql: Sql, name: string): Promise<string> {
  if (!(await tools.toolNameOwner(sql, name))) return name;
  for (let n = 2; ; n++) {
    const candidate = `${name.slice(0, 95)}_${n}`;
    if (!(await tools.toolNameOwner(sql, candidate))) return candidate;
  }
}

/** The agent's configuration fields from a snapshot; anything missing takes the agents table's default. */
function agentFields(c: Record<string, unknown>, toolRefs: string[]): Partial<AgentFields> & { name: string } {
  const f: Partial<AgentFields> & { name: string } = {
    name: str(c.name, 'Installed agent').slice(0, 255),
    description: typeof c.description === 'string' ? c.description : null,
    systemPrompt: str(c.systemPrompt, ''),
    model: str(c.model, 'gpt-4o'),
    modelSettings: obj(c.modelSettings),
    metadata: obj(c.metadata),
    tools: toolRefs,
  };
  if (typeof c.type === 'string') f.type = c.type;
  if (typeof c.memoryType === 'string') f.memoryType = c.memoryType;
  if (typeof c.cognitivePattern === 'string') f.cognitivePattern = c.cognitivePattern;
  if (typeof c.memoryEnabled === 'boolean') f.memoryEnabled = c.memoryEnabled;
  const temperature = num(c.temperature, null);
  if (temperature !== null) f.temperature = temperature;
  const maxTokens = num(c.maxTokens, null);
  if (maxTokens !== null) f.maxTokens = maxTokens;
  f.learningRate = num(c.learningRate, null);
  return f;
}

export async function cloneAgentFromConfig(sql: Sql, deps: AgentsDeps, actor: Actor, src: CloneSource): Promise<ClonedAgent> {
  const defs = Array.isArray(src.config.tools) ? (src.config.tools as unknown[]) : [];
  const refs: string[] = [];
  const made: ClonedTool[] = [];
  for (const raw of defs) {
    const d = obj(raw);
    const name = str(d.name, '');
    if (d.toolType === 'builtin') {
      if (!deps.builtinTools?.has(name)) {
        throw conflict(`this agent uses the built-in tool ${name}, which this service does not have`, { unknown: [name] });
      }
      refs.push(name);
      continue;
    }
    const toolType = d.toolType as ToolType;
    if (!TOOL_TYPES.includes(toolType) || !name) throw conflict('the configuration holds a tool that cannot be recreated', { tool: name || null });
    const config = obj(d.config);
    const inputSchema = obj(d.inputSchema);
    const outputSchema = d.outputSchema && typeof d.outputSchema === 'object' ? obj(d.outputSchema) : null;
    assertJsonSchema('inputSchema', inputSchema);
    assertJsonSchema('outputSchema', outputSchema);
    assertToolConfig(toolType, config);
    const finalName = await freeToolName(sql, name);
    const tool = await tools.insertTool(sql, actor.orgId, actor.userId, {
      name: finalName,
      description: str(d.description, name),
      toolType,
      config,
      inputSchema,
      outputSchema,
      isActive: d.isActive !== false,
    });
    await appendAudit(sql, actor, { action: 'tool.created', resourceType: 'tool', resourceId: tool.id, newValues: tool });
    refs.push(tool.id);
    made.push({ id: tool.id, name: finalName, originalName: name });
  }
  const draft = await insertDraft(sql, deps, actor, agentFields(src.config, refs));
  const published = await publishLocked(sql, deps, actor, draft, { version: src.version, changelog: src.changelog ?? null });
  const agent = await moveStatus(sql, actor, published.agent, 'active');
  return { agent, version: published.version, tools: made };
}
