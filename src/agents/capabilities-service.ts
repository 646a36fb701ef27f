import { appendAudit, type Actor } from '../audit/index.js';
import { notFound } from '../errors.js';
import { requireAgent } from './agent-ref.js';
import * as repo from './capabilities-repo.js';
import type { CapabilityRow } from './capabilities-repo.js';
import type { AgentsDeps } from './deps.js';
import { assertNotArchived } from './status.js';

/** Creates or changes one capability; `created` says which, for the status code. */
export async function setCapability(
  deps: AgentsDeps,
  actor: Actor,
  agentRef: string,
  capability: string,
  proficiency: number,
): Promise<{ capability: CapabilityRow; created: boolean }> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const agent = await requireAgent(sql, agentRef, 'share');
    const agentId = agent.id;
    assertNotArchived(agent.status, 'changing its capabilities');
    const before = await repo.getCapability(sql, agentId, capability);
    const after = await repo.upsertCapability(sql, actor.orgId, agentId, capability, proficiency);
    await appendAudit(sql, actor, {
      action: before ? 'agent.capability_updated' : 'agent.capability_added',
      resourceType: 'agent_capability',
      resourceId: after.id,
      agentId,
      oldValues: before,
      newValues: after,
    });
    return { capability: after, created: !before };
  });
}

export function listCapabilities(deps: AgentsDeps, orgId: string, agentRef: string, opts: { after?: string; limit: number }) {
  return deps.db.tenant(orgId, async (sql) => {
    const { id: agentId } = await requireAgent(sql, agentRef);
    return repo.listCapabilities(sql, agentId, opts);
  });
}

export async function removeCapability(deps: AgentsDeps, actor: Actor, agentRef: string, capability: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const agent = await requireAgent(sql, agentRef, 'share');
    const agentId = agent.id;
    assertNotArchived(agent.status, 'changing its capabilities');
    const before = await repo.getCapability(sql, agentId, capability);
    if (!before || !(await repo.deleteCapability(sql, agentId, capability))) throw notFound(`capability ${capability} of agent`, agentId);
    await appendAudit(sql, actor, {
      action: 'agent.capability_removed',
      resourceType: 'agent_capability',
      resourceId: before.id,
      agentId,
      oldValues: before,
    });
  });
}
