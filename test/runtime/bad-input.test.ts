import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, type SignedUp } from '../helpers/app.js';
import { join } from '../helpers/identity.js';
import { call, rowCounts, runtimeApp, scriptedAgent, type Auth, type RuntimeTest } from './run-fixtures.js';

let rt: RuntimeTest;
let owner: SignedUp;
let viewer: Auth;
let agentId: string;
let sessionId: string;
const NOBODY = '00000000-0000-7000-8000-000000000000';

beforeAll(async () => {
  rt = await runtimeApp();
  owner = rt.owner;
  viewer = (await join(rt.t.app, owner, 'viewer')).auth;
  rt.scripts.write('fine', [{ content: 'fine' }]);
  agentId = (await scriptedAgent(rt.t, owner.auth, 'fine')).id;
  const s = await call(rt.t, 'POST', '/v1/sessions', owner.auth, {});
  sessionId = s.json().id;
});
afterAll(async () => rt?.close());

type Case = [name: string, method: 'GET' | 'POST' | 'DELETE', url: () => string, body?: unknown];

const run = () => `/v1/agents/${agentId}/executions`;
const cases: Case[] = [
  ['run: agent neither id nor slug', 'POST', () => '/v1/agents/No_pe/executions', { input: 'x' }],
  ['run (/runs): agent neither id nor slug', 'POST', () => '/v1/agents/No_pe/runs', { input: 'x' }],
  ['run: no input', 'POST', run, {}],
  ['run: empty input', 'POST', run, { input: '' }],
  ['run: input a number', 'POST', run, { input: 42 }],
  ['run: no messages', 'POST', run, { input: [] }],
  ['run: a tool message', 'POST', run, { input: [{ role: 'tool', content: 'x' }] }],
  ['run: a message without content', 'POST', run, { input: [{ role: 'user' }] }],
  ['run: a NUL in the input', 'POST', run, { input: 'a\u0000b' }],
  ['run: unknown field', 'POST', run, { input: 'x', temperature: 2 }],
  ['run: unknown mode', 'POST', run, { input: 'x', mode: 'later' }],
  ['run: both session fields', 'POST', run, { input: 'x', sessionToken: 't', sessionId: NOBODY }],
  ['run: sessionId not a uuid', 'POST', run, { input: 'x', sessionId: 'abc' }],
  ['run: empty sessionToken', 'POST', run, { input: 'x', sessionToken: '' }],
  ['run: maxSteps 0', 'POST', run, { input: 'x', limits: { maxSteps: 0 } }],
  ['run: maxSteps above the service limit', 'POST', run, { input: 'x', limits: { maxSteps: 21 } }],
  ['run: timeoutMs above the service limit', 'POST', run, { input: 'x', limits: { timeoutMs: 301_000 } }],
  ['run: timeoutMs a string', 'POST', run, { input: 'x', limits: { timeoutMs: '5s' } }],
  ['run: negative maxCostUsd', 'POST', run, { input: 'x', limits: { maxCostUsd: -1 } }],
  ['run: fractional maxTokens', 'POST', run, { input: 'x', limits: { maxTokens: 1.5 } }],
  ['run: unknown limit', 'POST', run, { input: 'x', limits: { maxDollars: 1 } }],
  ['run: empty version', 'POST', run, { input: 'x', version: '' }],
  ['run: metadata not an object', 'POST', run, { input: 'x', metadata: ['a'] }],
  ['run: metadata with the runtime key', 'POST', run, { input: 'x', metadata: { runtime: { mode: 'mine' } } }],
  ['run: 21 tags', 'POST', run, { input: 'x', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }],
  ['run: a tag with a comma', 'POST', run, { input: 'x', tags: ['a,b'] }],
  ['run: tags a string', 'POST', run, { input: 'x', tags: 'beta' }],
  ['run: planId not a uuid', 'POST', run, { input: 'x', planId: 'plan-1' }],
  ['cancel: id not a uuid', 'POST', () => '/v1/executions/nope/cancel'],
  ['sessions: unknown field', 'POST', () => '/v1/sessions', { token: 'x' }],
  ['sessions: ttl too short', 'POST', () => '/v1/sessions', { ttlSeconds: 5 }],
  ['sessions: ttl not an integer', 'POST', () => '/v1/sessions', { ttlSeconds: 60.5 }],
  ['sessions: context not an object', 'POST', () => '/v1/sessions', { context: [1] }],
  ['sessions: agentId not a uuid', 'POST', () => '/v1/sessions', { agentId: 'x' }],
  ['sessions: agentId of no agent', 'POST', () => '/v1/sessions', { agentId: NOBODY }],
  ['sessions: empty token', 'POST', () => '/v1/sessions', { sessionToken: '' }],
  ['sessions list: limit 0', 'GET', () => '/v1/sessions?limit=0'],
  ['sessions list: active maybe', 'GET', () => '/v1/sessions?active=maybe'],
  ['sessions list: bad cursor', 'GET', () => '/v1/sessions?cursor=zzz'],
  ['sessions list: unknown parameter', 'GET', () => '/v1/sessions?sort=name'],
  ['session: id not a uuid', 'GET', () => '/v1/sessions/nope'],
  ['end session: id not a uuid', 'DELETE', () => '/v1/sessions/nope'],
];

describe('bad input to the runtime routes', () => {
  it.each(cases)('%s → 400, nothing written', async (_name, method, url, body) => {
    const before = await rowCounts(rt.t);
    const res = await call(rt.t, method, url(), owner.auth, body);
    expect(res.statusCode, res.body).toBe(400);
    const err = errorOf(res);
    expect(['validation_failed', 'bad_request']).toContain(err.code);
    expect(err.message.length).toBeGreaterThan(10);
    expect(await rowCounts(rt.t)).toEqual(before);
  });

  it('a body that is not JSON is 400 invalid_json', async () => {
    const res = await rt.t.app.inject({ method: 'POST', url: run(), headers: { ...owner.auth, 'content-type': 'application/json' }, payload: '{"input": ' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('invalid_json');
  });

  it('unknown ids are 404', async () => {
    for (const [method, url] of [
      ['POST', `/v1/agents/${NOBODY}/executions`],
      ['POST', `/v1/executions/${NOBODY}/cancel`],
      ['GET', `/v1/sessions/${NOBODY}`],
      ['DELETE', `/v1/sessions/${NOBODY}`],
    ] as const) {
      const res = await call(rt.t, method, url, owner.auth, method === 'POST' && url.includes('agents') ? { input: 'x' } : undefined);
      expect(res.statusCode, url).toBe(404);
    }
  });

  it('needs a caller (401) with the right permission (403)', async () => {
    const routes = [
      ['POST', run(), { input: 'x' }],
      ['POST', `/v1/executions/${NOBODY}/cancel`, undefined],
      ['POST', '/v1/sessions', {}],
      ['DELETE', `/v1/sessions/${sessionId}`, undefined],
    ] as const;
    for (const [method, url, body] of routes) {
      expect((await call(rt.t, method, url, { authorization: '' }, body)).statusCode, url).toBe(401);
      const res = await call(rt.t, method, url, viewer, body);
      expect(res.statusCode, url).toBe(403);
      expect(errorOf(res).message).toContain('executions:write');
    }
    // Reading sessions is a viewer's right.
    expect((await call(rt.t, 'GET', '/v1/sessions', viewer)).statusCode).toBe(200);
    expect((await call(rt.t, 'GET', `/v1/sessions/${sessionId}`, viewer)).statusCode).toBe(200);
  });
});
