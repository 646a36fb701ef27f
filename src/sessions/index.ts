/**
 * Terminology:
 * - session: a conversation carried across executions (seed 000 user_sessions),
 *            named by its id or by the application's token for it. Started by
 *            POST /v1/sessions or by the first ingested item naming a new key.
 *
 * The data layer of sessions (all SQL on user_sessions), shared by the
 * runtime (which runs turns in a session: its sessions-service.ts and the
 * /v1/sessions routes) and runs (which records what happened in one and reads
 * its timeline). It imports neither.
 */
export { resolveSessionKeys, findSession, sessionMatchKeys, matchKeysOf, type SessionIdentity } from './session-keys-repo.js';
export * as sessionsRepo from './sessions-repo.js';
export type { SessionRow, HistoryEntry, SessionFilter, NewSession, RunActivity } from './sessions-repo.js';
