/**
 * Conversation sessions (seed 000 user_sessions): a conversation carried
 * across executions. A run names its session by id, or by the application's
 * own token (found, or created on first use); the run sees the session's
 * recent history before its input (unless its agent's memory type is
 * long_term, run-memory.ts), and its turns are appended afterwards.
 * context_get / context_set give its agents the session's context_data.
 *
 * Writes through the API (create, end) are audited; what runs do to a session
 * (history, counters, context) is activity, recorded by the executions and
 * spans that did it.
 */
import { randomBytes } from 'node:crypto';
import { appendAudit, type Actor } from '../audit/index.js';
import { findAgentRefs } from '../agents/index.js';
import { uuidv7, type Sql } from '../db/index.js';
import { AppError, badRequest, conflict, notFound } from '../errors.js';
import type { RuntimeDeps } from './deps.js';
import type { ChatMessage } from './providers/index.js';
import { sessionsRepo as repo, type HistoryEntry, type SessionFilter, type SessionRow } from '../sessions/index.js';

/**
 * How many of the most recent history entries a run sees and a session keeps.
 * The history is sent before the input on every model call of every run of the
 * session, so it bounds prompt size and cost; 50 entries is 25 exchanges, more
 * than a chat UI shows. The full transcript stays in the executions and spans.
 */
export const SESSION_HISTORY_LIMIT = 50;

/** context_data is read into prompts by context_get: 64 KiB keeps it a note, not a document store. */
export const SESSION_CONTEXT_MAX_BYTES = 64 * 1024;

export interface CreateSessionInput {
  sessionToken?: string | undefined;
  externalUserId?: string | undefined;
  agentId?: string | undefined;
  ttlSeconds?: number | undefined;
  context?: Record<string, unknown> | undefined;
}

const newToken = () => `ses_${randomBytes(18).toString('base64url')}`;

async function assertAgent(sql: Sql, agentId: string | undefined): Promise<void> {
  if (agentId && (await findAgentRefs(sql, [agentId], [])).length === 0) {
    throw badRequest(`agentId names no agent of this organization: ${agentId}`, { field: 'agentId' });
  }
}

export async function createSession(deps: RuntimeDeps, actor: Actor, input: CreateSessionInput, now = new Date()): Promise<SessionRow> {
  const context = input.context ?? {};
  if (Buffer.byteLength(JSON.stringify(context)) > SESSION_CONTEXT_MAX_BYTES) {
    throw badRequest(`context is larger than ${SESSION_CONTEXT_MAX_BYTES} bytes of JSON`, { field: 'context' });
  }
  return deps.db.tenant(actor.orgId, async (sql) => {
    await assertAgent(sql, input.agentId);
    const token = input.sessionToken ?? newToken();
    const row = await repo.insertSession(sql, actor.orgId, {
      id: uuidv7(),
      sessionToken: token,
      userId: actor.userId,
      externalUserId: input.externalUserId ?? null,
      agentId: input.agentId ?? null,
      contextData: context,
      expiresAt: input.ttlSeconds ? new Date(now.getTime() + input.ttlSeconds * 1000).toISOString() : null,
    });
    if (!row) {
      const other = await repo.getSessionByToken(sql, actor.orgId, token);
      throw conflict(`a session with this sessionToken already exists (${other?.id ?? 'unknown'}); use it, or choose another token`, {
        field: 'sessionToken',
        sessionId: other?.id,
      });
    }
    await appendAudit(sql, actor, { action: 'session.created', resourceType: 'user_session', resourceId: row.id, newValues: redacted(row) });
    return row;
  });
}

/** The audit keeps what identifies the session, not the conversation. */
const redacted = (s: SessionRow) => ({ id: s.id, agentId: s.agentId, externalUserId: s.externalUserId, expiresAt: s.expiresAt, isActive: s.isActive });

export async function getSession(deps: RuntimeDeps, orgId: string, id: string): Promise<SessionRow> {
  const row = await deps.db.tenant(orgId, (sql) => repo.getSession(sql, orgId, id));
  if (!row) throw notFound('session', id);
  return row;
}

export function listSessions(deps: RuntimeDeps, orgId: string, f: SessionFilter): Promise<SessionRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listSessions(sql, orgId, f));
}

/** Ends the session: runs can no longer use it; it stays readable. */
export async function endSession(deps: RuntimeDeps, actor: Actor, id: string): Promise<SessionRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const row = await repo.endSession(sql, actor.orgId, id);
    if (!row) {
      const s = await repo.getSession(sql, actor.orgId, id);
      if (!s) throw notFound('session', id);
      throw conflict(`session ${id} already ended at ${s.endedAt?.toISOString()}`, { endedAt: s.endedAt });
    }
    await appendAudit(sql, actor, { action: 'session.ended', resourceType: 'user_session', resourceId: id, newValues: redacted(row) });
    return row;
  });
}

// ----------------------------------------------------------------- for runs

export type SessionRef = { token: string } | { id: string };

export interface RunSession {
  id: string;
  token: string;
  /** created by this run (on commit of its execution) */
  isNew: boolean;
  history: HistoryEntry[];
}

function assertUsable(s: SessionRow, now: Date): void {
  if (!s.isActive) {
    throw conflict(`session ${s.id} ended at ${s.endedAt?.toISOString()}; a run cannot continue it: start a new session (another sessionToken)`, {
      sessionId: s.id,
      endedAt: s.endedAt,
    });
  }
  if (s.expiresAt && s.expiresAt.getTime() <= now.getTime()) {
    throw new AppError(410, 'session_expired', `session ${s.id} expired at ${s.expiresAt.toISOString()}; start a new session (another sessionToken)`, {
      sessionId: s.id,
      expiresAt: s.expiresAt,
    });
  }
}

/** Finds the run's session (a token not seen before makes a new one, created with the execution). */
export async function resolveRunSession(deps: RuntimeDeps, orgId: string, ref: SessionRef, now: Date): Promise<RunSession> {
  const row = await deps.db.tenant(orgId, (sql) =>
    'id' in ref ? repo.getSession(sql, orgId, ref.id) : repo.getSessionByToken(sql, orgId, ref.token),
  );
  if (!row) {
    if ('id' in ref) throw notFound('session', ref.id);
    return { id: uuidv7(), token: ref.token, isNew: true, history: [] };
  }
  assertUsable(row, now);
  return { id: row.id, token: row.sessionToken, isNew: false, history: row.conversationHistory.slice(-SESSION_HISTORY_LIMIT) };
}

/** In the transaction that records the run: creates the new session, or checks the old one is still usable. */
export async function attachRunSession(
  sql: Sql,
  orgId: string,
  s: RunSession,
  who: { agentId: string; userId: string | null },
  now: Date,
): Promise<void> {
  if (s.isNew) {
    const row = await repo.insertSession(sql, orgId, {
      id: s.id, sessionToken: s.token, userId: who.userId, externalUserId: null, agentId: who.agentId, contextData: {}, expiresAt: null,
    });
    if (!row) throw conflict('another request created a session with this sessionToken at the same moment; send the request again', { field: 'sessionToken' });
    return;
  }
  const row = await repo.lockSessionShared(sql, orgId, s.id);
  if (!row) throw notFound('session', s.id);
  assertUsable(row, now);
}

/** The history as model messages, oldest first. */
export function historyMessages(entries: readonly HistoryEntry[]): ChatMessage[] {
  return entries
    .filter((e) => (e.role === 'user' || e.role === 'assistant' || e.role === 'system') && typeof e.content === 'string')
    .map((e) => ({ role: e.role, content: e.content }) as ChatMessage);
}

export function recordSessionRun(deps: RuntimeDeps, orgId: string, sessionId: string, a: Omit<repo.RunActivity, 'keep'>): Promise<void> {
  return deps.db.tenant(orgId, (sql) => repo.recordRunActivity(sql, orgId, sessionId, { ...a, keep: SESSION_HISTORY_LIMIT }));
}

export function readSessionContext(sql: Sql, orgId: string, sessionId: string) {
  return repo.sessionContext(sql, orgId, sessionId);
}

export function writeSessionContext(sql: Sql, orgId: string, sessionId: string, key: string, value: unknown) {
  return repo.setContextKey(sql, orgId, sessionId, key, value, SESSION_CONTEXT_MAX_BYTES);
}
