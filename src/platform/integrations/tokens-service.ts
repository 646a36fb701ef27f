import { appendAudit, type Actor } from '../../audit/index.js';
import type { Sql } from '../../db/index.js';
import { AppError, conflict, notFound } from '../../errors.js';
import { open, seal } from '../../identity/index.js';
import { hostAllowed } from '../../secrets/index.js';
import { clock, REFRESH_MARGIN_MS, type IntegrationsDeps } from './deps.js';
import * as repo from './integrations-repo.js';
import type { Integration, OAuthClientRow } from './integrations-repo.js';
import { OAuthEndpointError, refreshGrant, revokeToken, type OAuthClient } from './oauth-client.js';
import { deleteStatesOf } from './states-repo.js';
import * as tokens from './tokens-repo.js';
import type { SealedTokens } from './tokens-repo.js';

/**
 * Using, storing, refreshing and revoking an integration's tokens. The
 * plaintext leaves this module only through integrationAccessToken (for the
 * runtime's http tools, to put in an Authorization header); no route returns it.
 *
 * Refresh (RFC 6749 §6) happens when a token is used within REFRESH_MARGIN_MS
 * of its expiry, when asked (POST …/token/refresh), and periodically
 * (refreshExpiringTokens, from maintenance). It runs with the token row
 * locked (FOR UPDATE): a second refresh waits, then finds the token fresh
 * and uses it, so one refresh token is never spent twice — across processes
 * too. In one process, concurrent uses also share one refresh (inFlight), so
 * they do not queue for the lock one by one. The lock is held across the
 * call to the token endpoint, which the egress deadline bounds (10 s).
 */

export interface AccessToken {
  accessToken: string;
  /** the Authorization scheme: "Bearer" (a provider's "bearer" is normalised) or what the provider named */
  tokenType: string;
  expiresAt: Date | null;
}

export interface StoreTokenInput {
  accessToken: string;
  refreshToken?: string | null | undefined;
  tokenType?: string | undefined;
  /** seconds from now */
  expiresIn?: number | null | undefined;
  refreshTokenExpiresIn?: number | null | undefined;
  scopes?: string[] | undefined;
}

const SYSTEM = (orgId: string): Actor => ({ orgId, actorType: 'system', userId: null });
const missing = (id: string) => notFound('integration', id);
const notConnected = (id: string) =>
  conflict(`integration ${id} has no token; connect it with POST /v1/integrations/${id}/oauth/authorize or PUT /v1/integrations/${id}/token`, { integrationId: id });
const unreadable = (id: string) =>
  conflict(`the stored credentials of integration ${id} cannot be decrypted with the current AGENTBASE_SECRET; store them again (PATCH oauth.clientSecret, PUT …/token or a new authorization)`, { integrationId: id });

export const schemeOf = (tokenType: string) => (tokenType.toLowerCase() === 'bearer' ? 'Bearer' : tokenType);
const expiryOf = (now: Date, seconds: number | null | undefined) => (seconds === null || seconds === undefined ? null : new Date(now.getTime() + seconds * 1000));

export function unseal(deps: IntegrationsDeps, sealed: string, integrationId: string): string {
  try {
    return open(deps.keys.secretBox, sealed);
  } catch {
    throw unreadable(integrationId);
  }
}

/** Refused for integrations that are switched off or revoked: their tokens are not handed out. */
export function assertUsable(status: repo.IntegrationStatus, id: string): void {
  if (status === 'disabled') throw conflict(`integration ${id} is disabled; enable it with PATCH /v1/integrations/${id} {"enabled": true}`, { integrationId: id, status });
  if (status === 'revoked') throw notConnected(id);
}

export function clientOf(deps: IntegrationsDeps, c: OAuthClientRow): OAuthClient | null {
  if (!c.tokenUrl || !c.clientId) return null;
  return { clientId: c.clientId, clientSecret: c.clientSecretCiphertext ? unseal(deps, c.clientSecretCiphertext, c.id) : null, clientAuth: c.clientAuth };
}

/** PUT …/token: a token set the caller obtained elsewhere replaces the stored one; the integration is connected. */
export async function storeToken(deps: IntegrationsDeps, actor: Actor, id: string, input: StoreTokenInput): Promise<Integration> {
  const now = clock(deps);
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.lockIntegration(sql, actor.orgId, id);
    if (!before) throw missing(id);
    if (before.status === 'disabled') assertUsable(before.status, id);
    await tokens.replaceTokens(sql, actor.orgId, id, 'manual', {
      accessTokenCiphertext: seal(deps.keys.secretBox, input.accessToken),
      refreshTokenCiphertext: input.refreshToken ? seal(deps.keys.secretBox, input.refreshToken) : null,
      tokenType: input.tokenType ?? 'Bearer',
      scopes: [...new Set(input.scopes ?? [])],
      expiresAt: expiryOf(now, input.expiresIn),
      refreshTokenExpiresAt: expiryOf(now, input.refreshTokenExpiresIn),
    });
    await repo.setIntegrationState(sql, actor.orgId, id, { status: 'connected', lastError: null });
    const after = (await repo.getIntegration(sql, actor.orgId, id))!;
    await appendAudit(sql, actor, {
      action: 'integration.token_stored', resourceType: 'integration', resourceId: id,
      oldValues: { status: before.status, token: before.token }, newValues: { status: after.status, token: after.token },
    });
    return after;
  });
}

const fresh = (t: SealedTokens, now: Date, marginMs: number) => t.expiresAt === null || new Date(t.expiresAt).getTime() - now.getTime() > marginMs;

async function handOut(deps: IntegrationsDeps, sql: Sql, orgId: string, id: string, t: SealedTokens, access: string, mark: boolean): Promise<AccessToken> {
  if (mark) {
    await tokens.markTokensUsed(sql, orgId, t.id);
    await repo.markIntegrationUsed(sql, orgId, id);
  }
  return { accessToken: access, tokenType: schemeOf(t.tokenType), expiresAt: t.expiresAt };
}

/** Checked before the token is opened or refreshed, so a refused host learns nothing and costs nothing. */
function assertHostAllowed(client: OAuthClientRow, host: string): void {
  if (hostAllowed(host, client.allowedHosts)) return;
  const listed = client.allowedHosts.length ? `only to ${client.allowedHosts.join(', ')}` : 'to no host yet';
  throw new AppError(403, 'forbidden',
    `integration ${client.id} may send its token ${listed}, not ${host}; an admin can add the host to its allowedHosts (PATCH /v1/integrations/${client.id})`,
    { integrationId: client.id, host });
}

export interface UseOptions {
  /** refresh when the token expires within this long (default REFRESH_MARGIN_MS) */
  minValidityMs?: number;
  /** record the use (last_used_at); the periodic refresh does not */
  markUsed?: boolean;
  /** the host the token is for (a tool's URL): refused unless the integration's allowedHosts has it */
  host?: string;
}

/**
 * A usable access token of the integration, refreshed first when it expires
 * within minValidityMs. null when the organization has no such integration.
 * Throws AppError: 409 when it is disabled, revoked or has no token, or its
 * token expired without a refresh token; 502 provider_error when the refresh
 * failed (the integration is then marked error with the reason); 422 when a
 * refresh is needed and the token endpoint or client id is not configured.
 */
export async function integrationAccessToken(deps: IntegrationsDeps, orgId: string, id: string, opts: UseOptions = {}): Promise<AccessToken | null> {
  const margin = opts.minValidityMs ?? REFRESH_MARGIN_MS;
  const mark = opts.markUsed ?? true;
  const first = await deps.db.tenant(orgId, async (sql) => {
    const client = await repo.oauthClient(sql, orgId, id);
    if (!client) return null;
    if (opts.host !== undefined) assertHostAllowed(client, opts.host);
    assertUsable(client.status, id);
    const t = await tokens.sealedTokens(sql, orgId, id, false);
    if (!t) throw notConnected(id);
    if (!fresh(t, clock(deps), margin)) return 'stale' as const;
    return handOut(deps, sql, orgId, id, t, unseal(deps, t.accessTokenCiphertext, id), mark);
  });
  if (first !== 'stale') return first;
  return shared(`${orgId}:${id}`, () => refreshLocked(deps, orgId, id, { force: false, margin, mark }));
}

/** POST …/token/refresh: refresh now, whatever the expiry. */
export async function refreshNow(deps: IntegrationsDeps, orgId: string, id: string): Promise<AccessToken> {
  const r = await refreshLocked(deps, orgId, id, { force: true, margin: 0, mark: false });
  if (!r) throw missing(id);
  return r;
}

const inFlight = new Map<string, Promise<AccessToken | null>>();

function shared(key: string, run: () => Promise<AccessToken | null>): Promise<AccessToken | null> {
  const running = inFlight.get(key);
  if (running) return running;
  const p = run().finally(() => inFlight.delete(key));
  inFlight.set(key, p);
  return p;
}

type Locked = { ok: AccessToken | null } | { failed: AppError };

async function refreshLocked(deps: IntegrationsDeps, orgId: string, id: string, o: { force: boolean; margin: number; mark: boolean }): Promise<AccessToken | null> {
  // A failure is recorded (status error, last_error, an audit row) and committed, then thrown.
  const r = await deps.db.tenant<Locked>(orgId, async (sql) => {
    const client = await repo.oauthClient(sql, orgId, id);
    if (!client) return { ok: null };
    assertUsable(client.status, id);
    const t = await tokens.sealedTokens(sql, orgId, id, true);
    if (!t) throw notConnected(id);
    const now = clock(deps);
    // Someone refreshed while this call waited for the lock: use theirs.
    if (!o.force && fresh(t, now, o.margin)) return { ok: await handOut(deps, sql, orgId, id, t, unseal(deps, t.accessTokenCiphertext, id), o.mark) };
    const fail = async (status: 'error' | 'expired', reason: string, err: AppError): Promise<Locked> => {
      await repo.setIntegrationState(sql, orgId, id, { status, lastError: reason });
      await appendAudit(sql, SYSTEM(orgId), { action: 'integration.token_refresh_failed', resourceType: 'integration', resourceId: id, newValues: { status, reason } });
      return { failed: err };
    };
    if (!t.refreshTokenCiphertext) {
      const expired = t.expiresAt !== null && new Date(t.expiresAt).getTime() <= now.getTime();
      if (!expired && !o.force) return { ok: await handOut(deps, sql, orgId, id, t, unseal(deps, t.accessTokenCiphertext, id), o.mark) };
      const reason = 'the access token expired and there is no refresh token; connect the integration again';
      if (!o.force) return fail('expired', reason, conflict(`integration ${id}: ${reason}`, { integrationId: id }));
      throw conflict(`integration ${id} has no refresh token to refresh with; connect it again or PUT /v1/integrations/${id}/token with a refreshToken`, { integrationId: id });
    }
    const oauth = clientOf(deps, client);
    if (!oauth) {
      throw new AppError(422, 'not_configured', `integration ${id} needs oauth.tokenUrl and oauth.clientId to refresh its token; set them with PATCH /v1/integrations/${id}`, { integrationId: id });
    }
    let answer;
    try {
      answer = await refreshGrant(deps, client.tokenUrl!, oauth, unseal(deps, t.refreshTokenCiphertext, id));
    } catch (err) {
      if (!(err instanceof OAuthEndpointError)) throw err;
      return fail('error', err.message, new AppError(502, 'provider_error', `refreshing the token of integration ${id} failed: ${err.message}`, { integrationId: id, oauthError: err.oauthError }));
    }
    const expiresAt = expiryOf(clock(deps), answer.expiresIn);
    await tokens.refreshedTokens(sql, orgId, t.id, {
      accessTokenCiphertext: seal(deps.keys.secretBox, answer.accessToken),
      // RFC 6749 §6: a new refresh token replaces the old one; none sent keeps it.
      refreshTokenCiphertext: answer.refreshToken ? seal(deps.keys.secretBox, answer.refreshToken) : null,
      tokenType: answer.tokenType,
      scopes: answer.scopes,
      expiresAt,
    });
    await repo.setIntegrationState(sql, orgId, id, { status: 'connected', lastError: null, synced: true });
    await appendAudit(sql, SYSTEM(orgId), {
      action: 'integration.token_refreshed', resourceType: 'integration', resourceId: id,
      newValues: { expiresAt, refreshTokenRotated: answer.refreshToken !== null, scopes: answer.scopes },
    });
    const refreshed = { ...t, tokenType: answer.tokenType, expiresAt };
    return { ok: await handOut(deps, sql, orgId, id, refreshed, answer.accessToken, o.mark) };
  });
  if ('failed' in r) throw r.failed;
  return r.ok;
}

export interface RevocationReport {
  /** called: the revocation endpoint was asked; not_configured: no oauth.revocationUrl; no_tokens: nothing was stored */
  endpoint: 'called' | 'not_configured' | 'no_tokens';
  results: { token: 'refresh_token' | 'access_token'; revoked: boolean; error?: string }[];
}

/**
 * POST …/revoke: asks the provider to revoke the stored tokens (RFC 7009;
 * the refresh token first, which ends the whole grant at most providers) when
 * a revocation endpoint is configured, then deletes them here whatever the
 * provider answered (the report says). The integration becomes revoked.
 */
export async function revokeIntegration(deps: IntegrationsDeps, actor: Actor, id: string): Promise<{ integration: Integration; revocation: RevocationReport }> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.lockIntegration(sql, actor.orgId, id);
    if (!before) throw missing(id);
    const client = (await repo.oauthClient(sql, actor.orgId, id))!;
    // Locked, so a refresh cannot rotate the tokens between revoking and deleting them.
    const t = await tokens.sealedTokens(sql, actor.orgId, id, true);
    const report: RevocationReport = { endpoint: !t ? 'no_tokens' : client.revocationUrl && client.clientId ? 'called' : 'not_configured', results: [] };
    if (t && client.revocationUrl && client.clientId) {
      const oauth: OAuthClient = {
        clientId: client.clientId,
        clientSecret: client.clientSecretCiphertext ? unseal(deps, client.clientSecretCiphertext, id) : null,
        clientAuth: client.clientAuth,
      };
      const held: ['refresh_token' | 'access_token', string | null][] = [
        ['refresh_token', t.refreshTokenCiphertext],
        ['access_token', t.accessTokenCiphertext],
      ];
      for (const [hint, sealed] of held) {
        if (!sealed) continue;
        const r = await revokeToken(deps, client.revocationUrl, oauth, unseal(deps, sealed, id), hint);
        report.results.push(r.ok ? { token: hint, revoked: true } : { token: hint, revoked: false, error: r.error });
      }
    }
    await tokens.deleteTokens(sql, actor.orgId, id);
    await deleteStatesOf(sql, actor.orgId, id);
    const failed = report.results.find((x) => !x.revoked);
    await repo.setIntegrationState(sql, actor.orgId, id, { status: 'revoked', lastError: failed ? `revocation at the provider failed: ${failed.error}` : null });
    const after = (await repo.getIntegration(sql, actor.orgId, id))!;
    await appendAudit(sql, actor, {
      action: 'integration.revoked', resourceType: 'integration', resourceId: id,
      oldValues: { status: before.status, token: before.token }, newValues: { status: after.status, revocation: report },
    });
    return { integration: after, revocation: report };
  });
}

/**
 * The periodic refresh: tokens of any organization that expire within
 * `withinMs` and have a refresh token are refreshed now, so a token is fresh
 * when something outside a request (a scheduled agent run) needs it.
 * Failures are recorded on their integrations and counted, not thrown.
 */
export async function refreshExpiringTokens(deps: IntegrationsDeps, opts: { withinMs: number; limit?: number }): Promise<{ refreshed: number; failed: number }> {
  const due = await deps.db.transaction((sql) => tokens.tokensDue(sql, new Date(clock(deps).getTime() + opts.withinMs), opts.limit ?? 500));
  let refreshed = 0;
  let failed = 0;
  for (const d of due) {
    try {
      if (await integrationAccessToken(deps, d.orgId, d.integrationId, { minValidityMs: opts.withinMs, markUsed: false })) refreshed++;
    } catch {
      failed++;
    }
  }
  return { refreshed, failed };
}
