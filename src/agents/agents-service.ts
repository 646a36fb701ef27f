import { appendAudit, type Actor } from '../audit/index.js';
import { CACHE_TAGS, invalidate } from '../cache/index.js';
import { emitEvent } from '../events/index.js';
import { isPgError, type Sql } from '../db/index.js';
import { AppError, badRequest, conflict, versionConflict } from '../errors.js';
import { lockOrganizationLimits } from '../identity/index.js';
import * as repo from './agents-repo.js';
import type { AgentFields, AgentRow } from './agents-repo.js';
import { requireAgent } from './agent-ref.js';
import type { AgentsDeps } from './deps.js';
import { splitToolRefs } from './builtin-tools.js';
import { firstFreeSlug, slugify } from './slug.js';
import { assertNotArchived, assertTransition, type AgentStatus } from './status.js';
import { lockLiveTools } from './tools-repo.js';
import { publishLocked } from './versions-service.js';

export type CreateAgentInput = Partial<AgentFields> & {
  name: string;
  /** active: publish the configuration as FIRST_VERSION and activate it, in the same transaction */
  status?: 'draft' | 'active' | undefined;
  /** the changelog of that first version (status active only) */
  changelog?: string | null | undefined;
};

/** The version a one-call create (status active) publishes. */
export const FIRST_VERSION = '1.0.0';
export type UpdateAgentInput = Partial<AgentFields> & { version: number };

// The same defaults as the table's; the insert names every column, so they live here too.
const DEFAULTS: Omit<AgentFields, 'name' | 'slug'> = {
  description: null,
  type: 'general',
  systemPrompt: '',
  model: 'gpt-4o',
  modelSettings: {},
  temperature: 0.7,
  maxTokens: 4096,
  tools: [],
  memoryEnabled: true,
  memoryType: 'conversation',
  cognitivePattern: 'adaptive',
  learningRate: null,
  performanceScore: null,
  metadata: {},
};

// A derived slug lost to a concurrent create is derived again; a caller's own slug is theirs to change.
const SLUG_ATTEMPTS = 5;

/** Drops undefined keys, so a caller's `{ type: undefined }` means "default", not NULL. */
const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

const slugTaken = (slug: string) => conflict(`an agent with slug ${slug} already exists; choose another slug`, { field: 'slug', slug });

/**
 * Every tool id must name a live tool of this organization, every other entry
 * a registered built-in (a body reference: 400, not 404).
 */
async function assertToolsExist(sql: Sql, refs: readonly string[], builtinTools: ReadonlySet<string> | undefined): Promise<void> {
  if (new Set(refs).size !== refs.length) throw badRequest('tools lists the same tool more than once', { field: 'tools' });
  const { ids, builtins } = splitToolRefs(refs);
  const unknownBuiltins = builtins.filter((name) => !builtinTools?.has(name));
  if (unknownBuiltins.length) {
    const known = [...(builtinTools ?? [])].sort();
    throw badRequest(
      `tools names built-in tools that do not exist: ${unknownBuiltins.join(', ')}; ${known.length ? `the built-ins are ${known.join(', ')}` : 'this service has no built-in tools'} (stored tools are listed by id)`,
      { field: 'tools', unknown: unknownBuiltins },
    );
  }
  const found = new Set((await lockLiveTools(sql, ids)).map((t) => t.id));
  const unknown = ids.filter((id) => !found.has(id));
  if (unknown.length) {
    throw badRequest(`tools names tools that do not exist: ${unknown.join(', ')}; create them with POST /v1/tools`, {
      field: 'tools',
      unknown,
    });
  }
}

/**
 * Creates a draft; with status active also publishes its configuration as
 * version 1.0.0 and activates it, what the three calls (create, publish,
 * status) do, with the same audit rows, but in one transaction: whatever
 * fails leaves no agent behind.
 */
export async function createAgent(deps: AgentsDeps, actor: Actor, input: CreateAgentInput): Promise<AgentRow> {
  const { status, changelog, ...fields } = input;
  if (changelog !== undefined && status !== 'active') {
    throw badRequest('changelog describes the first version, which only status "active" publishes; drop changelog or send status "active"', { field: 'changelog' });
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.db.tenant(actor.orgId, async (sql) => {
        const agent = await insertDraft(sql, deps, actor, fields);
        if (status !== 'active') return agent;
        const published = await publishLocked(sql, deps, actor, agent, { version: FIRST_VERSION, changelog });
        return moveStatus(sql, actor, published.agent, 'active');
      });
    } catch (err) {
      // The only unique index on agents besides the key is the live slug (a new agent has no versions to clash).
      if (!isPgError(err, '23505')) throw err;
      if (fields.slug !== undefined) throw slugTaken(fields.slug);
      if (attempt >= SLUG_ATTEMPTS) throw conflict('could not find a free slug for this name; send a slug');
    }
  }
}

export async function insertDraft(sql: Sql, deps: AgentsDeps, actor: Actor, input: Partial<AgentFields> & { name: string }): Promise<AgentRow> {
  await assertToolsExist(sql, input.tools ?? [], deps.builtinTools);
  const limits = await lockOrganizationLimits(sql, actor.orgId);
  if (limits && (await repo.countLiveAgents(sql)) >= limits.maxAgents) {
    throw new AppError(402, 'quota_exceeded', `this organization has reached its limit of ${limits.maxAgents} agents; archive and delete one, or raise maxAgents`, {
      limit: limits.maxAgents,
    });
  }
  let slug = input.slug;
  if (slug === undefined) {
    const base = slugify(input.name);
    slug = firstFreeSlug(base, new Set(await repo.slugsLike(sql, base)));
  } else if (await repo.slugOwner(sql, slug)) {
    throw slugTaken(slug);
  }
  const agent = await repo.insertAgent(sql, actor.orgId, actor.userId, { ...DEFAULTS, ...defined(input), name: input.name, slug });
  await appendAudit(sql, actor, { action: 'agent.created', resourceType: 'agent', resourceId: agent.id, agentId: agent.id, newValues: agent });
  return agent;
}

/** By id or slug (agent-ref.ts). */
export async function getAgent(deps: AgentsDeps, orgId: string, ref: string): Promise<AgentRow> {
  return deps.db.tenant(orgId, (sql) => requireAgent(sql, ref));
}

export function listAgents(deps: AgentsDeps, orgId: string, f: Parameters<typeof repo.listAgents>[1]): Promise<AgentRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listAgents(sql, f));
}

/**
 * Changes the agent's working configuration. What runs is the current
 * published version, so this never affects a running agent until a new
 * version is published. The slug is kept when the name changes: it is an address.
 */
export async function updateAgent(deps: AgentsDeps, actor: Actor, ref: string, input: UpdateAgentInput): Promise<AgentRow> {
  const { version, ...patch } = input;
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      const before = await requireAgent(sql, ref);
      const id = before.id;
      if (before.version !== version) throw versionConflict('agent', version);
      assertNotArchived(before.status, 'changing it');
      if (patch.tools) await assertToolsExist(sql, patch.tools, deps.builtinTools);
      if (patch.slug !== undefined && patch.slug !== before.slug && (await repo.slugOwner(sql, patch.slug))) throw slugTaken(patch.slug);
      const after = await repo.updateAgent(sql, id, version, patch);
      if (!after) throw versionConflict('agent', version);
      await appendAudit(sql, actor, { action: 'agent.updated', resourceType: 'agent', resourceId: id, agentId: id, oldValues: before, newValues: after });
      // cost reports by agent show its slug and name
      if (after.slug !== before.slug || after.name !== before.name) await invalidate(sql, actor.orgId, [CACHE_TAGS.costs]);
      return after;
    });
  } catch (err) {
    if (isPgError(err, '23505') && patch.slug !== undefined) throw slugTaken(patch.slug);
    throw err;
  }
}

export async function changeAgentStatus(
  deps: AgentsDeps,
  actor: Actor,
  ref: string,
  input: { status: AgentStatus; version: number },
): Promise<AgentRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await requireAgent(sql, ref, 'update');
    if (before.version !== input.version) throw versionConflict('agent', input.version);
    return moveStatus(sql, actor, before, input.status);
  });
}

/** The move and its audit row, for an agent this transaction holds locked (or has just created). */
export async function moveStatus(sql: Sql, actor: Actor, before: AgentRow, status: AgentStatus): Promise<AgentRow> {
  assertTransition(before.status, status, before.currentVersionId !== null);
  const after = (await repo.setAgentStatus(sql, before.id, before.version, status))!;
  await appendAudit(sql, actor, {
    action: 'agent.status_changed',
    resourceType: 'agent',
    resourceId: before.id,
    agentId: before.id,
    oldValues: { status: before.status, version: before.version },
    newValues: { status: after.status, version: after.version },
  });
  if (after.status !== before.status) await emitEvent(sql, actor.orgId, 'agent.status.changed', { agentId: before.id, from: before.status, to: after.status });
  return after;
}

/** Soft delete: the row, its versions and checkpoints stay for history; the API no longer shows it. */
export async function deleteAgent(deps: AgentsDeps, actor: Actor, ref: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await requireAgent(sql, ref, 'update');
    await repo.softDeleteAgent(sql, before.id);
    await invalidate(sql, actor.orgId, [CACHE_TAGS.costs]);
    await appendAudit(sql, actor, { action: 'agent.deleted', resourceType: 'agent', resourceId: before.id, agentId: before.id, oldValues: before });
  });
}
