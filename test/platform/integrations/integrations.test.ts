import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrationAccessToken, refreshExpiringTokens } from '../../../src/platform/index.js';
import { auditRows, joinAs } from '../../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../../helpers/app.js';
import { CLIENT_ID, CLIENT_SECRET, startOAuthServer, type OAuthServer } from './oauth-server.js';

let t: TestApp;
let owner: SignedUp;
let other: SignedUp;
let p: OAuthServer;
type Auth = { authorization: string };
type Body = ReturnType<typeof JSON.parse>;

// Every answer agentbase gives in this file, to search for tokens at the end.
const answers: string[] = [];
async function req(method: InjectOptions['method'], url: string, auth: Auth | undefined, payload?: unknown): Promise<LightMyRequestResponse> {
  const res = await t.app.inject({ method, url, ...(auth ? { headers: auth } : {}), ...(payload === undefined ? {} : { payload: payload as object }) });
  answers.push(res.body);
  return res;
}
function ok(res: LightMyRequestResponse, status = 200): Body {
  expect(res.statusCode, res.body).toBe(status);
  return res.body ? res.json() : undefined;
}

const oauthSettings = () => ({
  authorizeUrl: `${p.base}/authorize`,
  tokenUrl: `${p.base}/token`,
  revocationUrl: `${p.base}/revoke`,
  redirectUri: 'https://app.example.com/oauth/back',
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
});

async function newIntegration(auth: Auth = owner.auth, over: Record<string, unknown> = {}): Promise<Body> {
  return ok(await req('POST', '/v1/integrations', auth, { provider: 'custom', displayName: 'Test provider', scopes: ['repo', 'read:user'], oauth: oauthSettings(), ...over }), 201);
}

/** Runs the authorization-code flow: start, follow the provider's redirect, call back. */
async function connect(id: string): Promise<{ callback: LightMyRequestResponse; code: string; state: string }> {
  const start = ok(await req('POST', `/v1/integrations/${id}/oauth/authorize`, owner.auth), 201);
  const r = await fetch(start.authorizationUrl, { redirect: 'manual' });
  expect(r.status).toBe(302);
  const back = new URL(r.headers.get('location')!);
  const code = back.searchParams.get('code')!;
  const state = back.searchParams.get('state')!;
  const callback = await req('GET', `/v1/integrations/oauth/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`, undefined);
  return { callback, code, state };
}

const rawRows = async (id: string) =>
  JSON.stringify((await t.db.admin.query(`SELECT * FROM oauth_tokens WHERE integration_id = $1`, [id])).rows) +
  JSON.stringify((await t.db.admin.query(`SELECT * FROM integrations WHERE id = $1`, [id])).rows);
const count = async (table: string) => (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
const counts = async () => ({ integrations: await count('integrations'), oauth_tokens: await count('oauth_tokens'), oauth_states: await count('oauth_states'), audit: await count('audit_logs') });

beforeAll(async () => {
  t = await createTestApp({ AGENTBASE_EGRESS_ALLOW_PRIVATE: 'true' });
  owner = await signupUser(t.app);
  other = await signupUser(t.app);
  p = await startOAuthServer();
});
afterAll(async () => {
  await p?.close();
  await t?.close();
});

describe('integrations CRUD', () => {
  it('creates, reads, lists, changes and deletes an integration; the client secret is write-only', async () => {
    const i = await newIntegration();
    expect(i).toMatchObject({
      provider: 'custom', displayName: 'Test provider', status: 'pending', scopes: ['repo', 'read:user'], token: null, version: 1,
      oauth: { clientId: CLIENT_ID, clientSecretSet: true, clientAuth: 'basic', tokenUrl: `${p.base}/token` },
    });
    expect(JSON.stringify(i)).not.toContain(CLIENT_SECRET);
    expect(ok(await req('GET', `/v1/integrations/${i.id}`, owner.auth))).toEqual(i);
    const list = ok(await req('GET', '/v1/integrations?provider=custom&limit=100', owner.auth));
    expect(list.data.map((x: Body) => x.id)).toContain(i.id);
    const changed = ok(await req('PATCH', `/v1/integrations/${i.id}`, owner.auth, { version: 1, displayName: 'Renamed', config: { workspace: 'acme' }, oauth: { clientAuth: 'post' } }));
    expect(changed).toMatchObject({ displayName: 'Renamed', config: { workspace: 'acme' }, version: 2, oauth: { clientAuth: 'post', clientSecretSet: true } });
    const off = ok(await req('PATCH', `/v1/integrations/${i.id}`, owner.auth, { version: 2, enabled: false }));
    expect(off.status).toBe('disabled');
    expect(errorOf(await req('POST', `/v1/integrations/${i.id}/oauth/authorize`, owner.auth)).code).toBe('conflict');
    expect(ok(await req('PATCH', `/v1/integrations/${i.id}`, owner.auth, { version: 3, enabled: true })).status).toBe('pending');
    expect(errorOf(await req('PATCH', `/v1/integrations/${i.id}`, owner.auth, { version: 1, displayName: 'stale' })).code).toBe('version_conflict');
    ok(await req('DELETE', `/v1/integrations/${i.id}`, owner.auth), 204);
    expect((await req('GET', `/v1/integrations/${i.id}`, owner.auth)).statusCode).toBe(404);
    const gone = (await t.db.admin.query<Body>(`SELECT deleted_at, client_secret_ciphertext FROM integrations WHERE id = $1`, [i.id])).rows[0];
    expect(gone.deleted_at).not.toBeNull();
    expect(gone.client_secret_ciphertext).toBeNull();
    expect((await auditRows(t, owner.orgId, i.id)).map((a) => a.action)).toEqual([
      'integration.created', 'integration.updated', 'integration.updated', 'integration.updated', 'integration.deleted',
    ]);
    expect(JSON.stringify(await auditRows(t, owner.orgId, i.id))).not.toContain(CLIENT_SECRET);
  });

  it('fills in the endpoints of a known provider', async () => {
    const g = ok(await req('POST', '/v1/integrations', owner.auth, { provider: 'google', oauth: { clientId: 'x' } }), 201);
    expect(g).toMatchObject({ displayName: 'google', oauth: { tokenUrl: 'https://oauth2.googleapis.com/token', authorizeParams: { access_type: 'offline' }, clientSecretSet: false } });
  });

  it('refuses bad input with a 4xx naming the field, writing nothing', async () => {
    const i = await newIntegration();
    const before = await counts();
    const bad: [string, string, unknown, number, string][] = [
      ['POST', '/v1/integrations', { provider: 'Not A Name' }, 400, 'validation_failed'],
      ['POST', '/v1/integrations', {}, 400, 'validation_failed'],
      ['POST', '/v1/integrations', { provider: 'custom', config: { apiKey: 'x' } }, 400, 'validation_failed'],
      ['POST', '/v1/integrations', { provider: 'custom', config: { nested: [{ client_secret: 'x' }] } }, 400, 'validation_failed'],
      ['POST', '/v1/integrations', { provider: 'custom', config: 'text' }, 400, 'validation_failed'],
      ['POST', '/v1/integrations', { provider: 'custom', oauth: { tokenUrl: 'ftp://x/token' } }, 400, 'validation_failed'],
      ['POST', '/v1/integrations', { provider: 'custom', oauth: { authorizeParams: { state: 'mine' } } }, 400, 'validation_failed'],
      ['POST', '/v1/integrations', { provider: 'custom', scopes: ['has space'] }, 400, 'validation_failed'],
      ['POST', '/v1/integrations', { provider: 'custom', extra: 1 }, 400, 'validation_failed'],
      ['PATCH', `/v1/integrations/${i.id}`, { displayName: 'no version' }, 400, 'validation_failed'],
      ['PATCH', `/v1/integrations/${i.id}`, { version: 1, config: { password: 'hunter2' } }, 400, 'validation_failed'],
      ['PATCH', `/v1/integrations/${i.id}`, { version: 1, provider: 'github' }, 400, 'validation_failed'],
      ['PATCH', '/v1/integrations/not-a-uuid', { version: 1 }, 400, 'validation_failed'],
      ['PUT', `/v1/integrations/${i.id}/token`, { accessToken: '' }, 400, 'validation_failed'],
      ['PUT', `/v1/integrations/${i.id}/token`, { accessToken: 'a', expiresIn: -1 }, 400, 'validation_failed'],
      ['PUT', `/v1/integrations/${i.id}/token`, { accessToken: 'a\nb' }, 400, 'validation_failed'],
      ['POST', `/v1/integrations/${i.id}/token/refresh`, undefined, 409, 'conflict'],
      ['GET', '/v1/integrations?status=bogus', undefined, 400, 'validation_failed'],
      ['GET', '/v1/integrations?cursor=nonsense', undefined, 400, 'bad_request'],
      ['GET', '/v1/integrations/oauth/callback', undefined, 400, 'validation_failed'],
      ['GET', '/v1/integrations/oauth/callback?state=never-issued&code=x', undefined, 400, 'invalid_oauth_state'],
    ];
    for (const [method, url, payload, status, code] of bad) {
      const res = await req(method as InjectOptions['method'], url, url.includes('callback') ? undefined : owner.auth, payload);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(status);
      expect(errorOf(res).code).toBe(code);
    }
    const secretKey = errorOf(await req('POST', '/v1/integrations', owner.auth, { provider: 'custom', config: { accessToken: 'x' } }));
    expect(secretKey.message).toMatch(/PUT \/v1\/integrations\/.*\/token/);
    const bare = await newIntegration(owner.auth, { oauth: {} });
    const unconfigured = errorOf(await req('POST', `/v1/integrations/${bare.id}/oauth/authorize`, owner.auth));
    expect(unconfigured).toMatchObject({ code: 'not_configured', details: { missing: ['oauth.authorizeUrl', 'oauth.tokenUrl', 'oauth.clientId', 'oauth.redirectUri'] } });
    // the refused writes left nothing behind (bare's creation is the only change)
    expect(await counts()).toEqual({ ...before, integrations: before.integrations + 1, audit: before.audit + 1 });
  });

  it('answers another organization 404 on every route, and lists none of its integrations', async () => {
    const i = await newIntegration();
    const o = other.auth;
    for (const [method, url, payload] of [
      ['GET', `/v1/integrations/${i.id}`, undefined],
      ['PATCH', `/v1/integrations/${i.id}`, { version: 1, displayName: 'mine' }],
      ['DELETE', `/v1/integrations/${i.id}`, undefined],
      ['PUT', `/v1/integrations/${i.id}/token`, { accessToken: 'stolen' }],
      ['POST', `/v1/integrations/${i.id}/token/refresh`, undefined],
      ['POST', `/v1/integrations/${i.id}/revoke`, undefined],
      ['POST', `/v1/integrations/${i.id}/oauth/authorize`, undefined],
    ] as const) {
      const res = await req(method, url, o, payload);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    expect(ok(await req('GET', '/v1/integrations', o)).data).toEqual([]);
    expect(await integrationAccessToken(t.service.integrations, other.orgId, i.id)).toBeNull();
  });

  it('needs integrations:read to read and integrations:write to change', async () => {
    const viewer = await joinAs(t, owner, 'viewer');
    const member = await joinAs(t, owner, 'member');
    expect((await req('GET', '/v1/integrations', viewer.auth)).statusCode).toBe(403);
    expect((await req('GET', '/v1/integrations', member.auth)).statusCode).toBe(200);
    expect((await req('POST', '/v1/integrations', member.auth, { provider: 'custom' })).statusCode).toBe(403);
  });
});

describe('the authorization-code flow', () => {
  let id: string;
  let first: { code: string; state: string };

  it('connects: PKCE, client authentication, tokens stored sealed and never returned', async () => {
    id = (await newIntegration()).id;
    const before = { ...p.counts };
    const { callback, code, state } = await connect(id);
    first = { code, state };
    const body = ok(callback);
    expect(body).toMatchObject({ integrationId: id, status: 'connected', token: { tokenType: 'bearer', scopes: ['repo', 'read:user'], hasRefreshToken: true, source: 'authorization_code' } });
    expect(p.counts.code).toBe(before.code + 1);
    expect(p.counts.badPkce).toBe(before.badPkce);
    expect(p.counts.badClient).toBe(before.badClient);
    const i = ok(await req('GET', `/v1/integrations/${id}`, owner.auth));
    expect(i.status).toBe('connected');
    expect(i.lastSyncAt).not.toBeNull();
    expect(new Date(i.token.expiresAt).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    // At rest: sealed. The raw rows hold no token, no client secret.
    const raw = await rawRows(id);
    for (const s of p.issued) expect(raw).not.toContain(s);
    expect(raw).toContain('v1.');
    const audit = await auditRows(t, owner.orgId, id);
    expect(audit.map((a) => a.action)).toEqual(['integration.created', 'integration.authorization_started', 'integration.connected']);
    expect(audit.at(-1)!.new_values).toMatchObject({ status: 'connected' });
  });

  it('hands out the token (the runtime path) and it works at the provider', async () => {
    const tok = await integrationAccessToken(t.service.integrations, owner.orgId, id);
    expect(tok!.tokenType).toBe('Bearer');
    const me = await fetch(`${p.base}/api/me`, { headers: { authorization: `Bearer ${tok!.accessToken}` } });
    expect(me.status).toBe(200);
  });

  it('refuses the same state twice, and an expired one', async () => {
    const exchanges = p.counts.code;
    const again = await req('GET', `/v1/integrations/oauth/callback?code=${first.code}&state=${first.state}`, undefined);
    expect(errorOf(again)).toMatchObject({ code: 'invalid_oauth_state', details: { reason: 'used' } });
    const start = ok(await req('POST', `/v1/integrations/${id}/oauth/authorize`, owner.auth), 201);
    const state = new URL(start.authorizationUrl).searchParams.get('state')!;
    await t.db.admin.query(`UPDATE oauth_states SET created_at = now() - interval '1 hour', expires_at = now() - interval '50 minutes' WHERE integration_id = $1 AND used_at IS NULL`, [id]);
    const late = await req('GET', `/v1/integrations/oauth/callback?code=whatever&state=${state}`, undefined);
    expect(errorOf(late)).toMatchObject({ code: 'invalid_oauth_state', details: { reason: 'expired' } });
    expect(p.counts.code).toBe(exchanges); // neither reached the token endpoint
  });

  it('records a provider that declines, and a code the token endpoint refuses', async () => {
    const start = ok(await req('POST', `/v1/integrations/${id}/oauth/authorize`, owner.auth), 201);
    const state = new URL(start.authorizationUrl).searchParams.get('state')!;
    const denied = await req('GET', `/v1/integrations/oauth/callback?error=access_denied&error_description=nope&state=${state}`, undefined);
    expect(errorOf(denied).code).toBe('bad_request');
    expect(ok(await req('GET', `/v1/integrations/${id}`, owner.auth))).toMatchObject({ status: 'error', lastError: expect.stringContaining('access_denied') });
    const start2 = ok(await req('POST', `/v1/integrations/${id}/oauth/authorize`, owner.auth), 201);
    const state2 = new URL(start2.authorizationUrl).searchParams.get('state')!;
    const refused = await req('GET', `/v1/integrations/oauth/callback?code=forged&state=${state2}`, undefined);
    expect(refused.statusCode).toBe(502);
    expect(errorOf(refused)).toMatchObject({ code: 'provider_error', details: { oauthError: 'invalid_grant' } });
    // the tokens from before are still there; connect again to clear the error
    expect((await connect(id)).callback.statusCode).toBe(200);
  });
});

describe('tokens: storing, refreshing, revoking', () => {
  it('stores a token obtained elsewhere, refreshes it before expiry and rotates the refresh token', async () => {
    const i = await newIntegration();
    const pair = p.mint();
    const stored = ok(await req('PUT', `/v1/integrations/${i.id}/token`, owner.auth, { accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresIn: 30, scopes: ['repo'] }));
    expect(stored).toMatchObject({ status: 'connected', token: { source: 'manual', hasRefreshToken: true, scopes: ['repo'], tokenType: 'Bearer', refreshedAt: null } });
    // 30 s is inside the refresh margin: the use refreshes first.
    const n = p.counts.refresh;
    const tok = await integrationAccessToken(t.service.integrations, owner.orgId, i.id);
    expect(p.counts.refresh).toBe(n + 1);
    expect(tok!.accessToken).not.toBe(pair.accessToken);
    const after = ok(await req('GET', `/v1/integrations/${i.id}`, owner.auth));
    expect(after.token.refreshedAt).not.toBeNull();
    expect(new Date(after.token.expiresAt).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    // The old refresh token was rotated out: the stored one is the new one, so a forced refresh works and spends no old token.
    ok(await req('POST', `/v1/integrations/${i.id}/token/refresh`, owner.auth));
    expect(p.counts.refreshReused).toBe(0);
    const raw = await rawRows(i.id);
    for (const s of p.issued) expect(raw).not.toContain(s);
    expect((await auditRows(t, owner.orgId, i.id)).map((a) => a.action)).toEqual([
      'integration.created', 'integration.token_stored', 'integration.token_refreshed', 'integration.token_refreshed',
    ]);
  });

  it('keeps the refresh token when the provider does not rotate it', async () => {
    const i = await newIntegration();
    const pair = p.mint();
    ok(await req('PUT', `/v1/integrations/${i.id}/token`, owner.auth, { accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresIn: 5 }));
    p.opts.rotate = false;
    try {
      ok(await req('POST', `/v1/integrations/${i.id}/token/refresh`, owner.auth));
      ok(await req('POST', `/v1/integrations/${i.id}/token/refresh`, owner.auth));
    } finally {
      p.opts.rotate = true;
    }
    expect(ok(await req('GET', `/v1/integrations/${i.id}`, owner.auth)).status).toBe('connected');
  });

  it('concurrent uses of a stale token refresh it once; concurrent forced refreshes never spend one refresh token twice', async () => {
    const i = await newIntegration();
    const pair = p.mint();
    ok(await req('PUT', `/v1/integrations/${i.id}/token`, owner.auth, { accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresIn: 1 }));
    p.opts.refreshDelayMs = 50;
    try {
      const n = p.counts.refresh;
      const got = await Promise.all([1, 2, 3, 4].map(() => integrationAccessToken(t.service.integrations, owner.orgId, i.id)));
      expect(p.counts.refresh).toBe(n + 1);
      expect(new Set(got.map((g) => g!.accessToken)).size).toBe(1);
      // Forced: each waits for the row lock and spends the refresh token the previous one stored.
      const forced = await Promise.all([1, 2].map(() => req('POST', `/v1/integrations/${i.id}/token/refresh`, owner.auth)));
      for (const f of forced) expect(f.statusCode, f.body).toBe(200);
      expect(p.counts.refresh).toBe(n + 3);
      expect(p.counts.refreshReused).toBe(0);
    } finally {
      p.opts.refreshDelayMs = 0;
    }
  });

  it('marks the integration error with the reason when the refresh fails', async () => {
    const i = await newIntegration();
    const pair = p.mint();
    ok(await req('PUT', `/v1/integrations/${i.id}/token`, owner.auth, { accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresIn: 10 }));
    p.opts.failRefresh = true;
    try {
      await expect(integrationAccessToken(t.service.integrations, owner.orgId, i.id)).rejects.toMatchObject({ status: 502, code: 'provider_error' });
      const forced = await req('POST', `/v1/integrations/${i.id}/token/refresh`, owner.auth);
      expect(errorOf(forced)).toMatchObject({ code: 'provider_error', details: { oauthError: 'invalid_grant' } });
    } finally {
      p.opts.failRefresh = false;
    }
    const after = ok(await req('GET', `/v1/integrations/${i.id}`, owner.auth));
    expect(after).toMatchObject({ status: 'error', lastError: expect.stringContaining('invalid_grant') });
    expect(after.lastError).not.toContain(pair.refreshToken);
    const audit = await auditRows(t, owner.orgId, i.id);
    expect(audit.at(-1)).toMatchObject({ action: 'integration.token_refresh_failed', new_values: { status: 'error' } });
    // It recovers on the next good refresh.
    ok(await req('POST', `/v1/integrations/${i.id}/token/refresh`, owner.auth));
    expect(ok(await req('GET', `/v1/integrations/${i.id}`, owner.auth))).toMatchObject({ status: 'connected', lastError: null });
  });

  it('an expired token without a refresh token marks the integration expired', async () => {
    const i = await newIntegration();
    ok(await req('PUT', `/v1/integrations/${i.id}/token`, owner.auth, { accessToken: 'at_short_lived_0123456789', expiresIn: 0 }));
    await expect(integrationAccessToken(t.service.integrations, owner.orgId, i.id)).rejects.toMatchObject({ status: 409 });
    expect(ok(await req('GET', `/v1/integrations/${i.id}`, owner.auth)).status).toBe('expired');
  });

  it('refuses provider endpoints on private addresses unless the operator allows them', async () => {
    const i = await newIntegration();
    const pair = p.mint();
    ok(await req('PUT', `/v1/integrations/${i.id}/token`, owner.auth, { accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresIn: 1 }));
    const strict = { ...t.service.integrations, egress: { allowPrivate: false } };
    const n = p.counts.refresh;
    await expect(integrationAccessToken(strict, owner.orgId, i.id)).rejects.toMatchObject({ status: 502, message: expect.stringContaining('loopback') });
    expect(p.counts.refresh).toBe(n);
  });

  it('refreshes tokens expiring soon in the periodic sweep', async () => {
    const i = await newIntegration();
    const pair = p.mint();
    ok(await req('PUT', `/v1/integrations/${i.id}/token`, owner.auth, { accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresIn: 600 }));
    const r = await refreshExpiringTokens(t.service.integrations, { withinMs: 3600_000 });
    expect(r.refreshed).toBeGreaterThanOrEqual(1);
    const after = ok(await req('GET', `/v1/integrations/${i.id}`, owner.auth));
    expect(after.token.refreshedAt).not.toBeNull();
    expect(after.token.lastUsedAt).toBeNull();
  });

  it('revokes at the provider (RFC 7009) and deletes the tokens here', async () => {
    const i = await newIntegration();
    await connect(i.id);
    const n = p.counts.revoke;
    const r = ok(await req('POST', `/v1/integrations/${i.id}/revoke`, owner.auth));
    expect(r.revocation).toEqual({ endpoint: 'called', results: [{ token: 'refresh_token', revoked: true }, { token: 'access_token', revoked: true }] });
    expect(r.integration).toMatchObject({ status: 'revoked', token: null });
    expect(p.counts.revoke).toBe(n + 2);
    expect((await t.db.admin.query(`SELECT 1 FROM oauth_tokens WHERE integration_id = $1`, [i.id])).rows).toHaveLength(0);
    await expect(integrationAccessToken(t.service.integrations, owner.orgId, i.id)).rejects.toMatchObject({ status: 409 });
    expect((await auditRows(t, owner.orgId, i.id)).at(-1)).toMatchObject({ action: 'integration.revoked', new_values: { status: 'revoked' } });
    // Connecting again works after a revocation.
    expect(ok((await connect(i.id)).callback).status).toBe('connected');
  });

  it('never returned a token, a code or the client secret in any answer', () => {
    expect(answers.length).toBeGreaterThan(50);
    const all = answers.join('\n');
    for (const s of p.issued) expect(all).not.toContain(s);
  });

  it('never wrote a token into the audit log', async () => {
    const all = JSON.stringify(await auditRows(t, owner.orgId));
    for (const s of p.issued) expect(all).not.toContain(s);
  });
});
