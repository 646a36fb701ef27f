import { resolveAgentRef } from '../agents/index.js';
import { appendAudit, type Actor } from '../audit/index.js';
import type { Sql } from '../db/index.js';
import { AppError, notFound } from '../errors.js';
import { PAYLOAD_LIMITS } from '../http/json-schemas.js';
import { clock, type MemoryDeps } from './deps.js';
import * as repo from './learning-sessions-repo.js';
import type { LearningSessionRow, SessionFilter, TransferMode } from './learning-sessions-repo.js';

export type LearningSessionsDeps = Pick<MemoryDeps, 'db' | 'now'>;

export type { LearningSessionRow };
export { SESSION_STATUSES, TRANSFER_MODES } from './learning-sessions-repo.js';

/** A session's metrics as stored, all merges together: a request's own limit, so merging cannot grow them without bound. */
export const MAX_SESSION_METRICS_BYTES = PAYLOAD_LIMITS.maxBytes;

const missing = (id: string) => notFound('learning session', id);
const completed = (s: LearningSessionRow) =>
  new AppError(409, 'session_completed', `learning session ${s.id} was completed at ${new Date(s.completedAt!).toISOString()}; `
    + 'it takes no more metrics: start a new session for more', { completedAt: s.completedAt });
const tooLarge = () =>
  new AppError(413, 'payload_too_large', `the session's metrics merged with these would exceed ${MAX_SESSION_METRICS_BYTES} bytes; `
    + 'send fewer or smaller values, or start a new session', { field: 'body.metrics', limitBytes: MAX_SESSION_METRICS_BYTES });

export async function startSession(
  deps: LearningSessionsDeps,
  actor: Actor,
  agentRef: string,
  input: { sourceDomain: string; targetDomain: string; transferMode?: TransferMode | undefined; sessionMetrics?: Record<string, unknown> | undefined },
): Promise<LearningSessionRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const agent = await resolveAgentRef(sql, agentRef);
    const row = await repo.insertSession(sql, actor.orgId, agent.id, {
      sourceDomain: input.sourceDomain,
      targetDomain: input.targetDomain,
      transferMode: input.transferMode ?? 'adaptive',
      sessionMetrics: input.sessionMetrics ?? {},
    }, clock(deps));
    await appendAudit(sql, actor, { action: 'learning_session.started', resourceType: 'learning_session', resourceId: row.id, agentId: agent.id, newValues: row });
    return row;
  });
}

export async function getSession(deps: LearningSessionsDeps, orgId: string, id: string): Promise<LearningSessionRow> {
  const row = await deps.db.tenant(orgId, (sql) => repo.getSession(sql, orgId, id));
  if (!row) throw missing(id);
  return row;
}

export function listSessions(
  deps: LearningSessionsDeps,
  orgId: string,
  f: Omit<SessionFilter, 'agentId'> & { agentRef?: string | undefined },
): Promise<LearningSessionRow[]> {
  return deps.db.tenant(orgId, async (sql) => {
    const agentId = f.agentRef === undefined ? undefined : (await resolveAgentRef(sql, f.agentRef)).id;
    return repo.listSessions(sql, orgId, { ...f, agentId });
  });
}

/** Why an update matched no active session: missing (404), completed (409), or the merge too large (413). */
async function refusal(sql: Sql, orgId: string, id: string): Promise<AppError> {
  const s = await repo.getSession(sql, orgId, id);
  if (!s) return missing(id);
  if (s.completedAt) return completed(s);
  return tooLarge();
}

async function change(
  deps: LearningSessionsDeps,
  actor: Actor,
  id: string,
  action: string,
  metrics: Record<string, unknown>,
  complete?: { improvementScore: number },
): Promise<LearningSessionRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const at = clock(deps);
    const after = await repo.updateActiveSession(sql, actor.orgId, id, metrics, MAX_SESSION_METRICS_BYTES, complete && { ...complete, at });
    if (!after) throw await refusal(sql, actor.orgId, id);
    await appendAudit(sql, actor, {
      action,
      resourceType: 'learning_session',
      resourceId: id,
      agentId: after.agentId,
      newValues: { metrics, ...(complete ?? {}), status: after.status },
    });
    return after;
  });
}

/** Merges metrics into an active session's (top-level keys sent replace those stored). */
export function recordMetrics(deps: LearningSessionsDeps, actor: Actor, id: string, metrics: Record<string, unknown>) {
  return change(deps, actor, id, 'learning_session.metrics_recorded', metrics);
}

/** Completes an active session with its improvement score, merging any last metrics; a completed one is 409. */
export function completeSession(
  deps: LearningSessionsDeps,
  actor: Actor,
  id: string,
  input: { improvementScore: number; sessionMetrics?: Record<string, unknown> | undefined },
) {
  return change(deps, actor, id, 'learning_session.completed', input.sessionMetrics ?? {}, { improvementScore: input.improvementScore });
}
