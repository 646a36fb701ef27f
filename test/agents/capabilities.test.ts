import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { auditRows, client, counts, createAgent, ok, signupBuilder } from './fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
});
afterAll(async () => t?.close());

const capUrl = (agentId: string, cap = '') => `/v1/agents/${agentId}/capabilities${cap ? `/${cap}` : ''}`;

describe('capabilities', () => {
  it('creates with PUT (201), changes with PUT (200), and lists by name', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Capable' });
    const created = ok(await c.put(capUrl(a.id, 'planning'), owner.auth, { proficiency: 0.4 }), 201);
    expect(created).toMatchObject({ agentId: a.id, capability: 'planning', proficiency: 0.4 });
    const changed = ok(await c.put(capUrl(a.id, 'planning'), owner.auth, { proficiency: 0.9 }), 200);
    expect(changed).toMatchObject({ id: created.id, proficiency: 0.9 });
    ok(await c.put(capUrl(a.id, 'budgeting'), owner.auth, { proficiency: 0 }), 201);
    ok(await c.put(capUrl(a.id, 'web.search'), owner.auth, { proficiency: 1 }), 201);
    const list = ok(await c.get(capUrl(a.id), owner.auth));
    expect(list.data.map((x: { capability: string; proficiency: number }) => [x.capability, x.proficiency])).toEqual([
      ['budgeting', 0],
      ['planning', 0.9],
      ['web.search', 1],
    ]);
    expect(list.nextCursor).toBeNull();
  });

  it('stores proficiency with two decimals', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Rounded' });
    expect(ok(await c.put(capUrl(a.id, 'x'), owner.auth, { proficiency: 0.123 }), 201).proficiency).toBe(0.12);
  });

  it('removes a capability (204) and then it is gone (404)', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Forgetful' });
    ok(await c.put(capUrl(a.id, 'planning'), owner.auth, { proficiency: 0.5 }), 201);
    expect((await c.del(capUrl(a.id, 'planning'), owner.auth)).statusCode).toBe(204);
    expect(ok(await c.get(capUrl(a.id), owner.auth)).data).toEqual([]);
    const again = await c.del(capUrl(a.id, 'planning'), owner.auth);
    expect(again.statusCode).toBe(404);
    expect(errorOf(again).code).toBe('not_found');
  });

  it('keeps capabilities per agent', async () => {
    const a = await createAgent(t, owner.auth, { name: 'First' });
    const b = await createAgent(t, owner.auth, { name: 'Second' });
    ok(await c.put(capUrl(a.id, 'shared'), owner.auth, { proficiency: 0.1 }), 201);
    ok(await c.put(capUrl(b.id, 'shared'), owner.auth, { proficiency: 0.2 }), 201);
    expect(ok(await c.get(capUrl(a.id), owner.auth)).data.map((x: { proficiency: number }) => x.proficiency)).toEqual([0.1]);
    expect((await c.del(capUrl(a.id, 'shared'), owner.auth)).statusCode).toBe(204);
    expect(ok(await c.get(capUrl(b.id), owner.auth)).data).toHaveLength(1);
  });

  it('pages exactly by capability name', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Many skills' });
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    for (const name of [...names].reverse()) ok(await c.put(capUrl(a.id, name), owner.auth, { proficiency: 0.5 }), 201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const b: { data: Array<{ capability: string }>; nextCursor: string | null } = ok(
        await c.get(`${capUrl(a.id)}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, owner.auth),
      );
      seen.push(...b.data.map((x) => x.capability));
      cursor = b.nextCursor;
    } while (cursor);
    expect(seen).toEqual(names);
  });

  it('audits additions, changes and removals with old and new values', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Audited skills' });
    const cap = ok(await c.put(capUrl(a.id, 'planning'), owner.auth, { proficiency: 0.3 }), 201);
    ok(await c.put(capUrl(a.id, 'planning'), owner.auth, { proficiency: 0.6 }));
    expect((await c.del(capUrl(a.id, 'planning'), owner.auth)).statusCode).toBe(204);
    const rows = await auditRows(t, owner.orgId, cap.id);
    expect(rows.map((r) => r.action)).toEqual(['agent.capability_added', 'agent.capability_updated', 'agent.capability_removed']);
    expect(rows.every((r) => r.agent_id === a.id && r.resource_type === 'agent_capability')).toBe(true);
    expect(rows[1]).toMatchObject({ old_values: { proficiency: 0.3 }, new_values: { proficiency: 0.6 } });
    expect(rows[2]).toMatchObject({ old_values: { proficiency: 0.6 }, new_values: null });
  });

  it.each([
    [{ proficiency: 1.01 }],
    [{ proficiency: -0.01 }],
    [{ proficiency: '0.5' }],
    [{ proficiency: null }],
    [{}],
    [{ proficiency: 0.5, note: 'x' }],
  ])('refuses %j with 400 and writes nothing', async (payload) => {
    const a = await createAgent(t, owner.auth, { name: 'Bad skill' });
    const before = await counts(t);
    const res = await c.put(capUrl(a.id, 'planning'), owner.auth, payload);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(await counts(t)).toEqual(before);
  });

  it.each(['-leading-dash', 'has%20space', 'semi%3Bcolon'])('refuses the capability name %j (400)', async (name) => {
    const a = await createAgent(t, owner.auth, { name: 'Bad name' });
    const res = await c.put(capUrl(a.id, name), owner.auth, { proficiency: 0.5 });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
  });

  // Fastify refuses a path parameter over maxParamLength (100) before routing;
  // frameworkErrors in src/http/app.ts gives it the one error shape.
  it('refuses a capability name over 100 characters with the standard error shape', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Long name' });
    const res = await c.put(capUrl(a.id, 'x'.repeat(101)), owner.auth, { proficiency: 0.5 });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(errorOf(res).code).toMatch(/^(validation_failed|bad_request)$/);
  });

  it('gives 404 for an agent that does not exist', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const res of [
      await c.put(capUrl(missing, 'x'), owner.auth, { proficiency: 0.5 }),
      await c.get(capUrl(missing), owner.auth),
      await c.del(capUrl(missing, 'x'), owner.auth),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
  });
});
