import { appendAudit, type Actor } from '../audit/index.js';
import { uuidv7 } from '../db/index.js';
import { notFound } from '../errors.js';
import { requireAgent } from './agent-ref.js';
import { clock, type AgentsDeps } from './deps.js';
import * as repo from './states-repo.js';
import type { StateRow } from './states-repo.js';
import { assertNotArchived } from './status.js';

/** Written only by a restore, so every 'restore' checkpoint says what it restored. */
export const RESTORE_CHECKPOINT = 'restore';

// The state itself can be large; the audit row records that a checkpoint was made, not its contents.
const auditView = (s: StateRow) => ({ id: s.id, checkpointType: s.checkpointType, restoredFromId: s.restoredFromId, createdAt: s.createdAt });

export async function createCheckpoint(
  deps: AgentsDeps,
  actor: Actor,
  agentRef: string,
  input: { checkpointType: string; stateData: Record<string, unknown> },
): Promise<StateRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const agent = await requireAgent(sql, agentRef, 'share');
    const agentId = agent.id;
    assertNotArchived(agent.status, 'saving a checkpoint');
    const state = await repo.insertState(sql, actor.orgId, agentId, actor.userId, {
      id: uuidv7(),
      checkpointType: input.checkpointType,
      stateData: input.stateData,
      restoredFromId: null,
      createdAt: clock(deps),
    });
    await appendAudit(sql, actor, { action: 'agent.state_saved', resourceType: 'agent_state', resourceId: state.id, agentId, newValues: auditView(state) });
    return state;
  });
}

export function listCheckpoints(deps: AgentsDeps, orgId: string, agentRef: string, opts: { beforeId?: string; limit: number }) {
  return deps.db.tenant(orgId, async (sql) => {
    const { id: agentId } = await requireAgent(sql, agentRef);
    return repo.listStates(sql, agentId, opts);
  });
}

export function latestCheckpoint(deps: AgentsDeps, orgId: string, agentRef: string): Promise<StateRow> {
  return deps.db.tenant(orgId, async (sql) => {
    const { id: agentId } = await requireAgent(sql, agentRef);
    const [latest] = await repo.listStates(sql, agentId, { limit: 1 });
    if (!latest) throw notFound('checkpoint of agent', agentId);
    return latest;
  });
}

export function getCheckpoint(deps: AgentsDeps, orgId: string, agentRef: string, stateId: string): Promise<StateRow> {
  return deps.db.tenant(orgId, async (sql) => {
    const { id: agentId } = await requireAgent(sql, agentRef);
    const state = await repo.getState(sql, agentId, stateId);
    if (!state) throw notFound('checkpoint', stateId);
    return state;
  });
}

/**
 * Restoring never rewrites history: it appends a new checkpoint that copies
 * the chosen one's state and points back at it, so it becomes the latest.
 */
export async function restoreCheckpoint(deps: AgentsDeps, actor: Actor, agentRef: string, stateId: string): Promise<StateRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const agent = await requireAgent(sql, agentRef, 'share');
    const agentId = agent.id;
    assertNotArchived(agent.status, 'restoring a checkpoint');
    const source = await repo.getState(sql, agentId, stateId);
    if (!source) throw notFound('checkpoint', stateId);
    const state = await repo.insertState(sql, actor.orgId, agentId, actor.userId, {
      id: uuidv7(),
      checkpointType: RESTORE_CHECKPOINT,
      stateData: source.stateData,
      restoredFromId: source.id,
      createdAt: clock(deps),
    });
    await appendAudit(sql, actor, { action: 'agent.state_restored', resourceType: 'agent_state', resourceId: state.id, agentId, newValues: auditView(state) });
    return state;
  });
}
