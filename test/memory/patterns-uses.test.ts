import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, client, createAgent, joinAs, lockVersion, ok, signupBuilder, type Auth } from '../agents/fixtures.js';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
let agent: { id: string; slug: string };
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
  agent = await createAgent(t, owner.auth, { name: 'Pattern user' });
});
afterAll(async () => t?.close());

let n = 0;
const create = async (over: Record<string, unknown> = {}, auth: Auth = owner.auth) =>
  ok(await c.post('/v1/patterns', auth, { type: 'convergent', name: `uses-${++n}`, patternData: { k: n }, ...over }), 201);
const use = (patternId: string, body: Record<string, unknown>, auth: Auth = owner.auth) => c.post(`/v1/patterns/${patternId}/uses`, auth, body);

async function rowCount(table: string): Promise<number> {
  return (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
}
const writes = async () => Object.fromEntries(
  await Promise.all(['patterns', 'pattern_usage', 'pattern_metrics', 'audit_logs'].map(async (x) => [x, await rowCount(x)] as const)),
);
const counters = async (id: string) =>
  (await t.db.admin.query(`SELECT usage_count, success_count, accuracy::float8 AS accuracy FROM patterns WHERE id = $1`, [id])).rows[0];

describe('recording uses', () => {
  it('records an untimed use: the counters move, no metrics row', async () => {
    const p = await create();
    const out = ok(await use(p.id, { success: true }), 201);
    expect(out.use).toMatchObject({ patternId: p.id, agentId: null, executionId: null, success: true, context: {}, executionTimeMs: null, errorType: null });
    expect(out.pattern).toMatchObject({ id: p.id, usageCount: 1, successCount: 1, accuracy: 1, version: 1 });
    expect((await t.db.admin.query(`SELECT 1 FROM pattern_metrics WHERE pattern_id = $1`, [p.id])).rows).toHaveLength(0);
    expect((await t.db.admin.query(`SELECT success FROM pattern_usage WHERE id = $1`, [out.use.id])).rows).toEqual([{ success: true }]);
  });

  it('records a timed use of an agent (named by slug) in pattern_usage and pattern_metrics, under one id', async () => {
    const p = await create();
    const executionId = randomUUID();
    const out = ok(await use(p.id, { agentId: agent.slug, success: false, executionTimeMs: 250, errorType: 'timeout', executionId, context: { step: 3 } }), 201);
    expect(out.use).toMatchObject({ agentId: agent.id, success: false, executionTimeMs: 250, errorType: 'timeout', executionId, context: { step: 3 } });
    expect(out.pattern).toMatchObject({ usageCount: 1, successCount: 0, accuracy: 0 });
    const m = await t.db.admin.query(`SELECT agent_id, execution_time_ms, success, error_type FROM pattern_metrics WHERE id = $1`, [out.use.id]);
    expect(m.rows).toEqual([{ agent_id: agent.id, execution_time_ms: 250, success: false, error_type: 'timeout' }]);
    const listed = ok(await c.get(`/v1/patterns/${p.id}/uses`, owner.auth)).data;
    expect(listed).toEqual([out.use]);
  });

  it('keeps accuracy as successes / uses, rounded to two decimals', async () => {
    const p = await create();
    for (const success of [true, true, false]) ok(await use(p.id, { success }), 201);
    expect(ok(await c.get(`/v1/patterns/${p.id}`, owner.auth))).toMatchObject({ usageCount: 3, successCount: 2, accuracy: 0.67 });
  });

  it('loses no use under 20 concurrent recordings', async () => {
    const p = await create();
    const outcomes = Array.from({ length: 20 }, (_, i) => i < 13);
    const res = await Promise.all(outcomes.map((success, i) => use(p.id, { success, agentId: agent.id, executionTimeMs: 10 + i })));
    expect(res.map((r) => r.statusCode)).toEqual(outcomes.map(() => 201));
    expect(res.map((r) => r.json().pattern.usageCount).sort((a, b) => a - b)).toEqual(outcomes.map((_, i) => i + 1));
    expect(await counters(p.id)).toEqual({ usage_count: 20, success_count: 13, accuracy: 0.65 });
    expect((await t.db.admin.query(`SELECT count(*)::int AS n FROM pattern_usage WHERE pattern_id = $1`, [p.id])).rows[0]).toEqual({ n: 20 });
    expect((await t.db.admin.query(`SELECT count(*)::int AS n FROM pattern_metrics WHERE pattern_id = $1`, [p.id])).rows[0]).toEqual({ n: 20 });
  });

  it('does not make an editor stale: uses leave version and updatedAt alone', async () => {
    const p = await create();
    ok(await use(p.id, { success: true }), 201);
    const after = ok(await c.get(`/v1/patterns/${p.id}`, owner.auth));
    expect(after).toMatchObject({ version: 1, updatedAt: p.updatedAt });
    expect(ok(await c.patch(`/v1/patterns/${p.id}`, owner.auth, { version: 1, name: `edited-${p.id}` })).usageCount).toBe(1);
  });

  it('audits each use with its agent', async () => {
    const p = await create();
    const out = ok(await use(p.id, { success: true, agentId: agent.id }), 201);
    const rows = (await auditRows(t, owner.orgId, p.id)).filter((r) => r.action === 'pattern.used');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ resource_type: 'pattern', agent_id: agent.id, new_values: { useId: out.use.id, success: true, usageCount: 1, accuracy: 1 } });
  });

  it.each([
    ['no success', {}],
    ['success as text', { success: 'yes' }],
    ['a negative time', { success: true, agentId: 'pattern-user', executionTimeMs: -1 }],
    ['a fractional time', { success: true, agentId: 'pattern-user', executionTimeMs: 1.5 }],
    ['a time over int4', { success: true, agentId: 'pattern-user', executionTimeMs: 2_147_483_648 }],
    ['a time without an agent', { success: true, executionTimeMs: 5 }],
    ['an error type without a time', { success: false, agentId: 'pattern-user', errorType: 'timeout' }],
    ['an error type over 50 characters', { success: false, agentId: 'pattern-user', executionTimeMs: 5, errorType: 'x'.repeat(51) }],
    ['an executionId that is not a UUID', { success: true, executionId: 'run-1' }],
    ['a context that is not an object', { success: true, context: [1] }],
    ['an agentId that is neither id nor slug', { success: true, agentId: 'Not A Slug' }],
    ['an unknown field', { success: true, patternId: randomUUID() }],
  ])('refuses a use with %s (400) and writes nothing', async (_name, body) => {
    const p = await create();
    const before = await writes();
    const res = await use(p.id, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(await writes()).toEqual(before);
    expect(await counters(p.id)).toEqual({ usage_count: 0, success_count: 0, accuracy: null });
  });

  it('refuses an unknown agent or pattern with 404 and writes nothing', async () => {
    const p = await create();
    const before = await writes();
    for (const res of [
      await use(p.id, { success: true, agentId: 'no-such-agent' }),
      await use(p.id, { success: true, agentId: randomUUID() }),
      await use(randomUUID(), { success: true }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(await writes()).toEqual(before);
  });
});

describe('listing uses', () => {
  let p: { id: string };
  let other: { id: string; slug: string };
  const made: Array<{ id: string; agentId: string | null; usedAt: string }> = [];
  beforeAll(async () => {
    p = await create();
    other = await createAgent(t, owner.auth, { name: 'Second user' });
    for (const agentId of [agent.id, null, other.id, agent.id, other.id]) {
      made.push(ok(await use(p.id, { success: true, ...(agentId ? { agentId } : {}) }), 201).use);
    }
  });
  const walk = async (query: string, limit: number) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const b: { data: Array<{ id: string }>; nextCursor: string | null } = ok(
        await c.get(`/v1/patterns/${p.id}/uses?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`, owner.auth),
      );
      seen.push(...b.data.map((x) => x.id));
      cursor = b.nextCursor;
    } while (cursor);
    return seen;
  };
  const newestFirst = () => [...made].reverse();

  it('lists newest first and pages exactly', async () => {
    expect(await walk('', 2)).toEqual(newestFirst().map((u) => u.id));
  });

  it('filters by agent (id or slug) and by time', async () => {
    expect(await walk(`&agentId=${other.slug}`, 1)).toEqual(newestFirst().filter((u) => u.agentId === other.id).map((u) => u.id));
    expect(await walk(`&agentId=${agent.id}`, 5)).toEqual(newestFirst().filter((u) => u.agentId === agent.id).map((u) => u.id));
    const third = made[2]!.usedAt;
    expect(await walk(`&from=${third}`, 5)).toEqual(newestFirst().filter((u) => u.usedAt >= third).map((u) => u.id));
    expect(await walk(`&to=${third}`, 5)).toEqual(newestFirst().filter((u) => u.usedAt < third).map((u) => u.id));
    expect(await walk('&from=2000-01-01T00:00:00Z&to=2000-02-01T00:00:00Z', 5)).toEqual([]);
  });

  it('refuses bad filters', async () => {
    for (const q of ['from=yesterday', 'to=2026-13-01T00:00:00Z', 'agentId=Bad%20Agent', 'limit=0', 'success=true']) {
      const res = await c.get(`/v1/patterns/${p.id}/uses?${q}`, owner.auth);
      expect(res.statusCode, q).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    const backwards = await c.get(`/v1/patterns/${p.id}/uses?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`, owner.auth);
    expect(errorOf(backwards).code).toBe('validation_failed');
    const unknown = await c.get(`/v1/patterns/${p.id}/uses?agentId=no-such-agent`, owner.auth);
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(await c.get(`/v1/patterns/${p.id}/uses?cursor=abc`, owner.auth)).code).toBe('bad_request');
  });
});

describe('metrics per day', () => {
  const DAY = 86_400_000;
  const dayOf = (d: Date) => d.toISOString().slice(0, 10);
  let p: { id: string };
  const today = new Date();
  const midday = (daysAgo: number) => new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - daysAgo, 12));
  beforeAll(async () => {
    p = await create();
    // Two earlier days straight into pattern_metrics (the API records at the present instant only).
    const rows: Array<[number, number, boolean]> = [
      [2, 10, true], [2, 20, true], [2, 30, false], [2, 40, true], [2, 100, false],
      [1, 7, true],
    ];
    for (const [daysAgo, ms, success] of rows) {
      await t.db.admin.query(
        `INSERT INTO pattern_metrics (id, org_id, pattern_id, agent_id, execution_time_ms, success, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [randomUUID(), owner.orgId, p.id, agent.id, ms, success, midday(daysAgo).toISOString()],
      );
    }
    for (const [ms, success] of [[100, true], [300, true]] as const) ok(await use(p.id, { agentId: agent.id, executionTimeMs: ms, success }), 201);
    ok(await use(p.id, { success: true }), 201); // untimed: counted by the pattern, not in the metrics
  });

  it('answers uses, successes, successRate, average and p95 per UTC day', async () => {
    const from = new Date(midday(3).getTime() - DAY / 2).toISOString();
    const body = ok(await c.get(`/v1/patterns/${p.id}/metrics?from=${from}&to=${new Date(Date.now() + 60_000).toISOString()}`, owner.auth));
    expect(body.patternId).toBe(p.id);
    expect(body.from).toBe(from);
    expect(body.data).toEqual([
      // percentile_cont(0.95) of 10, 20, 30, 40, 100: 40 + 0.8 * (100 - 40)
      { day: dayOf(midday(2)), uses: 5, successes: 3, successRate: 0.6, avgExecutionTimeMs: 40, p95ExecutionTimeMs: 88 },
      { day: dayOf(midday(1)), uses: 1, successes: 1, successRate: 1, avgExecutionTimeMs: 7, p95ExecutionTimeMs: 7 },
      { day: dayOf(today), uses: 2, successes: 2, successRate: 1, avgExecutionTimeMs: 200, p95ExecutionTimeMs: 290 },
    ]);
  });

  it('covers the last 30 days by default and honours from/to', async () => {
    expect(ok(await c.get(`/v1/patterns/${p.id}/metrics`, owner.auth)).data.map((d: { day: string }) => d.day))
      .toEqual([dayOf(midday(2)), dayOf(midday(1)), dayOf(today)]);
    const only = ok(await c.get(`/v1/patterns/${p.id}/metrics?from=${midday(1).toISOString()}&to=${midday(0).toISOString().slice(0, 10)}T00:00:00Z`, owner.auth));
    expect(only.data.map((d: { day: string }) => d.day)).toEqual([dayOf(midday(1))]);
    expect(ok(await c.get(`/v1/patterns/${(await create()).id}/metrics`, owner.auth)).data).toEqual([]);
  });

  it('refuses ranges backwards or over 366 days, and bad instants', async () => {
    for (const q of [
      'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      'from=2024-01-01T00:00:00Z&to=2025-06-01T00:00:00Z',
      'from=last-week',
      'to=2026-01-01',
      'interval=hour',
    ]) {
      const res = await c.get(`/v1/patterns/${p.id}/metrics?${q}`, owner.auth);
      expect(res.statusCode, q).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
  });
});

describe("an agent's default pattern", () => {
  let org: SignedUp;
  let thinker: { id: string; slug: string };
  const setCognitivePattern = async (cognitivePattern: string) =>
    ok(await c.patch(`/v1/agents/${thinker.id}`, org.auth, { version: await lockVersion(t, org.auth, thinker.id), cognitivePattern }));
  const defaultOf = async () => ok(await c.get(`/v1/agents/${thinker.slug}/pattern`, org.auth));
  beforeAll(async () => {
    org = await signupBuilder(t);
    thinker = await createAgent(t, org.auth, { name: 'Thinker', cognitivePattern: 'divergent' });
  });

  it('is 404 no_default_pattern while the organization has no pattern of its type, and records nothing', async () => {
    const before = await writes();
    for (const res of [
      await c.get(`/v1/agents/${thinker.id}/pattern`, org.auth),
      await c.post(`/v1/agents/${thinker.id}/pattern-uses`, org.auth, { success: true }),
    ]) {
      expect(res.statusCode).toBe(404);
      const e = errorOf(res);
      expect(e).toMatchObject({ code: 'no_default_pattern', details: { agentId: thinker.id, cognitivePattern: 'divergent' } });
      expect(e.message).toContain('POST /v1/patterns');
    }
    expect(await writes()).toEqual(before);
  });

  it('is the most accurate pattern of its type, then the most used, then the oldest', async () => {
    await create({ type: 'convergent', name: 'not divergent' }, org.auth);
    const a = await create({ type: 'divergent', name: 'A' }, org.auth);
    const b = await create({ type: 'divergent', name: 'B' }, org.auth);
    expect((await defaultOf()).id).toBe(a.id); // neither used: the oldest
    ok(await use(b.id, { success: true }, org.auth), 201);
    expect((await defaultOf()).id).toBe(b.id); // B 1.00, A never used
    ok(await use(a.id, { success: true }, org.auth), 201);
    ok(await use(a.id, { success: true }, org.auth), 201);
    expect((await defaultOf()).id).toBe(a.id); // both 1.00; A used more
    ok(await use(a.id, { success: false }, org.auth), 201);
    expect((await defaultOf()).id).toBe(b.id); // A 0.67
    expect((await c.del(`/v1/patterns/${b.id}`, org.auth)).statusCode).toBe(204);
    expect((await defaultOf()).id).toBe(a.id); // a deleted pattern is no one's default
  });

  it("follows the agent's cognitivePattern when it changes", async () => {
    const systems = await create({ type: 'systems', name: 'Map the whole system' }, org.auth);
    await setCognitivePattern('systems');
    expect((await defaultOf()).id).toBe(systems.id);
    await setCognitivePattern('critical');
    expect(errorOf(await c.get(`/v1/agents/${thinker.id}/pattern`, org.auth))).toMatchObject({ code: 'no_default_pattern', details: { cognitivePattern: 'critical' } });
    await setCognitivePattern('systems');
  });

  it('records a use of the default pattern by the agent', async () => {
    const target = await defaultOf();
    const out = ok(await c.post(`/v1/agents/${thinker.slug}/pattern-uses`, org.auth, {
      success: true, executionTimeMs: 42, errorType: 'none', context: { via: 'default' },
    }), 201);
    expect(out.pattern).toMatchObject({ id: target.id, usageCount: target.usageCount + 1 });
    expect(out.use).toMatchObject({ patternId: target.id, agentId: thinker.id, executionTimeMs: 42, errorType: 'none', context: { via: 'default' } });
    const rows = (await auditRows(t, org.orgId, target.id)).filter((r) => r.action === 'pattern.used');
    expect(rows.at(-1)).toMatchObject({ agent_id: thinker.id, new_values: { useId: out.use.id } });
    const bad = await c.post(`/v1/agents/${thinker.slug}/pattern-uses`, org.auth, { success: true, agentId: thinker.id });
    expect(errorOf(bad).code).toBe('validation_failed');
    expect(errorOf(await c.post(`/v1/agents/${thinker.slug}/pattern-uses`, org.auth, { success: true, errorType: 'x' })).code).toBe('validation_failed');
    expect(errorOf(await c.post('/v1/agents/no-such-agent/pattern-uses', org.auth, { success: true })).code).toBe('not_found');
  });
});

describe('access', () => {
  let p: { id: string };
  let other: SignedUp;
  let theirs: { id: string };
  let viewer: Auth;
  beforeAll(async () => {
    p = await create({ type: 'adaptive', name: 'Owned adaptive' });
    ok(await use(p.id, { success: true, agentId: agent.id, executionTimeMs: 5 }), 201);
    other = await signupBuilder(t);
    theirs = await create({ type: 'adaptive', name: 'Their adaptive' }, other.auth);
    viewer = (await joinAs(t, owner, 'viewer')).auth;
  });

  it('gives another organization 404 on every route and writes nothing', async () => {
    const before = await writes();
    for (const res of [
      await use(p.id, { success: true }, other.auth),
      await c.get(`/v1/patterns/${p.id}/uses`, other.auth),
      await c.get(`/v1/patterns/${p.id}/metrics`, other.auth),
      await c.get(`/v1/agents/${agent.id}/pattern`, other.auth),
      await c.post(`/v1/agents/${agent.id}/pattern-uses`, other.auth, { success: true }),
      // their own pattern, our agent
      await use(theirs.id, { success: true, agentId: agent.id }, other.auth),
      await c.get(`/v1/patterns/${theirs.id}/uses?agentId=${agent.id}`, other.auth),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(await writes()).toEqual(before);
    expect(await counters(p.id)).toMatchObject({ usage_count: 1 });
  });

  it('lets a viewer read uses, metrics and defaults but not record (403)', async () => {
    expect(ok(await c.get(`/v1/patterns/${p.id}/uses`, viewer)).data).toHaveLength(1);
    expect(ok(await c.get(`/v1/patterns/${p.id}/metrics`, viewer)).data).toHaveLength(1);
    expect(ok(await c.get(`/v1/agents/${agent.id}/pattern`, viewer)).id).toBe(p.id); // the agent's cognitivePattern: adaptive, the default
    for (const res of [await use(p.id, { success: true }, viewer), await c.post(`/v1/agents/${agent.id}/pattern-uses`, viewer, { success: true })]) {
      expect(res.statusCode).toBe(403);
      expect(errorOf(res).code).toBe('forbidden');
    }
  });
});
