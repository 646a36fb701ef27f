import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, client, createAgent, joinAs, ok, signupBuilder, type Auth } from '../agents/fixtures.js';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
let agent: { id: string; slug: string };
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
  agent = await createAgent(t, owner.auth, { name: 'Campaign Planner' });
});
afterAll(async () => t?.close());

const url = (agentRef: string, rest = '') => `/v1/agents/${agentRef}/learnings${rest}`;
const finding = (over: Record<string, unknown> = {}) => ({
  sourceType: 'execution',
  learningCategory: 'pricing',
  finding: 'Discounts above 20% do not raise conversion for enterprise buyers',
  confidence: 0.8,
  ...over,
});

async function rowCount(table: string): Promise<number> {
  return (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
}
const writes = async () => ({ learnings: await rowCount('agent_learnings'), audit: await rowCount('audit_logs') });

describe('learnings', () => {
  it('records a learning with defaults and reads it back by id, under the agent id or slug', async () => {
    const l = ok(await c.post(url(agent.id), owner.auth, finding()), 201);
    expect(l).toMatchObject({
      agentId: agent.id,
      sourceType: 'execution',
      sourceId: null,
      learningCategory: 'pricing',
      confidence: 0.8,
      impactScore: null,
      evidence: {},
      tags: [],
      appliedCount: 0,
      successCount: 0,
      successRate: null,
      lastAppliedAt: null,
    });
    expect(new Date(l.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(ok(await c.get(url(agent.id, `/${l.id}`), owner.auth))).toEqual(l);
    expect(ok(await c.get(url(agent.slug, `/${l.id}`), owner.auth))).toEqual(l);
  });

  it('keeps every field as sent (trimmed labels, repeated tags once)', async () => {
    const l = ok(await c.post(url(agent.slug), owner.auth, finding({
      sourceType: ' feedback ',
      sourceId: 'ticket-4411',
      learningCategory: 'tone',
      evidence: { samples: [1, 2, 3], note: 'A/B test' },
      confidence: 0.9,
      impactScore: 0.35,
      tags: ['b2b', 'email', 'b2b'],
    })), 201);
    expect(l).toMatchObject({ sourceType: 'feedback', sourceId: 'ticket-4411', learningCategory: 'tone', evidence: { samples: [1, 2, 3], note: 'A/B test' },
      confidence: 0.9, impactScore: 0.35, tags: ['b2b', 'email'] });
  });

  it('records applications: appliedCount, successCount, successRate and lastAppliedAt move together', async () => {
    const l = ok(await c.post(url(agent.id), owner.auth, finding()), 201);
    const a1 = ok(await c.post(url(agent.id, `/${l.id}/applications`), owner.auth, { success: true }));
    expect(a1).toMatchObject({ id: l.id, appliedCount: 1, successCount: 1, successRate: 1 });
    expect(a1.lastAppliedAt).not.toBeNull();
    const a2 = ok(await c.post(url(agent.slug, `/${l.id}/applications`), owner.auth, { success: false }));
    expect(a2).toMatchObject({ appliedCount: 2, successCount: 1, successRate: 0.5 });
    const a3 = ok(await c.post(url(agent.id, `/${l.id}/applications`), owner.auth, { success: false }));
    expect(a3).toMatchObject({ appliedCount: 3, successCount: 1 });
    expect(a3.successRate).toBeCloseTo(1 / 3, 6);
    expect(ok(await c.get(url(agent.id, `/${l.id}`), owner.auth))).toEqual(a3);
  });

  it('loses no application under 20 concurrent recordings, and the rate is exact', async () => {
    const l = ok(await c.post(url(agent.id), owner.auth, finding()), 201);
    const outcomes = Array.from({ length: 20 }, (_, i) => i % 20 < 13);
    const res = await Promise.all(outcomes.map((success) => c.post(url(agent.id, `/${l.id}/applications`), owner.auth, { success })));
    expect(res.map((r) => r.statusCode)).toEqual(outcomes.map(() => 200));
    // Every answer saw a distinct count: each UPDATE added its one to the one before.
    expect(res.map((r) => r.json().appliedCount).sort((a, b) => a - b)).toEqual(outcomes.map((_, i) => i + 1));
    const after = ok(await c.get(url(agent.id, `/${l.id}`), owner.auth));
    expect(after).toMatchObject({ appliedCount: 20, successCount: 13, successRate: 0.65 });
    expect((await auditRows(t, owner.orgId, l.id)).filter((r) => r.action === 'learning.applied')).toHaveLength(20);
  });

  it('deletes a learning (204); then it is 404 everywhere', async () => {
    const l = ok(await c.post(url(agent.id), owner.auth, finding()), 201);
    expect((await c.del(url(agent.id, `/${l.id}`), owner.auth)).statusCode).toBe(204);
    for (const res of [
      await c.get(url(agent.id, `/${l.id}`), owner.auth),
      await c.del(url(agent.id, `/${l.id}`), owner.auth),
      await c.post(url(agent.id, `/${l.id}/applications`), owner.auth, { success: true }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
  });

  it('audits creation, applications and deletion with the agent', async () => {
    const l = ok(await c.post(url(agent.id), owner.auth, finding({ tags: ['audited'] })), 201);
    ok(await c.post(url(agent.id, `/${l.id}/applications`), owner.auth, { success: true }));
    expect((await c.del(url(agent.id, `/${l.id}`), owner.auth)).statusCode).toBe(204);
    const rows = await auditRows(t, owner.orgId, l.id);
    expect(rows.map((r) => r.action)).toEqual(['learning.created', 'learning.applied', 'learning.deleted']);
    expect(rows.every((r) => r.resource_type === 'agent_learning' && r.agent_id === agent.id)).toBe(true);
    expect(rows[0]!.new_values).toMatchObject({ id: l.id, finding: l.finding, tags: ['audited'] });
    expect(rows[1]).toMatchObject({ old_values: { appliedCount: 0, successCount: 0 }, new_values: { success: true, appliedCount: 1, successCount: 1, successRate: 1 } });
    expect(rows[2]!.old_values).toMatchObject({ id: l.id, appliedCount: 1 });
  });

  it("does not show one agent's learning under another agent", async () => {
    const other = await createAgent(t, owner.auth, { name: 'Other planner' });
    const l = ok(await c.post(url(agent.id), owner.auth, finding()), 201);
    for (const res of [
      await c.get(url(other.id, `/${l.id}`), owner.auth),
      await c.post(url(other.id, `/${l.id}/applications`), owner.auth, { success: true }),
      await c.del(url(other.id, `/${l.id}`), owner.auth),
    ]) expect(res.statusCode).toBe(404);
    expect(ok(await c.get(url(other.id), owner.auth)).data).toEqual([]);
  });
});

describe('listing learnings', () => {
  let lister: { id: string; slug: string };
  const made: Array<{ id: string; learningCategory: string; confidence: number; tags: string[] }> = [];
  beforeAll(async () => {
    lister = await createAgent(t, owner.auth, { name: 'Lister' });
    const specs = [
      { learningCategory: 'pricing', confidence: 0.9, tags: ['b2b'] },
      { learningCategory: 'tone', confidence: 0.2, tags: ['email'] },
      { learningCategory: 'pricing', confidence: 0.5, tags: ['b2b', 'email'] },
      { learningCategory: 'timing', confidence: 0.95, tags: [] },
      { learningCategory: 'pricing', confidence: 0.1, tags: ['b2c'] },
    ];
    for (const s of specs) made.push(ok(await c.post(url(lister.id), owner.auth, finding(s)), 201));
  });
  const ids = (body: { data: Array<{ id: string }> }) => body.data.map((x) => x.id);
  const newestFirst = () => [...made].reverse();

  it('lists newest first and pages exactly', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const b: { data: Array<{ id: string }>; nextCursor: string | null } = ok(
        await c.get(`${url(lister.slug)}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, owner.auth),
      );
      expect(b.data.length).toBeLessThanOrEqual(2);
      seen.push(...ids(b));
      cursor = b.nextCursor;
    } while (cursor);
    expect(seen).toEqual(newestFirst().map((l) => l.id));
  });

  it('filters by category, tag and minConfidence (inclusive, as stored)', async () => {
    const q = async (query: string) => ids(ok(await c.get(`${url(lister.id)}?${query}`, owner.auth)));
    const expectIds = (pred: (l: (typeof made)[number]) => boolean) => newestFirst().filter(pred).map((l) => l.id);
    expect(await q('category=pricing')).toEqual(expectIds((l) => l.learningCategory === 'pricing'));
    expect(await q('tag=email')).toEqual(expectIds((l) => l.tags.includes('email')));
    expect(await q('minConfidence=0.9')).toEqual(expectIds((l) => l.confidence >= 0.9));
    expect(await q('category=pricing&tag=b2b&minConfidence=0.5')).toEqual(expectIds((l) => l.learningCategory === 'pricing' && l.tags.includes('b2b') && l.confidence >= 0.5));
    expect(await q('category=nothing')).toEqual([]);
  });
});

describe('bad input', () => {
  it.each([
    ['no body fields', {}],
    ['missing finding', { sourceType: 'x', learningCategory: 'y', confidence: 0.5 }],
    ['blank sourceType', finding({ sourceType: '   ' })],
    ['empty learningCategory', finding({ learningCategory: '' })],
    ['blank finding', finding({ finding: ' \n ' })],
    ['sourceType too long', finding({ sourceType: 'x'.repeat(51) })],
    ['learningCategory too long', finding({ learningCategory: 'x'.repeat(101) })],
    ['sourceId too long', finding({ sourceId: 'x'.repeat(256) })],
    ['finding too long', finding({ finding: 'x'.repeat(32_769) })],
    ['NUL in finding', finding({ finding: 'a\u0000b' })],
    ['confidence above 1', finding({ confidence: 1.01 })],
    ['confidence below 0', finding({ confidence: -0.1 })],
    ['confidence as text', finding({ confidence: '0.5' })],
    ['confidence null', finding({ confidence: null })],
    ['impactScore above 1', finding({ impactScore: 2 })],
    ['evidence null', finding({ evidence: null })],
    ['tags not an array', finding({ tags: 'a,b' })],
    ['a tag with a comma', finding({ tags: ['a,b'] })],
    ['21 tags', finding({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) })],
    ['an unknown field', finding({ learningId: 'x' })],
  ])('refuses a learning with %s (400 validation_failed) and writes nothing', async (_name, payload) => {
    const before = await writes();
    const res = await c.post(url(agent.id), owner.auth, payload);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(await writes()).toEqual(before);
  });

  it('refuses bad applications and bad list filters', async () => {
    const l = ok(await c.post(url(agent.id), owner.auth, finding()), 201);
    const before = await writes();
    for (const payload of [{}, { success: 'true' }, { success: 1 }, { success: null }, { success: true, extra: 1 }]) {
      const res = await c.post(url(agent.id, `/${l.id}/applications`), owner.auth, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    for (const q of ['minConfidence=2', 'minConfidence=abc', 'limit=0', 'limit=101', 'tag=a,b', 'sort=created', 'category=']) {
      const res = await c.get(`${url(agent.id)}?${q}`, owner.auth);
      expect(res.statusCode, q).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    const badCursor = await c.get(`${url(agent.id)}?cursor=nonsense`, owner.auth);
    expect(badCursor.statusCode).toBe(400);
    expect(errorOf(badCursor).code).toBe('bad_request');
    expect(ok(await c.get(url(agent.id, `/${l.id}`), owner.auth)).appliedCount).toBe(0);
    expect(await writes()).toEqual(before);
  });

  it('refuses bad ids with 400, and unknown agents and learnings with 404', async () => {
    const l = ok(await c.post(url(agent.id), owner.auth, finding()), 201);
    for (const path of [url(agent.id, '/not-a-uuid'), url('Bad_Slug!', ''), url(agent.id, '/123')]) {
      const res = await c.get(path, owner.auth);
      expect(res.statusCode, path).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    for (const res of [
      await c.get(url('no-such-agent'), owner.auth),
      await c.get(url('00000000-0000-7000-8000-000000000000'), owner.auth),
      await c.post(url('no-such-agent'), owner.auth, finding()),
      await c.get(url(agent.id, '/00000000-0000-7000-8000-000000000000'), owner.auth),
      await c.get(url('no-such-agent', `/${l.id}`), owner.auth),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
  });
});

describe('access', () => {
  let l: { id: string };
  let other: SignedUp;
  let viewer: Auth;
  beforeAll(async () => {
    l = ok(await c.post(url(agent.id), owner.auth, finding()), 201);
    other = await signupBuilder(t);
    viewer = (await joinAs(t, owner, 'viewer')).auth;
  });

  it("gives another organization 404 on every route, and writes nothing", async () => {
    const before = await writes();
    const theirAgent = await createAgent(t, other.auth, { name: 'Their agent' });
    const afterAgent = await writes();
    for (const res of [
      await c.post(url(agent.id), other.auth, finding()),
      await c.get(url(agent.id), other.auth),
      await c.get(url(agent.id, `/${l.id}`), other.auth),
      await c.del(url(agent.id, `/${l.id}`), other.auth),
      await c.post(url(agent.id, `/${l.id}/applications`), other.auth, { success: true }),
      // their own agent, our learning id
      await c.get(url(theirAgent.id, `/${l.id}`), other.auth),
      await c.post(url(theirAgent.id, `/${l.id}/applications`), other.auth, { success: true }),
      await c.del(url(theirAgent.id, `/${l.id}`), other.auth),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(ok(await c.get(url(theirAgent.id), other.auth)).data).toEqual([]);
    expect(await writes()).toEqual({ ...before, audit: afterAgent.audit });
    expect(ok(await c.get(url(agent.id, `/${l.id}`), owner.auth)).appliedCount).toBe(0);
  });

  it('lets a viewer read but not write (403)', async () => {
    expect(ok(await c.get(url(agent.id, `/${l.id}`), viewer)).id).toBe(l.id);
    expect(ok(await c.get(url(agent.id), viewer)).data.length).toBeGreaterThan(0);
    for (const res of [
      await c.post(url(agent.id), viewer, finding()),
      await c.post(url(agent.id, `/${l.id}/applications`), viewer, { success: true }),
      await c.del(url(agent.id, `/${l.id}`), viewer),
    ]) {
      expect(res.statusCode).toBe(403);
      expect(errorOf(res).code).toBe('forbidden');
    }
  });

  it('refuses a request without credentials (401)', async () => {
    const res = await t.app.inject({ method: 'GET', url: url(agent.id) });
    expect(res.statusCode).toBe(401);
  });
});
