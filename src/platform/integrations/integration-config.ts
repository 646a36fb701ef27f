import { validationFailed, type Issue } from '../../errors.js';

/**
 * An integration's config is descriptive (an account, a workspace, a default
 * repository): it is stored as sent and returned by every read, so it must
 * hold no credentials. Keys that name one (anywhere in the object) are
 * refused with a message pointing at where credentials go: the OAuth flow or
 * PUT …/token for tokens, oauth.clientSecret for the client secret.
 */

// Compared after lower-casing and dropping everything but letters and digits,
// so api_key, apiKey, API-KEY and "api key" are one key.
const SECRET_WORDS = ['secret', 'password', 'passwd', 'passphrase', 'apikey', 'accesstoken', 'refreshtoken', 'idtoken', 'bearer',
  'privatekey', 'credential', 'authorization', 'sessiontoken', 'authtoken'];
const SECRET_EXACT = new Set(['token', 'pwd', 'pass', 'key', 'auth', 'cookie']);

export function secretLikeKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_EXACT.has(k) || SECRET_WORDS.some((w) => k.includes(w));
}

function walk(v: unknown, path: string[], out: Issue[]): void {
  if (out.length >= 10) return;
  if (Array.isArray(v)) {
    v.forEach((x, i) => walk(x, [...path, String(i)], out));
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (secretLikeKey(k)) out.push({ path: ['body', 'config', ...path, k].join('.'), message: 'looks like a credential; config is returned by every read and must not hold one' });
      walk(x, [...path, k], out);
    }
  }
}

/** 400 validation_failed naming every secret-looking key of config (up to 10). */
export function assertNoSecrets(config: Record<string, unknown>, integrationRef: string): void {
  const issues: Issue[] = [];
  walk(config, [], issues);
  if (!issues.length) return;
  throw validationFailed(
    `${issues[0]!.path} looks like a credential, and config is not the place for one: obtain tokens with POST /v1/integrations/${integrationRef}/oauth/authorize ` +
      `or store them with PUT /v1/integrations/${integrationRef}/token (kept encrypted, never returned), and put the OAuth client secret in oauth.clientSecret`,
    issues,
  );
}

/** Query parameters the authorization request sets itself; authorizeParams may not override them. */
export const RESERVED_AUTHORIZE_PARAMS = new Set([
  'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'client_secret',
]);
