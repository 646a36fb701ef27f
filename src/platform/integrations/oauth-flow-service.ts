import { createHash, randomBytes } from 'node:crypto';
import { appendAudit, type Actor } from '../../audit/index.js';
import { AppError, badRequest, notFound } from '../../errors.js';
import { seal } from '../../identity/index.js';
import { clock, STATE_TTL_MS, type IntegrationsDeps } from './deps.js';
import * as repo from './integrations-repo.js';
import type { Integration } from './integrations-repo.js';
import { exchangeCode, OAuthEndpointError } from './oauth-client.js';
import * as states from './states-repo.js';
import { assertUsable, clientOf, unseal } from './tokens-service.js';
import * as tokens from './tokens-repo.js';

/**
 * The authorization-code flow (RFC 6749 §4.1) with PKCE (RFC 7636, S256).
 *
 * start: a random state (256 bits) and code verifier are made; the state's
 * SHA-256, the sealed verifier, the redirect URI, the organization, the
 * integration and the user are stored (oauth_states) with an expiry; the
 * caller gets the provider's authorization URL to send the user to.
 *
 * callback: the provider sends the user back with ?code&state. The route is
 * public — the state is the only thing trusted: it names the request, which
 * names the organization and integration. A state is redeemed once (the
 * first callback marks it used, in its own committed transaction, before the
 * code is exchanged) and only before it expires. The code is then exchanged
 * at the token endpoint with the verifier, and the tokens are stored sealed.
 */

const b64url = (b: Buffer) => b.toString('base64url');
export const stateHash = (state: string) => createHash('sha256').update(state).digest('hex');

const invalidState = (reason: 'unknown' | 'used' | 'expired') =>
  new AppError(
    400,
    'invalid_oauth_state',
    reason === 'expired'
      ? 'this authorization request has expired; start again with POST /v1/integrations/{id}/oauth/authorize'
      : reason === 'used'
        ? 'this authorization request was already completed (a state is redeemed once); start again with POST /v1/integrations/{id}/oauth/authorize'
        : 'the state does not name an authorization request in progress; start one with POST /v1/integrations/{id}/oauth/authorize and pass the state the provider sends back unchanged',
    { reason },
  );

export interface AuthorizationStart {
  /** where to send the user's browser */
  authorizationUrl: string;
  expiresAt: Date;
}

export async function startAuthorization(deps: IntegrationsDeps, actor: Actor, id: string): Promise<AuthorizationStart> {
  const now = clock(deps);
  const state = b64url(randomBytes(32));
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const expiresAt = new Date(now.getTime() + STATE_TTL_MS);
  return deps.db.tenant(actor.orgId, async (sql) => {
    const client = await repo.oauthClient(sql, actor.orgId, id);
    if (!client) throw notFound('integration', id);
    if (client.status === 'disabled') assertUsable(client.status, id);
    const absent = (['authorizeUrl', 'tokenUrl', 'clientId', 'redirectUri'] as const).filter((k) => !client[k]);
    if (absent.length) {
      throw new AppError(422, 'not_configured', `integration ${id} needs ${absent.map((k) => `oauth.${k}`).join(', ')} for the authorization flow; set them with PATCH /v1/integrations/${id}`, {
        missing: absent.map((k) => `oauth.${k}`),
      });
    }
    await states.deleteStaleStates(sql, actor.orgId, now);
    await states.insertState(sql, actor.orgId, {
      integrationId: id,
      userId: actor.userId,
      stateHash: stateHash(state),
      codeVerifierCiphertext: seal(deps.keys.secretBox, verifier),
      redirectUri: client.redirectUri!,
      createdAt: now,
      expiresAt,
    });
    const url = new URL(client.authorizeUrl!);
    for (const [k, v] of Object.entries(client.authorizeParams)) url.searchParams.set(k, v);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', client.clientId!);
    url.searchParams.set('redirect_uri', client.redirectUri!);
    if (client.scopes.length) url.searchParams.set('scope', client.scopes.join(' '));
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', challenge);
    url.searchParams.set('code_challenge_method', 'S256');
    // The state is in the URL, never in the audit row.
    await appendAudit(sql, actor, { action: 'integration.authorization_started', resourceType: 'integration', resourceId: id, newValues: { expiresAt, scopes: client.scopes } });
    return { authorizationUrl: url.toString(), expiresAt };
  });
}

export interface CallbackInput {
  state: string;
  code?: string | undefined;
  error?: string | undefined;
  errorDescription?: string | undefined;
  /** request metadata for the audit row */
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

export async function completeAuthorization(deps: IntegrationsDeps, input: CallbackInput): Promise<Integration> {
  const hash = stateHash(input.state);
  const found = await deps.db.transaction((sql) => states.findState(sql, hash));
  if (!found) throw invalidState('unknown');
  const orgId = found.orgId;
  const now = clock(deps);

  // 1. Redeem the state, committed before anything else happens: a second callback with it finds it used.
  const claimed = await deps.db.tenant(orgId, async (sql) => {
    const s = await states.lockState(sql, orgId, found.id);
    if (!s || s.usedAt) return { refused: 'used' as const };
    await states.markStateUsed(sql, orgId, s.id, now);
    if (new Date(s.expiresAt).getTime() <= now.getTime()) return { refused: 'expired' as const };
    const client = await repo.oauthClient(sql, orgId, s.integrationId);
    if (!client) return { refused: 'unknown' as const };
    return { s, client, refused: null };
  });
  if (claimed.refused !== null) throw invalidState(claimed.refused);
  const { s, client } = claimed;
  const id = s.integrationId;
  const actor: Actor = { orgId, actorType: s.userId ? 'user' : 'system', userId: s.userId, ip: input.ip ?? null, userAgent: input.userAgent ?? null, requestId: input.requestId ?? null };

  const failed = async (reason: string, err: AppError): Promise<never> => {
    await deps.db.tenant(orgId, async (sql) => {
      await repo.setIntegrationState(sql, orgId, id, { status: 'error', lastError: reason });
      await appendAudit(sql, actor, { action: 'integration.authorization_failed', resourceType: 'integration', resourceId: id, newValues: { status: 'error', reason } });
    });
    throw err;
  };

  // 2. The provider's answer: an error (the user declined …) or a code.
  if (input.error !== undefined || input.code === undefined) {
    const said = input.error ? `${input.error}${input.errorDescription ? ` (${input.errorDescription.slice(0, 300)})` : ''}` : 'no code';
    const reason = `the provider did not authorize: ${said}`;
    return failed(reason, badRequest(`${reason}; start again with POST /v1/integrations/${id}/oauth/authorize`, { integrationId: id, error: input.error ?? null }));
  }
  const oauth = clientOf(deps, client);
  if (!oauth) {
    return failed('oauth.tokenUrl or oauth.clientId was removed during the authorization',
      new AppError(422, 'not_configured', `integration ${id} has no oauth.tokenUrl or oauth.clientId to exchange the code at; set them and start again`, { integrationId: id }));
  }

  // 3. The exchange, outside any transaction (no connection held while the provider answers).
  let answer;
  try {
    answer = await exchangeCode(deps, client.tokenUrl!, oauth, { code: input.code, redirectUri: s.redirectUri, codeVerifier: unseal(deps, s.codeVerifierCiphertext, id) });
  } catch (err) {
    if (!(err instanceof OAuthEndpointError)) throw err;
    return failed(err.message, new AppError(502, 'provider_error', `connecting integration ${id} failed: ${err.message}`, { integrationId: id, oauthError: err.oauthError }));
  }

  // 4. Store the tokens, sealed; connected.
  const at = clock(deps);
  return deps.db.tenant(orgId, async (sql) => {
    const before = await repo.lockIntegration(sql, orgId, id);
    if (!before) throw invalidState('unknown'); // deleted while the user was at the provider
    await tokens.replaceTokens(sql, orgId, id, 'authorization_code', {
      accessTokenCiphertext: seal(deps.keys.secretBox, answer.accessToken),
      refreshTokenCiphertext: answer.refreshToken ? seal(deps.keys.secretBox, answer.refreshToken) : null,
      tokenType: answer.tokenType,
      scopes: answer.scopes ?? client.scopes,
      expiresAt: answer.expiresIn === null ? null : new Date(at.getTime() + answer.expiresIn * 1000),
      refreshTokenExpiresAt: answer.refreshTokenExpiresIn === null ? null : new Date(at.getTime() + answer.refreshTokenExpiresIn * 1000),
    });
    await repo.setIntegrationState(sql, orgId, id, { status: 'connected', lastError: null, synced: true });
    const after = (await repo.getIntegration(sql, orgId, id))!;
    await appendAudit(sql, actor, {
      action: 'integration.connected', resourceType: 'integration', resourceId: id,
      oldValues: { status: before.status, token: before.token }, newValues: { status: after.status, token: after.token },
    });
    return after;
  });
}
