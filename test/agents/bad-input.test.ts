import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { client, counts, createAgent, createTool, ok, publish, signupBuilder } from './fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
const ids = { agent: '', tool: '', state: '' };
let snapshot: { agent: unknown; tool: unknown; versions: unknown; capabilities: unknown; states: unknown };

const read = async () => ({
  agent: ok(await c.get(`/v1/agents/${ids.agent}`, owner.auth)),
  tool: ok(await c.get(`/v1/tools/${ids.tool}`, owner.auth)),
  versions: ok(await c.get(`/v1/agents/${ids.agent}/versions`, owner.auth)),
  capabilities: ok(await c.get(`/v1/agents/${ids.agent}/capabilities`, owner.auth)),
  states: ok(await c.get(`/v1/agents/${ids.agent}/states`, owner.auth)),
});

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
  ids.tool = (await createTool(t, owner.auth, { name: 'bad_input_tool' })).id;
  ids.agent = (await createAgent(t, owner.auth, { name: 'Bad input target', tools: [ids.tool] })).id;
  await publish(t, owner.auth, ids.agent, '1.0.0');
  ok(await c.put(`/v1/agents/${ids.agent}/capabilities/planning`, owner.auth, { proficiency: 0.5 }), 201);
  ids.state = ok(await c.post(`/v1/agents/${ids.agent}/states`, owner.auth, { checkpointType: 'manual', stateData: { a: 1 } }), 201).id;
  snapshot = await read();
});
afterAll(async () => t?.close());

type Case = [what: string, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: () => string, body?: unknown];
const agentUrl = (rest = '') => () => `/v1/agents/${ids.agent}${rest}`;
const NUL = '\u0000';
let deep: unknown = 'leaf';
for (let i = 0; i < 40; i++) deep = { d: deep };

const CASES: Case[] = [
  // POST /v1/agents
  ['agent: unknown field', 'POST', () => '/v1/agents', { name: 'x', colour: 'red' }],
  ['agent: missing name', 'POST', () => '/v1/agents', { systemPrompt: 'x' }],
  ['agent: blank name', 'POST', () => '/v1/agents', { name: '   ' }],
  ['agent: name too long', 'POST', () => '/v1/agents', { name: 'n'.repeat(256) }],
  ['agent: name not a string', 'POST', () => '/v1/agents', { name: 5 }],
  ['agent: temperature above 2', 'POST', () => '/v1/agents', { name: 'x', temperature: 2.01 }],
  ['agent: temperature below 0', 'POST', () => '/v1/agents', { name: 'x', temperature: -0.1 }],
  ['agent: temperature as text', 'POST', () => '/v1/agents', { name: 'x', temperature: '0.5' }],
  ['agent: maxTokens 0', 'POST', () => '/v1/agents', { name: 'x', maxTokens: 0 }],
  ['agent: maxTokens fractional', 'POST', () => '/v1/agents', { name: 'x', maxTokens: 1.5 }],
  ['agent: maxTokens beyond int4', 'POST', () => '/v1/agents', { name: 'x', maxTokens: 3_000_000_000 }],
  ['agent: learningRate above 1', 'POST', () => '/v1/agents', { name: 'x', learningRate: 1.5 }],
  ['agent: performanceScore below 0', 'POST', () => '/v1/agents', { name: 'x', performanceScore: -1 }],
  ['agent: unknown memoryType', 'POST', () => '/v1/agents', { name: 'x', memoryType: 'short' }],
  ['agent: unknown cognitivePattern', 'POST', () => '/v1/agents', { name: 'x', cognitivePattern: 'random' }],
  ['agent: tools not an array', 'POST', () => '/v1/agents', { name: 'x', tools: 'all' }],
  ['agent: tools with a bad uuid', 'POST', () => '/v1/agents', { name: 'x', tools: ['not-a-uuid'] }],
  ['agent: slug with capitals', 'POST', () => '/v1/agents', { name: 'x', slug: 'Bad Slug' }],
  ['agent: slug with a leading dash', 'POST', () => '/v1/agents', { name: 'x', slug: '-x' }],
  ['agent: modelSettings an array', 'POST', () => '/v1/agents', { name: 'x', modelSettings: [1] }],
  ['agent: metadata a string', 'POST', () => '/v1/agents', { name: 'x', metadata: 'str' }],
  ['agent: metadata holding NUL', 'POST', () => '/v1/agents', { name: 'x', metadata: { a: `x${NUL}y` } }],
  ['agent: metadata nested too deep', 'POST', () => '/v1/agents', { name: 'x', metadata: deep }],
  ['agent: systemPrompt holding NUL', 'POST', () => '/v1/agents', { name: 'x', systemPrompt: `a${NUL}b` }],
  ['agent: type with a space', 'POST', () => '/v1/agents', { name: 'x', type: 'has space' }],
  ['agent: status paused on create', 'POST', () => '/v1/agents', { name: 'x', status: 'paused' }],
  ['agent: changelog without status active', 'POST', () => '/v1/agents', { name: 'x', changelog: 'first' }],
  ['agent: UUID-shaped slug', 'POST', () => '/v1/agents', { name: 'x', slug: '0b7e5a6c-1111-4222-8333-944455556666' }],
  ['agent: body an array', 'POST', () => '/v1/agents', [{ name: 'x' }]],
  // GET /v1/agents
  ['list agents: unknown status', 'GET', () => '/v1/agents?status=running'],
  ['list agents: limit 0', 'GET', () => '/v1/agents?limit=0'],
  ['list agents: limit not a number', 'GET', () => '/v1/agents?limit=abc'],
  ['list agents: unknown parameter', 'GET', () => '/v1/agents?owner=me'],
  ['list agents: forged cursor', 'GET', () => `/v1/agents?cursor=${Buffer.from('{"id":"nope"}').toString('base64url')}`],
  // one agent
  ['get agent: neither id nor slug', 'GET', () => '/v1/agents/Nope'],
  ['patch agent: neither id nor slug', 'PATCH', () => '/v1/agents/-123', { version: 1, description: 'x' }],
  ['patch agent: missing version', 'PATCH', agentUrl(), { description: 'x' }],
  ['patch agent: version 0', 'PATCH', agentUrl(), { version: 0, description: 'x' }],
  ['patch agent: version as text', 'PATCH', agentUrl(), { version: '2', description: 'x' }],
  ['patch agent: unknown field', 'PATCH', agentUrl(), { version: 2, colour: 'red' }],
  ['patch agent: temperature 3', 'PATCH', agentUrl(), { version: 2, temperature: 3 }],
  ['patch agent: null name', 'PATCH', agentUrl(), { version: 2, name: null }],
  ['delete agent: neither id nor slug', 'DELETE', () => '/v1/agents/not_a_slug'],
  ['status: unknown status', 'POST', agentUrl('/status'), { status: 'running', version: 2 }],
  ['status: neither id nor slug', 'POST', () => '/v1/agents/x-/status', { status: 'active', version: 2 }],
  // versions
  ['publish: two-part version', 'POST', agentUrl('/versions'), { version: '1.0' }],
  ['publish: v prefix', 'POST', agentUrl('/versions'), { version: 'v2.0.0' }],
  ['publish: leading zero', 'POST', agentUrl('/versions'), { version: '02.0.0' }],
  ['publish: empty pre-release', 'POST', agentUrl('/versions'), { version: '2.0.0-' }],
  ['publish: version too long', 'POST', agentUrl('/versions'), { version: `2.0.0-${'a'.repeat(50)}` }],
  ['publish: version a number', 'POST', agentUrl('/versions'), { version: 2 }],
  ['publish: changelog a number', 'POST', agentUrl('/versions'), { version: '2.0.0', changelog: 5 }],
  ['publish: unknown field', 'POST', agentUrl('/versions'), { version: '2.0.0', tag: 'x' }],
  ['publish: neither id nor slug', 'POST', () => '/v1/agents/z.z/versions', { version: '2.0.0' }],
  ['list versions: limit 101', 'GET', agentUrl('/versions?limit=101')],
  ['get version: not semver', 'GET', agentUrl('/versions/latest')],
  ['diff: bad left side', 'GET', agentUrl('/versions/1.0/diff/1.0.0')],
  ['diff: bad right side', 'GET', agentUrl('/versions/1.0.0/diff/x')],
  ['rollback: not semver', 'POST', agentUrl('/rollback'), { version: 'previous' }],
  ['rollback: empty body', 'POST', agentUrl('/rollback'), {}],
  ['rollback: unknown field', 'POST', agentUrl('/rollback'), { version: '1.0.0', force: true }],
  // tools
  ['tool: unknown type', 'POST', () => '/v1/tools', { name: 't1', description: 'x', toolType: 'shell', inputSchema: { type: 'object' } }],
  ['tool: missing description', 'POST', () => '/v1/tools', { name: 't1', toolType: 'function', inputSchema: { type: 'object' } }],
  ['tool: blank description', 'POST', () => '/v1/tools', { name: 't1', description: '  ', toolType: 'function', inputSchema: { type: 'object' } }],
  ['tool: config an array', 'POST', () => '/v1/tools', { name: 't1', description: 'x', toolType: 'function', config: [], inputSchema: { type: 'object' } }],
  ['tool: missing inputSchema', 'POST', () => '/v1/tools', { name: 't1', description: 'x', toolType: 'function' }],
  ['tool: unknown field', 'POST', () => '/v1/tools', { name: 't1', description: 'x', toolType: 'function', inputSchema: { type: 'object' }, code: 'x' }],
  ['tool: isActive as text', 'POST', () => '/v1/tools', { name: 't1', description: 'x', toolType: 'function', inputSchema: { type: 'object' }, isActive: 'yes' }],
  ['list tools: unknown type', 'GET', () => '/v1/tools?toolType=shell'],
  ['get tool: bad uuid', 'GET', () => '/v1/tools/nope'],
  ['patch tool: missing version', 'PATCH', () => `/v1/tools/${ids.tool}`, { description: 'x' }],
  ['patch tool: unknown field', 'PATCH', () => `/v1/tools/${ids.tool}`, { version: 1, owner: 'me' }],
  ['patch tool: null inputSchema', 'PATCH', () => `/v1/tools/${ids.tool}`, { version: 1, inputSchema: null }],
  ['delete tool: bad uuid', 'DELETE', () => '/v1/tools/nope'],
  // capabilities
  ['capability: neither id nor slug', 'PUT', () => '/v1/agents/NOPE/capabilities/planning', { proficiency: 0.5 }],
  ['capability: proficiency 2', 'PUT', agentUrl('/capabilities/planning'), { proficiency: 2 }],
  ['capability: unknown field', 'PUT', agentUrl('/capabilities/planning'), { proficiency: 0.5, level: 'high' }],
  ['capability: bad name', 'PUT', agentUrl('/capabilities/.hidden'), { proficiency: 0.5 }],
  ['list capabilities: limit 0', 'GET', agentUrl('/capabilities?limit=0')],
  ['list capabilities: neither id nor slug', 'GET', () => '/v1/agents/n%20pe/capabilities'],
  ['delete capability: bad name', 'DELETE', agentUrl('/capabilities/_x')],
  // states
  ['state: blank checkpointType', 'POST', agentUrl('/states'), { checkpointType: '', stateData: {} }],
  ['state: checkpointType with capitals', 'POST', agentUrl('/states'), { checkpointType: 'Manual', stateData: {} }],
  ['state: stateData an array', 'POST', agentUrl('/states'), { checkpointType: 'manual', stateData: [1] }],
  ['state: stateData a string', 'POST', agentUrl('/states'), { checkpointType: 'manual', stateData: 'x' }],
  ['state: missing stateData', 'POST', agentUrl('/states'), { checkpointType: 'manual' }],
  ['state: stateData holding NUL', 'POST', agentUrl('/states'), { checkpointType: 'manual', stateData: { [`k${NUL}`]: 1 } }],
  ['state: unknown field', 'POST', agentUrl('/states'), { checkpointType: 'manual', stateData: {}, ttl: 5 }],
  ['list states: limit 0', 'GET', agentUrl('/states?limit=0')],
  ['get state: bad uuid', 'GET', agentUrl('/states/nope')],
  ['restore: bad state uuid', 'POST', agentUrl('/states/nope/restore')],
  ['restore: a body with fields', 'POST', () => `/v1/agents/${ids.agent}/states/${ids.state}/restore`, { force: true }],
];

describe('bad input on every route', () => {
  it.each(CASES)('%s → 400 and nothing written', async (_what, method, url, body) => {
    const before = await counts(t);
    const res = await t.app.inject({ method, url: url(), headers: owner.auth, ...(body === undefined ? {} : { payload: body as object }) });
    expect(res.statusCode, res.body).toBe(400);
    expect(['validation_failed', 'bad_request', 'json_too_deep']).toContain(errorOf(res).code);
    expect(await counts(t)).toEqual(before);
  });

  it('names the offending field in the issues', async () => {
    const res = await c.post('/v1/agents', owner.auth, { name: 'x', temperature: 9 });
    expect(errorOf(res).details).toMatchObject({ issues: [{ path: 'body.temperature' }] });
  });

  it('left every object as it was', async () => {
    expect(await read()).toEqual(snapshot);
  });
});
