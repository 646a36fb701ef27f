import { resolveAgentRef } from '../agents/index.js';
import { appendAudit, type Actor } from '../audit/index.js';
import { notFound } from '../errors.js';
import { clock, type MemoryDeps } from './deps.js';
import * as repo from './learnings-repo.js';
import type { LearningFilter, LearningRow, NewLearning } from './learnings-repo.js';

export type LearningsDeps = Pick<MemoryDeps, 'db' | 'now'>;

export type { LearningRow };

export interface CreateLearningInput {
  sourceType: string;
  sourceId?: string | null | undefined;
  learningCategory: string;
  finding: string;
  evidence?: unknown;
  confidence: number;
  impactScore?: number | null | undefined;
  tags?: readonly string[] | undefined;
}

const missing = (id: string) => notFound('learning', id);

export async function createLearning(deps: LearningsDeps, actor: Actor, agentRef: string, input: CreateLearningInput): Promise<LearningRow> {
  const fields: NewLearning = {
    sourceType: input.sourceType,
    sourceId: input.sourceId ?? null,
    learningCategory: input.learningCategory,
    finding: input.finding,
    evidence: input.evidence ?? {},
    confidence: input.confidence,
    impactScore: input.impactScore ?? null,
    tags: input.tags ?? [],
  };
  return deps.db.tenant(actor.orgId, async (sql) => {
    // By id or slug; under RLS another organization's agent is not found, exactly like a missing one.
    const agent = await resolveAgentRef(sql, agentRef);
    const row = await repo.insertLearning(sql, actor.orgId, agent.id, fields, clock(deps));
    await appendAudit(sql, actor, { action: 'learning.created', resourceType: 'agent_learning', resourceId: row.id, agentId: agent.id, newValues: row });
    return row;
  });
}

export function listLearnings(deps: LearningsDeps, orgId: string, agentRef: string, f: LearningFilter): Promise<LearningRow[]> {
  return deps.db.tenant(orgId, async (sql) => {
    const agent = await resolveAgentRef(sql, agentRef);
    return repo.listLearnings(sql, orgId, agent.id, f);
  });
}

export async function getLearning(deps: LearningsDeps, orgId: string, agentRef: string, id: string): Promise<LearningRow> {
  const row = await deps.db.tenant(orgId, async (sql) => {
    const agent = await resolveAgentRef(sql, agentRef);
    return repo.getLearning(sql, orgId, agent.id, id);
  });
  if (!row) throw missing(id);
  return row;
}

/** agent_learnings has no deleted_at: the row goes, and the audit row keeps what it said. */
export async function deleteLearning(deps: LearningsDeps, actor: Actor, agentRef: string, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const agent = await resolveAgentRef(sql, agentRef);
    const before = await repo.deleteLearning(sql, actor.orgId, agent.id, id);
    if (!before) throw missing(id);
    await appendAudit(sql, actor, { action: 'learning.deleted', resourceType: 'agent_learning', resourceId: id, agentId: agent.id, oldValues: before });
  });
}

/** Records that the learning was applied and whether it worked; the counts and the rate move in one UPDATE. */
export async function recordApplication(
  deps: LearningsDeps,
  actor: Actor,
  agentRef: string,
  id: string,
  success: boolean,
): Promise<LearningRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const agent = await resolveAgentRef(sql, agentRef);
    const after = await repo.recordApplication(sql, actor.orgId, agent.id, id, success, clock(deps));
    if (!after) throw missing(id);
    await appendAudit(sql, actor, {
      action: 'learning.applied',
      resourceType: 'agent_learning',
      resourceId: id,
      agentId: agent.id,
      oldValues: { appliedCount: after.appliedCount - 1, successCount: after.successCount - (success ? 1 : 0) },
      newValues: { success, appliedCount: after.appliedCount, successCount: after.successCount, successRate: after.successRate },
    });
    return after;
  });
}
