/**
 * Terminology:
 * - session: a conversation carried across executions (seed 000 user_sessions),
 *            named by its id or by the application's token for it. Started by
 *            POST /v1/sessions or by the first ingested item naming a new key.
 *
 * The data layer of sessions, shared by the runtime (which runs turns in a
 * session) and runs (which records what happened in one). It imports neither.
 */
export { resolveSessionKeys, findSession, sessionMatchKeys, type SessionIdentity } from './session-keys-repo.js';
