import { appendAudit, type Actor } from '../audit/index.js';
import { emitEvent } from '../events/index.js';
import { isPgError, type Sql } from '../db/index.js';
import { conflict, notFound } from '../errors.js';
import type { AgentRow } from './agents-repo.js';
import { setCurrentVersion } from './agents-repo.js';
import { requireAgent } from './agent-ref.js';
import { diffConfig, type FieldChange } from './config-diff.js';
import type { AgentsDeps } from './deps.js';
import { builtinDefinition, isToolId, isUuid, splitToolRefs } from './builtin-tools.js';
import { compareSemver, greatestSemver } from './semver.js';
import { assertNotArchived } from './status.js';
import { lockLiveTools, type ToolRow } from './tools-repo.js';
import * as repo from './versions-repo.js';
import type { VersionRow } from './versions-repo.js';

/** A tool as frozen into a version: its definition, not its bookkeeping. */
function toolDefinition(t: ToolRow) {
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    toolType: t.toolType,
    config: t.config,
    inputSchema: t.inputSchema,
    outputSchema: t.outputSchema,
    isActive: t.isActive,
    version: t.version,
  };
}

/**
 * What a version freezes: everything that decides how the agent behaves, with
 * each tool's full definition so the version reads back exactly even after
 * the tools change. Identity and bookkeeping (slug, status, performanceScore,
 * which is measured, not configured) are left out.
 */
function snapshot(agent: AgentRow, tools: ToolRow[]): Record<string, unknown> {
  const byId = new Map(tools.map((t) => [t.id, t]));
  return {
    name: agent.name,
    description: agent.description,
    type: agent.type,
    systemPrompt: agent.systemPrompt,
    model: agent.model,
    modelSettings: agent.modelSettings,
    temperature: agent.temperature,
    maxTokens: agent.maxTokens,
    memoryEnabled: agent.memoryEnabled,
    memoryType: agent.memoryType,
    cognitivePattern: agent.cognitivePattern,
    learningRate: agent.learningRate,
    metadata: agent.metadata,
    tools: agent.tools.map((ref) => (isToolId(ref) ? toolDefinition(byId.get(ref)!) : builtinDefinition(ref))),
  };
}

async function requireVersion(sql: Sql, agentId: string, version: string): Promise<VersionRow> {
  const v = await repo.getVersion(sql, agentId, version);
  if (!v) throw notFound(`version ${version} of agent`, agentId);
  return v;
}

/**
 * Publishes the agent's current configuration as a new immutable version and
 * makes it current. The agent row lock serializes publishers, so "greater than
 * every existing version" holds against concurrent publishes too.
 */
export async function publishVersion(
  deps: AgentsDeps,
  actor: Actor,
  agentRef: string,
  input: { version: string; changelog?: string | null; makeCurrent?: boolean },
): Promise<VersionRow> {
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      const agent = await requireAgent(sql, agentRef, 'update');
      return (await publishLocked(sql, deps, actor, agent, input)).version;
    });
  } catch (err) {
    // Two publishers of one version number: the unique constraint is the last word.
    if (isPgError(err, '23505')) throw conflict(`version ${input.version} already exists; versions never change, publish a higher one`);
    throw err;
  }
}

/**
 * The publish itself, with its audit row, for an agent this transaction holds
 * locked (or has just created): the new version and the agent pointing at it.
 */
export async function publishLocked(
  sql: Sql,
  deps: AgentsDeps,
  actor: Actor,
  agent: AgentRow,
  input: { version: string; changelog?: string | null; makeCurrent?: boolean },
): Promise<{ version: VersionRow; agent: AgentRow }> {
  const agentId = agent.id;
  assertNotArchived(agent.status, 'publishing a version');
  const existing = await repo.versionNumbers(sql, agentId);
  if (existing.includes(input.version)) throw conflict(`version ${input.version} already exists; versions never change, publish a higher one`, { version: input.version });
  const latest = greatestSemver(existing);
  if (latest !== undefined && compareSemver(input.version, latest) <= 0) {
    throw conflict(`version ${input.version} is not greater than the latest version ${latest}`, { version: input.version, latest });
  }
  const refs = splitToolRefs(agent.tools);
  const tools = await lockLiveTools(sql, refs.ids);
  // Deleting a referenced tool is refused, so a missing one means the data was changed behind our back.
  if (tools.length !== new Set(refs.ids).size) throw conflict('a tool this agent references no longer exists; update the agent\'s tools first');
  const gone = refs.builtins.filter((name) => !deps.builtinTools?.has(name));
  if (gone.length) throw conflict(`the built-in tools ${gone.join(', ')} are not available in this service; remove them from the agent's tools first`, { unknown: gone });
  const config = snapshot(agent, tools);
  const row = await repo.insertVersion(sql, actor.orgId, agentId, actor.userId, {
    version: input.version,
    changelog: input.changelog ?? null,
    systemPrompt: agent.systemPrompt,
    model: agent.model,
    temperature: agent.temperature,
    maxTokens: agent.maxTokens,
    tools: config.tools as unknown[],
    config,
  });
  // A candidate (makeCurrent: false) runs only when named — by a run's `version`
  // or an eval run — until it is promoted through the eval gate. An agent with
  // no current version has nothing to keep running, so it takes the new one.
  const current = input.makeCurrent !== false || agent.currentVersionId === null;
  const after = current ? await setCurrentVersion(sql, agentId, row.id, true) : agent;
  await appendAudit(sql, actor, {
    action: 'agent.version_published',
    resourceType: 'agent_version',
    resourceId: row.id,
    agentId,
    oldValues: { currentVersion: agent.currentVersion },
    newValues: { version: row.version, changelog: row.changelog, current, config },
  });
  await emitEvent(sql, actor.orgId, 'agent.version.created', { agentId, versionId: row.id, version: row.version });
  return { version: { ...row, isCurrent: current }, agent: after };
}

export function listVersions(deps: AgentsDeps, orgId: string, agentRef: string, opts: { beforeId?: string; limit: number }) {
  return deps.db.tenant(orgId, async (sql) => {
    const agent = await requireAgent(sql, agentRef);
    return repo.listVersions(sql, agent.id, opts);
  });
}

/**
 * One version of an agent (by semver, or by the version's id), or, without a
 * version, the one it currently runs. Later modules (runs, runtime, evals)
 * resolve what to execute through this.
 */
export function getAgentVersion(deps: AgentsDeps, orgId: string, agentRef: string, version?: string): Promise<VersionRow> {
  return deps.db.tenant(orgId, async (sql) => resolveVersionIn(sql, await requireAgent(sql, agentRef), version));
}

/** getAgentVersion inside the caller's transaction, for an agent it already read (evals resolve the version a run tests). */
export async function resolveVersionIn(sql: Sql, agent: AgentRow, version?: string): Promise<VersionRow> {
  const agentId = agent.id;
  if (version !== undefined && isUuid(version)) {
    const v = await repo.getVersionById(sql, version);
    if (!v || v.agentId !== agentId) throw notFound(`version ${version} of agent`, agentId);
    return v;
  }
  if (version !== undefined) return requireVersion(sql, agentId, version);
  const current = agent.currentVersionId ? await repo.getVersionById(sql, agent.currentVersionId) : undefined;
  if (!current) throw notFound('published version of agent', agentId);
  return current;
}

export function diffVersions(
  deps: AgentsDeps,
  orgId: string,
  agentRef: string,
  from: string,
  to: string,
): Promise<{ from: string; to: string; changes: FieldChange[] }> {
  return deps.db.tenant(orgId, async (sql) => {
    const agent = await requireAgent(sql, agentRef);
    const a = await requireVersion(sql, agent.id, from);
    const b = await requireVersion(sql, agent.id, to);
    return { from: a.version, to: b.version, changes: diffConfig(a.config, b.config) };
  });
}

/**
 * Points the agent at another existing version (usually an older one). No
 * version changes and the working configuration stays as it is; only what
 * runs changes. Any version but the current one is allowed, so a rollback
 * can itself be undone.
 */
export async function rollbackAgent(deps: AgentsDeps, actor: Actor, agentRef: string, version: string): Promise<AgentRow> {
  return deps.db.tenant(actor.orgId, (sql) => rollbackIn(sql, actor, agentRef, version));
}

/**
 * rollbackAgent inside the caller's transaction (the evals gate checks and
 * promotes in one). `audit` names the action recorded (default
 * agent.rolled_back) and adds to what the audit row records.
 */
export async function rollbackIn(
  sql: Sql, actor: Actor, agentRef: string, version: string, audit: { action?: string; newValues?: Record<string, unknown> } = {},
): Promise<AgentRow> {
  const agent = await requireAgent(sql, agentRef, 'update');
  const agentId = agent.id;
  assertNotArchived(agent.status, 'rolling back');
  const target = await requireVersion(sql, agentId, version);
  if (target.id === agent.currentVersionId) throw conflict(`version ${version} is already the current version`, { version });
  const after = await setCurrentVersion(sql, agentId, target.id, false);
  await appendAudit(sql, actor, {
    action: audit.action ?? 'agent.rolled_back',
    resourceType: 'agent',
    resourceId: agentId,
    agentId,
    oldValues: { currentVersion: agent.currentVersion, currentVersionId: agent.currentVersionId },
    newValues: { currentVersion: target.version, currentVersionId: target.id, ...audit.newValues },
  });
  return after;
}
