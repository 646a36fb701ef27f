import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, signupUser, type SignedUp } from '../../helpers/app.js';
import { call, ok, runAgent, runtimeApp, scriptedAgent, type RuntimeTest } from '../../runtime/run-fixtures.js';
import { CLIENT_ID, CLIENT_SECRET, startOAuthServer, type OAuthServer } from './oauth-server.js';

/**
 * An agent's http tool with config.auth.integrationId: the runtime asks for a
 * fresh token through RuntimeDeps.integrationToken (wired to platform at the
 * composition root), sends it as the Bearer token, and records none of it.
 */

let rt: RuntimeTest;
let owner: SignedUp;
let p: OAuthServer;

type Body = ReturnType<typeof JSON.parse>;
const spansOf = (e: { spans: Body[] }): Body[] => e.spans.flatMap(function flat(s: Body): Body[] { return [s, ...s.children.flatMap(flat)]; });

async function integration(auth = owner.auth, allowedHosts: string[] | null = ['127.0.0.1']): Promise<Body> {
  return ok(await call(rt.t, 'POST', '/v1/integrations', auth, {
    provider: 'github',
    ...(allowedHosts ? { allowedHosts } : {}),
    oauth: { tokenUrl: `${p.base}/token`, authorizeUrl: `${p.base}/authorize`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, clientAuth: 'basic' },
  }), 201);
}

const toolBody = (integrationId: string, over: Record<string, unknown> = {}) => ({
  name: `whoami_${Math.random().toString(36).slice(2, 8)}`,
  description: 'Who am I at the provider',
  toolType: 'api',
  config: { url: `${p.base}/api/me`, method: 'GET', auth: { integrationId }, ...over },
  inputSchema: { type: 'object', properties: {}, additionalProperties: false },
});

beforeAll(async () => {
  rt = await runtimeApp({ AGENTBASE_EGRESS_ALLOW_PRIVATE: 'true' });
  owner = rt.owner;
  p = await startOAuthServer();
});
afterAll(async () => {
  await p?.close();
  await rt?.close();
});

describe('an http tool that uses an integration', () => {
  it('checks auth.integrationId when the tool is saved', async () => {
    const mine = await integration();
    const stranger = await signupUser(rt.t.app);
    const theirs = await integration(stranger.auth);
    for (const [config, path] of [
      [toolBody('0190e7a4-0000-7000-8000-000000000000').config, 'body.config.auth.integrationId'],
      [toolBody(theirs.id).config, 'body.config.auth.integrationId'],
      [toolBody('nope').config, 'body.config.auth.integrationId'],
      [toolBody(mine.id, { headers: { Authorization: 'Bearer x' } }).config, 'body.config.headers.Authorization'],
      [{ ...toolBody(mine.id).config, auth: { integrationId: mine.id, extra: 1 } }, 'body.config.auth'],
    ] as const) {
      const res = await call(rt.t, 'POST', '/v1/tools', owner.auth, { ...toolBody(mine.id), config });
      expect(res.statusCode, res.body).toBe(400);
      const e = errorOf(res);
      expect(e.code).toBe('validation_failed');
      expect(JSON.stringify(e.details)).toContain(path);
    }
    const tool = ok(await call(rt.t, 'POST', '/v1/tools', owner.auth, toolBody(mine.id)), 201);
    // Changing the config checks again; switching the tool off does not need the integration.
    const bad = await call(rt.t, 'PATCH', `/v1/tools/${tool.id}`, owner.auth, { version: tool.version, config: toolBody(theirs.id).config });
    expect(errorOf(bad).code).toBe('validation_failed');
  });

  it("sends the integration's token (refreshed first when near expiry) and keeps it out of the execution and its spans", async () => {
    const i = await integration();
    const pair = p.mint();
    // 10 s to go: inside the refresh margin, so the call refreshes first and sends the new token.
    ok(await call(rt.t, 'PUT', `/v1/integrations/${i.id}/token`, owner.auth, { accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresIn: 10 }));
    const tool = ok(await call(rt.t, 'POST', '/v1/tools', owner.auth, toolBody(i.id)), 201);
    rt.scripts.write('whoami', [
      { toolCalls: [{ id: 'c1', name: tool.name, arguments: {} }], usage: { promptTokens: 10, completionTokens: 5 } },
      { content: 'You are octocat.', usage: { promptTokens: 20, completionTokens: 5 }, expect: { lastRole: 'tool', lastContains: 'octocat' } },
    ]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'whoami', { tools: [tool.id] });
    const refreshes = p.counts.refresh;
    const seen = p.apiSeen.length;
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Who am I?' }));
    expect(e).toMatchObject({ status: 'completed', output: { content: 'You are octocat.' } });
    expect(p.counts.refresh).toBe(refreshes + 1);
    const sent = p.apiSeen.slice(seen);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^Bearer at_/);
    expect(sent[0]).not.toBe(`Bearer ${pair.accessToken}`);
    const newToken = sent[0]!.slice('Bearer '.length);

    const span = spansOf(e).find((s) => s.kind === 'tool_call');
    expect(span).toMatchObject({ toolName: tool.name, toolStatus: 'success', output: { status: 200, body: { login: 'octocat', youSent: 'Bearer [redacted]' } } });
    const fetched = ok(await call(rt.t, 'GET', `/v1/executions/${e.id ?? e.executionId}`, owner.auth));
    const rawSpans = JSON.stringify((await rt.t.db.admin.query(`SELECT * FROM spans WHERE org_id = $1`, [owner.orgId])).rows);
    for (const text of [JSON.stringify(e), JSON.stringify(fetched), rawSpans]) {
      for (const s of p.issued) expect(text).not.toContain(s);
      expect(text).not.toContain(newToken);
    }
    expect(ok(await call(rt.t, 'GET', `/v1/integrations/${i.id}`, owner.auth)).lastUsedAt).not.toBeNull();
  });

  it("refuses to send the token to a host the integration does not list: nothing is sent, the model reads why", async () => {
    // github's default allowedHosts is api.github.com: a tool at another host gets no token
    const i = await integration(owner.auth, null);
    expect(i.allowedHosts).toEqual(['api.github.com']);
    const pair = p.mint();
    ok(await call(rt.t, 'PUT', `/v1/integrations/${i.id}/token`, owner.auth, { accessToken: pair.accessToken, expiresIn: 3600 }));
    const tool = ok(await call(rt.t, 'POST', '/v1/tools', owner.auth, toolBody(i.id)), 201);
    rt.scripts.write('wrong-host', [
      { toolCalls: [{ id: 'c1', name: tool.name, arguments: {} }], usage: { promptTokens: 10, completionTokens: 5 } },
      { content: 'Refused.', usage: { promptTokens: 20, completionTokens: 5 }, expect: { lastRole: 'tool', lastContains: 'allowedHosts' } },
    ]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'wrong-host', { tools: [tool.id] });
    const api = p.counts.api;
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Who am I?' }));
    expect(e.status).toBe('completed');
    expect(spansOf(e).find((s) => s.kind === 'tool_call')).toMatchObject({ toolStatus: 'error' });
    expect(p.counts.api).toBe(api);
    expect(JSON.stringify(e)).not.toContain(pair.accessToken);
    // an admin lists the host; a bad host name is refused with the field named
    const bad = await call(rt.t, 'PATCH', `/v1/integrations/${i.id}`, owner.auth, { version: i.version, allowedHosts: ['Not A Host'] });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(errorOf(bad).details)).toContain('allowedHosts');
    const fixed = ok(await call(rt.t, 'PATCH', `/v1/integrations/${i.id}`, owner.auth, { version: i.version, allowedHosts: ['api.github.com', '127.0.0.1'] }));
    expect(fixed.allowedHosts).toEqual(['api.github.com', '127.0.0.1']);
  });

  it('gives the model an error it can read when the integration cannot give a token', async () => {
    const i = await integration();
    const tool = ok(await call(rt.t, 'POST', '/v1/tools', owner.auth, toolBody(i.id)), 201);
    rt.scripts.write('no-token', [
      { toolCalls: [{ id: 'c1', name: tool.name, arguments: {} }], usage: { promptTokens: 10, completionTokens: 5 } },
      { content: 'Not connected.', usage: { promptTokens: 20, completionTokens: 5 }, expect: { lastRole: 'tool', lastContains: 'has no token' } },
    ]);
    const agent = await scriptedAgent(rt.t, owner.auth, 'no-token', { tools: [tool.id] });
    const api = p.counts.api;
    const e = ok(await runAgent(rt.t, owner.auth, agent.id, { input: 'Who am I?' }));
    expect(e.status).toBe('completed');
    expect(spansOf(e).find((s) => s.kind === 'tool_call')).toMatchObject({ toolStatus: 'error' });
    expect(p.counts.api).toBe(api);
  });
});
