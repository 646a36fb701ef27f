import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { createAgent, joinAs } from '../agents/fixtures.js';
import { client, createWorkflow, ok, storedTool, type Auth } from './fixtures.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let viewer: { userId: string; auth: Auth };
let agent: { id: string; slug: string };

const tool = (key: string, over: Record<string, unknown> = {}) => ({ key, type: 'tool', tool: 'lookup', ...over });

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  viewer = await joinAs(t, a, 'viewer');
  await storedTool(t, a.auth, 'lookup');
  agent = await createAgent(t, a.auth, { name: 'Planner', slug: 'planner' });
});
afterAll(async () => t?.close());

const c = () => client(t);
const count = async () => ok(await c().get('/v1/workflows?limit=100', a.auth)).data.length as number;

describe('workflow definitions', () => {
  it('creates version 1 with the graph, reads, lists and pages', async () => {
    const w = await createWorkflow(t, a.auth, [
      { key: 'plan', type: 'agent', agent: 'planner', input: { city: '$.input.city' } },
      { key: 'search', type: 'tool', tool: 'lookup', dependsOn: ['plan'], input: { q: '$.steps.plan.output.query' }, retries: 2, timeoutMs: 5000 },
      { key: 'fan', type: 'fan_out', dependsOn: ['search'], over: '$.steps.search.output.items', step: { type: 'tool', tool: 'lookup', input: { item: '$.item', n: '$.index' } } },
      { key: 'join', type: 'fan_in', from: 'fan' },
      { key: 'ok', type: 'approval', dependsOn: ['join'], approvers: [a.userId], message: 'Book it?' },
      { key: 'paid', type: 'wait', dependsOn: ['ok'], event: 'payment.received' },
    ], { name: 'Trip booking', description: 'Plans and books a trip', status: 'draft' });
    expect(w).toMatchObject({ name: 'Trip booking', description: 'Plans and books a trip', status: 'draft', version: 1, createdBy: a.userId });
    expect(w.dependencies).toEqual({ plan: [], search: ['plan'], fan: ['search'], join: ['fan'], ok: ['join'], paid: ['ok'] });
    expect(ok(await c().get(`/v1/workflows/${w.id}`, a.auth))).toEqual(w);
    expect(ok(await c().get(`/v1/workflows/${w.id}`, viewer.auth)).id).toBe(w.id);
    const v1 = ok(await c().get(`/v1/workflows/${w.id}/versions/1`, a.auth));
    expect(v1).toMatchObject({ workflowId: w.id, version: 1, steps: w.steps, dependencies: w.dependencies });

    const more = [await createWorkflow(t, a.auth, [tool('x')]), await createWorkflow(t, a.auth, [tool('y')], { status: 'draft' })];
    const all = ok(await c().get('/v1/workflows', a.auth)).data.map((x: { id: string }) => x.id);
    expect(all.slice(0, 3)).toEqual([more[1].id, more[0].id, w.id]);
    expect(ok(await c().get('/v1/workflows?status=active', a.auth)).data.map((x: { id: string }) => x.id)).toContain(more[0].id);
    expect(ok(await c().get('/v1/workflows?status=active', a.auth)).data.map((x: { id: string }) => x.id)).not.toContain(more[1].id);
    const p1 = ok(await c().get('/v1/workflows?limit=2', a.auth));
    const p2 = ok(await c().get(`/v1/workflows?limit=2&cursor=${p1.nextCursor}`, a.auth));
    expect([...p1.data, ...p2.data].map((x: { id: string }) => x.id).slice(0, 3)).toEqual(all.slice(0, 3));
    expect(ok(await c().get('/v1/workflows', b.auth)).data).toEqual([]);
    expect(errorOf(await c().get(`/v1/workflows/${w.id}`, b.auth)).code).toBe('not_found');
  });

  it('bumps the version on every save, keeps each version, refuses a stale one, and archived is final', async () => {
    const w = await createWorkflow(t, a.auth, [tool('one')], { status: 'draft' });
    const v2 = ok(await c().patch(`/v1/workflows/${w.id}`, a.auth, { version: 1, steps: [tool('one'), tool('two', { dependsOn: ['one'] })] }));
    expect(v2).toMatchObject({ version: 2, dependencies: { one: [], two: ['one'] } });
    const v3 = ok(await c().patch(`/v1/workflows/${w.id}`, a.auth, { version: 2, status: 'active', name: 'Renamed' }));
    expect(v3).toMatchObject({ version: 3, status: 'active', name: 'Renamed', steps: v2.steps });
    const stale = await c().patch(`/v1/workflows/${w.id}`, a.auth, { version: 2, name: 'Again' });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');

    const versions = ok(await c().get(`/v1/workflows/${w.id}/versions`, a.auth)).data;
    expect(versions.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
    expect(versions[2].steps).toEqual([tool('one')]);
    const page1 = ok(await c().get(`/v1/workflows/${w.id}/versions?limit=2`, a.auth));
    expect(ok(await c().get(`/v1/workflows/${w.id}/versions?limit=2&cursor=${page1.nextCursor}`, a.auth)).data.map((v: { version: number }) => v.version)).toEqual([1]);

    ok(await c().patch(`/v1/workflows/${w.id}`, a.auth, { version: 3, status: 'archived' }));
    const after = await c().patch(`/v1/workflows/${w.id}`, a.auth, { version: 4, status: 'active' });
    expect(after.statusCode).toBe(409);
    expect(errorOf(after).message).toMatch(/archived/);
  });

  it('refuses a second workflow with the same name (any case) with 409', async () => {
    await createWorkflow(t, a.auth, [tool('x')], { name: 'Unique Name' });
    const res = await c().post('/v1/workflows', a.auth, { name: 'unique name', steps: [tool('x')] });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).details).toMatchObject({ field: 'name' });
  });

  it('deletes (204), after which it is gone; a viewer cannot write', async () => {
    const w = await createWorkflow(t, a.auth, [tool('x')]);
    expect((await c().del(`/v1/workflows/${w.id}`, viewer.auth)).statusCode).toBe(403);
    expect((await c().post('/v1/workflows', viewer.auth, { name: 'v', steps: [tool('x')] })).statusCode).toBe(403);
    expect((await c().patch(`/v1/workflows/${w.id}`, viewer.auth, { version: 1, name: 'v' })).statusCode).toBe(403);
    expect((await c().del(`/v1/workflows/${w.id}`, a.auth)).statusCode).toBe(204);
    expect((await c().get(`/v1/workflows/${w.id}`, a.auth)).statusCode).toBe(404);
    expect((await c().get(`/v1/workflows/${w.id}/versions`, a.auth)).statusCode).toBe(404);
    expect((await c().del(`/v1/workflows/${w.id}`, a.auth)).statusCode).toBe(404);
  });
});

describe('definitions that are refused (400 validation_failed naming the step, nothing written)', () => {
  const cases: Array<[string, unknown[], RegExp]> = [
    ['duplicate keys', [tool('a'), tool('b'), tool('a')], /step "a": the key is already used by steps\.0/],
    ['a dangling dependsOn', [tool('a'), tool('b', { dependsOn: ['a', 'ghost'] })], /step "b": dependsOn names "ghost", which is not a step/],
    ['a cycle', [tool('a', { dependsOn: ['c'] }), tool('b', { dependsOn: ['a'] }), tool('c', { dependsOn: ['b'] }), tool('d')], /step "a" is on a cycle: a → b → c → a/],
    ['a step depending on itself', [tool('solo', { dependsOn: ['solo'] })], /step "solo" is on a cycle: solo → solo/],
    ['a cycle behind a valid start', [tool('root'), tool('x', { dependsOn: ['root', 'y'] }), tool('y', { dependsOn: ['x'] })], /step "x" is on a cycle: x → y → x/],
    ['a mapping to a step that is not an ancestor', [tool('a'), tool('b'), tool('c', { dependsOn: ['a'], input: { v: '$.steps.b.output.v' } })], /step "c": input\.v: \$\.steps\.b\.output\.v refers to step "b", which is not an ancestor of "c"/],
    ['a mapping to a later step', [tool('a', { input: '$.steps.b.output' }), tool('b', { dependsOn: ['a'] })], /step "a": .*not an ancestor/],
    ['a malformed path', [tool('a', { input: { x: '$.input..city' } })], /step "a": input\.x: path \$\.input\.\.city/],
    ['an unknown path root', [tool('a', { input: '$.output' })], /step "a": .*must start with \$\.input/],
    ['$.item outside a fan_out template', [tool('a', { input: '$.item' })], /step "a": .*exists only in a fan_out/],
    ['a fan_in from a step that is not a fan_out', [tool('a'), { key: 'j', type: 'fan_in', from: 'a' }], /step "j": from names "a", which is a tool step, not a fan_out/],
    ['a plain step depending on a fan_out', [{ key: 'f', type: 'fan_out', over: '$.input.list', step: { type: 'tool', tool: 'lookup' } }, tool('after', { dependsOn: ['f'] })], /step "after": depends on fan_out step "f"/],
    ['an unknown tool', [tool('a'), tool('b', { tool: 'no_such_tool' })], /step "b": tool "no_such_tool" is not a stored tool/],
    ['an unknown tool in a fan_out template', [{ key: 'f', type: 'fan_out', over: [1], step: { type: 'tool', tool: 'nope' } }], /step "f": tool "nope"/],
    ['an unknown agent slug', [{ key: 'think', type: 'agent', agent: 'nobody' }], /step "think": agent "nobody" does not exist/],
    ['an unknown agent id', [{ key: 'think', type: 'agent', agent: '00000000-0000-4000-8000-000000000000' }], /step "think": agent .* does not exist/],
    ['an unpublished agent version', [{ key: 'think', type: 'agent', agent: 'planner', version: '9.9.9' }], /step "think": agent "planner" has no version 9\.9\.9/],
    ['an approver who is not a member', [{ key: 'ok', type: 'approval', approvers: ['00000000-0000-4000-8000-000000000000'], message: 'ok?' }], /step "ok": approver .* is not an active member/],
    ['an unknown role', [{ key: 'ok', type: 'approval', role: 'treasurers', message: 'ok?' }], /step "ok": role "treasurers" does not exist/],
    ['approvers and role together', [{ key: 'ok', type: 'approval', role: 'admin', approvers: ['00000000-0000-4000-8000-000000000000'], message: 'ok?' }], /step "ok": .*either approvers/],
    ['an unknown step type', [{ key: 'zap', type: 'teleport' }], /step "zap": type/],
    ['a tool step without its tool', [{ key: 'a', type: 'tool' }], /step "a": tool/],
    ['a step without a key', [{ type: 'tool', tool: 'lookup' }], /steps\.0: key/],
    ['a bad key', [tool('has.dot')], /step "has\.dot": key/],
    ['an unknown field on a step', [tool('a', { colour: 'red' })], /step "a": .*colour/],
    ['negative retries', [tool('a', { retries: -1 })], /step "a": retries/],
    ['a wait step without an event', [{ key: 'w', type: 'wait' }], /step "w": event/],
  ];

  it.each(cases)('%s', async (_name, steps, message) => {
    const before = await count();
    const res = await c().post('/v1/workflows', a.auth, { name: `bad-${Math.random()}`, steps });
    expect(res.statusCode, res.body).toBe(400);
    const err = errorOf(res);
    expect(err.code).toBe('validation_failed');
    expect(err.message).toMatch(message);
    expect((err.details as { issues: Array<{ path: string }> }).issues[0]!.path).toMatch(/^steps/);
    expect(await count()).toBe(before);
  });

  it('refuses the same on PATCH and leaves the workflow as it was', async () => {
    const w = await createWorkflow(t, a.auth, [tool('a')]);
    const res = await c().patch(`/v1/workflows/${w.id}`, a.auth, { version: 1, steps: [tool('a', { dependsOn: ['b'] }), tool('b', { dependsOn: ['a'] })] });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).message).toMatch(/step "a" is on a cycle/);
    expect(ok(await c().get(`/v1/workflows/${w.id}`, a.auth))).toMatchObject({ version: 1, steps: w.steps });
    expect(ok(await c().get(`/v1/workflows/${w.id}/versions`, a.auth)).data).toHaveLength(1);
  });

  it('accepts an agent by id, and by slug with a published version', async () => {
    await c().post(`/v1/agents/${agent.id}/versions`, a.auth, { version: '1.0.0' });
    await createWorkflow(t, a.auth, [{ key: 'a', type: 'agent', agent: agent.id }, { key: 'b', type: 'agent', agent: 'planner', version: '1.0.0', dependsOn: ['a'] }]);
    await createWorkflow(t, a.auth, [{ key: 'ok', type: 'approval', role: 'owner', message: 'fine?' }]);
  });
});

describe('bad input on the definition routes', () => {
  const valid = [tool('a')];
  it.each([
    ['POST', '/v1/workflows', { steps: valid }],
    ['POST', '/v1/workflows', { name: '', steps: valid }],
    ['POST', '/v1/workflows', { name: 'x'.repeat(101), steps: valid }],
    ['POST', '/v1/workflows', { name: 'n', steps: [] }],
    ['POST', '/v1/workflows', { name: 'n', steps: 'tool' }],
    ['POST', '/v1/workflows', { name: 'n', steps: Array.from({ length: 101 }, (_, i) => tool(`s${i}`)) }],
    ['POST', '/v1/workflows', { name: 'n', steps: valid, status: 'archived' }],
    ['POST', '/v1/workflows', { name: 'n', steps: valid, extra: 1 }],
    ['POST', '/v1/workflows', { name: 'n', steps: [tool('a', { input: 'nul\u0000' })] }],
    ['GET', '/v1/workflows?status=nope', undefined],
    ['GET', '/v1/workflows?limit=0', undefined],
    ['GET', '/v1/workflows?cursor=garbage', undefined],
    ['GET', '/v1/workflows?unknown=1', undefined],
    ['GET', '/v1/workflows/not-a-uuid', undefined],
    ['PATCH', '/v1/workflows/not-a-uuid', { version: 1 }],
    ['PATCH', '/v1/workflows/00000000-0000-4000-8000-000000000000', { name: 'no version' }],
    ['PATCH', '/v1/workflows/00000000-0000-4000-8000-000000000000', { version: 0 }],
    ['PATCH', '/v1/workflows/00000000-0000-4000-8000-000000000000', { version: 1, status: 'paused' }],
    ['DELETE', '/v1/workflows/not-a-uuid', undefined],
    ['GET', '/v1/workflows/not-a-uuid/versions', undefined],
    ['GET', '/v1/workflows/00000000-0000-4000-8000-000000000000/versions?cursor=x', undefined],
    ['GET', '/v1/workflows/00000000-0000-4000-8000-000000000000/versions/0', undefined],
    ['GET', '/v1/workflows/00000000-0000-4000-8000-000000000000/versions/one', undefined],
  ])('%s %s %j → 400', async (method, url, payload) => {
    const res = await t.app.inject({ method: method as 'GET', url, headers: a.auth, ...(payload === undefined ? {} : { payload }) });
    expect(res.statusCode, res.body).toBe(400);
    expect(['validation_failed', 'bad_request']).toContain(errorOf(res).code);
  });

  it('404 for a workflow or version that does not exist, 401 without a token', async () => {
    const none = '00000000-0000-4000-8000-000000000000';
    expect((await c().get(`/v1/workflows/${none}`, a.auth)).statusCode).toBe(404);
    expect((await c().patch(`/v1/workflows/${none}`, a.auth, { version: 1, name: 'x' })).statusCode).toBe(404);
    expect((await c().del(`/v1/workflows/${none}`, a.auth)).statusCode).toBe(404);
    const w = await createWorkflow(t, a.auth, [tool('a')]);
    expect((await c().get(`/v1/workflows/${w.id}/versions/2`, a.auth)).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/v1/workflows' })).statusCode).toBe(401);
  });
});
