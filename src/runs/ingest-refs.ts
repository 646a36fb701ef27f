import { findAgentRefs, findVersionRefs } from '../agents/index.js';
import type { Sql } from '../db/index.js';
import { findMemberRefs } from '../identity/index.js';
import type { DecisionItem, ExecutionItem, MessageItem } from './ingest-schemas.js';
import { findExecutionRefs } from './ingest-repo.js';
import { isOpen, reject, type ItemResult, type Pending } from './ingest-types.js';

/**
 * Every id an ingested item names is resolved inside the tenant before
 * anything is written, one set-based query per kind of reference for the
 * whole batch (never one per item). An unknown id rejects its item alone with
 * unknown_reference naming the field; an id of another organization is not
 * found under row-level security, so it reads exactly like one that never
 * existed.
 *
 * Checked: the agent (agentId / agentSlug) and agentVersionId (a version of
 * that agent), userId (a member, or former member, of the organization) and
 * parentExecutionId of executions; agentId / agentSlug of decisions;
 * fromAgentId and toAgentId of messages. A message's fromAgent / toAgent are
 * names, not references: one that is the slug of a live agent also sets the
 * matching id (when the item gives none), any other name stays a name.
 * (executionClientId is resolved through the ingestion keys by the batch
 * itself; sessionId through the sessions, see resolveSessionKeys.) planId,
 * on any item, a live plan of the organization (checked through the plans
 * module's lookup when the caller wires one in).
 *
 * References are checked when an item arrives, not enforced afterwards:
 * telemetry outlives what it describes (an agent deleted later keeps its
 * executions).
 */

export interface ReferenceBatch {
  executions: Pending<ExecutionItem>[];
  decisions: Pending<DecisionItem>[];
  messages: Pending<MessageItem>[];
}

export interface ResolvedReferences {
  /** the agent of each execution item: an id, or null (none named on an update, or unknown agents kept) */
  agentOf: Map<ItemResult, string | null>;
  /** agent of each version named, for the update path's check against the stored agent */
  versionAgent: Map<string, string>;
}

// UUIDs compare in lower case (the database answers in lower case; a client may send upper).
const uniq = (xs: (string | undefined)[]): string[] => [...new Set(xs.filter((x): x is string => !!x).map((x) => x.toLowerCase()))];
const has = (set: { has(k: string): boolean }, id: string) => set.has(id.toLowerCase());

export async function resolveReferences(
  sql: Sql,
  b: ReferenceBatch,
  opts: {
    unknownAgents: 'reject' | 'keep';
    stored: ReadonlyMap<string, unknown>;
    planRefs?: ((sql: Sql, ids: readonly string[]) => Promise<Set<string>>) | undefined;
  },
): Promise<ResolvedReferences> {
  const executions = b.executions.filter(isOpen);
  const decisions = b.decisions.filter(isOpen);
  const messages = b.messages.filter(isOpen);

  const agentIds = uniq([
    ...executions.map((e) => e.item.agentId),
    ...decisions.map((d) => d.item.agentId),
    ...messages.flatMap((m) => [m.item.fromAgentId, m.item.toAgentId]),
  ]);
  const slugs = uniq([
    ...executions.map((e) => (e.item.agentId ? undefined : e.item.agentSlug)),
    ...decisions.map((d) => (d.item.agentId ? undefined : d.item.agentSlug)),
    ...messages.flatMap((m) => [m.item.fromAgentId ? undefined : m.item.fromAgent, m.item.toAgentId ? undefined : m.item.toAgent]),
  ]);
  const versionIds = uniq(executions.map((e) => e.item.agentVersionId));
  const userIds = uniq(executions.map((e) => e.item.userId));
  const parentIds = uniq(executions.map((e) => e.item.parentExecutionId));

  // One transaction, one connection: in turn (each is skipped when nothing names that kind).
  const agents = await findAgentRefs(sql, agentIds, slugs);
  const versionAgent = await findVersionRefs(sql, versionIds);
  const members = await findMemberRefs(sql, userIds);
  const parents = await findExecutionRefs(sql, parentIds);
  const planIds = uniq([...executions, ...decisions, ...messages].map((x) => x.item.planId));
  const plans = opts.planRefs && planIds.length ? await opts.planRefs(sql, planIds) : undefined;

  const agentById = new Set(agents.map((a) => a.id));
  const agentBySlug = new Map(agents.map((a) => [a.slug, a.id]));

  const agentOf = new Map<ItemResult, string | null>();
  for (const e of executions) {
    const { agentId, agentSlug } = e.item;
    const id = agentId ? (has(agentById, agentId) ? agentId.toLowerCase() : undefined) : agentSlug ? agentBySlug.get(agentSlug) : undefined;
    if (id) agentOf.set(e.result, id);
    else if (opts.unknownAgents === 'keep' || (!agentId && !agentSlug && opts.stored.has(e.item.clientId))) agentOf.set(e.result, null);
    else if (!agentId && !agentSlug) reject(e.result, 'invalid', 'agentId: give the agent as agentId or agentSlug');
    else if (agentId) reject(e.result, 'unknown_reference', `agentId: no agent ${agentId} in this organization`, 'agentId');
    else reject(e.result, 'unknown_reference', `agentSlug: no live agent with slug ${agentSlug} in this organization`, 'agentSlug');
    if (!isOpen(e)) continue;

    const v = e.item.agentVersionId;
    const agent = agentOf.get(e.result);
    if (v && !has(versionAgent, v)) {
      reject(e.result, 'unknown_reference', `agentVersionId: no agent version ${v} in this organization`, 'agentVersionId');
    } else if (v && agent && versionAgent.get(v.toLowerCase()) !== agent) {
      reject(e.result, 'unknown_reference', `agentVersionId: ${v} is not a version of agent ${agent}`, 'agentVersionId');
    } else if (e.item.userId && !has(members, e.item.userId)) {
      reject(e.result, 'unknown_reference', `userId: no user ${e.item.userId} in this organization`, 'userId');
    } else if (e.item.parentExecutionId && !has(parents, e.item.parentExecutionId)) {
      reject(e.result, 'unknown_reference', `parentExecutionId: no execution ${e.item.parentExecutionId} in this organization`, 'parentExecutionId');
    }
  }
  for (const d of decisions) {
    if (d.item.agentId && !has(agentById, d.item.agentId)) {
      reject(d.result, 'unknown_reference', `agentId: no agent ${d.item.agentId} in this organization`, 'agentId');
    } else if (!d.item.agentId && d.item.agentSlug) {
      const id = agentBySlug.get(d.item.agentSlug);
      if (id) d.item.agentId = id;
      else reject(d.result, 'unknown_reference', `agentSlug: no live agent with slug ${d.item.agentSlug} in this organization`, 'agentSlug');
    }
  }
  for (const m of messages) {
    for (const field of ['fromAgentId', 'toAgentId'] as const) {
      const id = m.item[field];
      if (id && !has(agentById, id) && isOpen(m)) reject(m.result, 'unknown_reference', `${field}: no agent ${id} in this organization`, field);
    }
    if (!m.item.fromAgentId && m.item.fromAgent) m.item.fromAgentId = agentBySlug.get(m.item.fromAgent);
    if (!m.item.toAgentId && m.item.toAgent) m.item.toAgentId = agentBySlug.get(m.item.toAgent);
  }
  // An unknown plan rejects the item that names it (every kind of item may name one).
  if (plans) {
    for (const x of [...executions, ...decisions, ...messages]) {
      const id = x.item.planId;
      if (id && isOpen(x) && !has(plans, id)) reject(x.result, 'unknown_reference', `planId: no plan ${id} in this organization`, 'planId');
    }
  }
  return { agentOf, versionAgent };
}
