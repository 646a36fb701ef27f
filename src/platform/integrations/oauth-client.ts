import { egressRequest, EgressRequestError, type EgressResponse } from '../../net/index.js';
import type { IntegrationsDeps } from './deps.js';
import type { ClientAuth } from './integrations-repo.js';

/**
 * Calls to a provider's token endpoint (RFC 6749 §4.1.3 code exchange, §6
 * refresh) and revocation endpoint (RFC 7009), under the egress policy:
 * http(s) only, no private addresses unless the operator allows them, a
 * deadline, a cap on the answer's size, no redirects followed.
 *
 * Errors carry what the provider said (its `error` code and description) and
 * never what was sent: the code, the tokens and the client secret are
 * scrubbed from every message, even when a provider echoes them back.
 */

export const OAUTH_HTTP_DEFAULTS = { timeoutMs: 10_000, maxResponseBytes: 64 * 1024 } as const;

export interface OAuthClient {
  clientId: string;
  clientSecret: string | null;
  clientAuth: ClientAuth;
}

export interface TokenAnswer {
  accessToken: string;
  tokenType: string;
  /** seconds, when the provider said */
  expiresIn: number | null;
  refreshToken: string | null;
  refreshTokenExpiresIn: number | null;
  /** the granted scopes, when the provider said (RFC 6749 §5.1: absent means as requested) */
  scopes: string[] | null;
}

export class OAuthEndpointError extends Error {
  override name = 'OAuthEndpointError';
  constructor(
    message: string,
    /** the provider's `error` code (invalid_grant …), when it sent one */
    readonly oauthError: string | null,
    readonly status: number | null,
  ) {
    super(message);
  }
}

const scrubbed = (text: string, secrets: readonly (string | null | undefined)[]) =>
  secrets.reduce<string>((acc, s) => (s && s.length >= 4 ? acc.replaceAll(s, '[redacted]') : acc), text);

// RFC 6749 §2.3.1: the id and secret are form-encoded before they are joined for Basic.
const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');

async function post(deps: IntegrationsDeps, endpoint: string, client: OAuthClient, params: Record<string, string>): Promise<EgressResponse> {
  const form = new URLSearchParams(params);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    // GitHub answers form-encoded unless asked for JSON; both are read below.
    accept: 'application/json',
    'user-agent': 'agentbase-oauth',
    'accept-encoding': 'identity',
  };
  if (client.clientSecret !== null && client.clientAuth === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${formEncode(client.clientId)}:${formEncode(client.clientSecret)}`).toString('base64')}`;
  } else {
    form.set('client_id', client.clientId);
    if (client.clientSecret !== null) form.set('client_secret', client.clientSecret);
  }
  return egressRequest({
    url: new URL(endpoint),
    method: 'POST',
    headers,
    body: form.toString(),
    timeoutMs: deps.http?.timeoutMs ?? OAUTH_HTTP_DEFAULTS.timeoutMs,
    maxBytes: deps.http?.maxResponseBytes ?? OAUTH_HTTP_DEFAULTS.maxResponseBytes,
    policy: deps.egress,
  });
}

function parseAnswer(res: EgressResponse): Record<string, unknown> | null {
  const text = res.body.toString('utf8');
  const type = String(res.headers['content-type'] ?? '');
  if (/application\/x-www-form-urlencoded/i.test(type)) return Object.fromEntries(new URLSearchParams(text));
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const seconds = (v: unknown): number | null => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.floor(n) : null;
};

async function exchange(deps: IntegrationsDeps, endpoint: string, client: OAuthClient, params: Record<string, string>, what: string): Promise<TokenAnswer> {
  const secrets = [client.clientSecret, params.code, params.refresh_token, params.code_verifier];
  let res: EgressResponse;
  try {
    res = await post(deps, endpoint, client, params);
  } catch (err) {
    if (err instanceof EgressRequestError) throw new OAuthEndpointError(scrubbed(`the token endpoint could not be reached for ${what}: ${err.message}`, secrets), null, null);
    throw err;
  }
  const body = res.truncated ? null : parseAnswer(res);
  if (res.status < 200 || res.status > 299 || body === null) {
    const code = str(body?.error);
    const description = str(body?.error_description);
    const said = code ? `${code}${description ? ` (${description.slice(0, 300)})` : ''}` : res.truncated ? 'an answer over the size limit' : `HTTP ${res.status}`;
    throw new OAuthEndpointError(scrubbed(`the token endpoint refused ${what}: ${said}`, secrets), code, res.status);
  }
  const accessToken = str(body.access_token);
  if (!accessToken) {
    // Some providers answer 200 with an error body (GitHub does).
    const code = str(body.error);
    throw new OAuthEndpointError(scrubbed(`the token endpoint answered ${what} without an access_token${code ? `: ${code}` : ''}`, secrets), code, res.status);
  }
  const scope = str(body.scope);
  return {
    accessToken,
    tokenType: str(body.token_type) ?? 'Bearer',
    expiresIn: seconds(body.expires_in),
    refreshToken: str(body.refresh_token),
    refreshTokenExpiresIn: seconds(body.refresh_token_expires_in),
    scopes: scope === null ? null : scope.split(/[\s,]+/).filter(Boolean),
  };
}

/** RFC 6749 §4.1.3, with the PKCE verifier (RFC 7636 §4.5). */
export function exchangeCode(deps: IntegrationsDeps, endpoint: string, client: OAuthClient, f: { code: string; redirectUri: string; codeVerifier: string }) {
  return exchange(deps, endpoint, client, {
    grant_type: 'authorization_code',
    code: f.code,
    redirect_uri: f.redirectUri,
    code_verifier: f.codeVerifier,
  }, 'the authorization code');
}

/** RFC 6749 §6: no scope sent, so the grant keeps the scopes it has. */
export function refreshGrant(deps: IntegrationsDeps, endpoint: string, client: OAuthClient, refreshToken: string) {
  return exchange(deps, endpoint, client, { grant_type: 'refresh_token', refresh_token: refreshToken }, 'the refresh');
}

/** RFC 7009 §2.1. A 200 is success, whether or not the token was still valid (§2.2). */
export async function revokeToken(
  deps: IntegrationsDeps,
  endpoint: string,
  client: OAuthClient,
  token: string,
  hint: 'access_token' | 'refresh_token',
): Promise<{ ok: true } | { ok: false; error: string }> {
  try {
    const res = await post(deps, endpoint, client, { token, token_type_hint: hint });
    if (res.status === 200) return { ok: true };
    const code = str(parseAnswer(res)?.error);
    return { ok: false, error: scrubbed(`the revocation endpoint answered HTTP ${res.status}${code ? ` (${code})` : ''}`, [token, client.clientSecret]) };
  } catch (err) {
    if (err instanceof EgressRequestError) return { ok: false, error: scrubbed(`the revocation endpoint could not be reached: ${err.message}`, [token, client.clientSecret]) };
    throw err;
  }
}
