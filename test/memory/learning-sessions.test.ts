import { randomUUID } from 'node:crypto';
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
  agent = await createAgent(t, owner.auth, { name: 'Meta learner' });
});
afterAll(async () => t?.close());

const start = async (over: Record<string, unknown> = {}, agentRef = agent.id, auth: Auth = owner.auth) =>
  ok(await c.post(`/v1/agents/${agentRef}/learning-sessions`, auth, { sourceDomain: 'travel', targetDomain: 'events', ...over }), 201);
const metrics = (id: string, body: unknown, auth: Auth = owner.auth) => c.post(`/v1/learning-sessions/${id}/metrics`, auth, body);
const complete = (id: string, body: unknown, auth: Auth = owner.auth) => c.post(`/v1/learning-sessions/${id}/complete`, auth, body);

async function rowCount(table: string): Promise<number> {
  return (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
}
const writes = async () => ({ sessions: await rowCount('learning_sessions'), audit: await rowCount('audit_logs') });
const stored = async (id: string) =>
  (await t.db.admin.query(`SELECT session_metrics, improvement_score::float8 AS score, completed_at IS NOT NULL AS done FROM learning_sessions WHERE id = $1`, [id])).rows[0];

describe('learning sessions', () => {
  it('starts a session with defaults, active, and reads it back', async () => {
    const s = await start({}, agent.slug);
    expect(s).toMatchObject({
      agentId: agent.id,
      sourceDomain: 'travel',
      targetDomain: 'events',
      transferMode: 'adaptive',
      sessionMetrics: {},
      improvementScore: null,
      status: 'active',
      completedAt: null,
    });
    expect(new Date(s.startedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(ok(await c.get(`/v1/learning-sessions/${s.id}`, owner.auth))).toEqual(s);
  });

  it('keeps a transfer mode and initial metrics', async () => {
    for (const transferMode of ['adaptive', 'direct', 'gradual']) {
      const s = await start({ transferMode, sessionMetrics: { epochs: 3 } });
      expect(s).toMatchObject({ transferMode, sessionMetrics: { epochs: 3 } });
    }
  });

  it('merges recorded metrics (top-level keys sent replace those stored)', async () => {
    const s = await start({ sessionMetrics: { loss: 0.9, epochs: 1, notes: { a: 1 } } });
    const a = ok(await metrics(s.id, { metrics: { loss: 0.5, epochs: 2 } }));
    expect(a.sessionMetrics).toEqual({ loss: 0.5, epochs: 2, notes: { a: 1 } });
    const b = ok(await metrics(s.id, { metrics: { notes: { b: 2 }, accuracy: 0.8 } }));
    expect(b).toMatchObject({ status: 'active', sessionMetrics: { loss: 0.5, epochs: 2, notes: { b: 2 }, accuracy: 0.8 } });
    expect(ok(await metrics(s.id, { metrics: {} })).sessionMetrics).toEqual(b.sessionMetrics);
  });

  it('completes once with an improvement score (two decimals) and last metrics; then refuses changes with 409 session_completed', async () => {
    const s = await start({ sessionMetrics: { loss: 0.9 } });
    const done = ok(await complete(s.id, { improvementScore: 0.456, sessionMetrics: { loss: 0.2 } }));
    expect(done).toMatchObject({ status: 'completed', improvementScore: 0.46, sessionMetrics: { loss: 0.2 } });
    expect(new Date(done.completedAt).getTime()).toBeGreaterThanOrEqual(new Date(done.startedAt).getTime());
    const before = await writes();
    for (const res of [await complete(s.id, { improvementScore: 1 }), await metrics(s.id, { metrics: { late: true } })]) {
      expect(res.statusCode).toBe(409);
      expect(errorOf(res)).toMatchObject({ code: 'session_completed', details: { completedAt: done.completedAt } });
    }
    expect(await writes()).toEqual(before);
    expect(ok(await c.get(`/v1/learning-sessions/${s.id}`, owner.auth))).toEqual(done);
  });

  it('takes a negative improvement score and no metrics on completion', async () => {
    const s = await start();
    expect(ok(await complete(s.id, { improvementScore: -1 }))).toMatchObject({ improvementScore: -1, sessionMetrics: {}, status: 'completed' });
  });

  it('completes exactly once under concurrent completions', async () => {
    const s = await start();
    const res = await Promise.all([0.1, 0.2, 0.3, 0.4].map((improvementScore) => complete(s.id, { improvementScore })));
    expect(res.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409]);
    const winner = res.find((r) => r.statusCode === 200)!.json();
    expect(await stored(s.id)).toEqual({ session_metrics: {}, score: winner.improvementScore, done: true });
  });

  it('keeps merged metrics within 1 MiB (413), writing nothing', async () => {
    const s = await start();
    const chunk = 'x'.repeat(600_000);
    ok(await metrics(s.id, { metrics: { a: chunk } }));
    const before = await writes();
    const res = await metrics(s.id, { metrics: { b: chunk } });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).code).toBe('payload_too_large');
    expect(await writes()).toEqual(before);
    // Replacing the key keeps it within the limit.
    expect(Object.keys(ok(await metrics(s.id, { metrics: { a: 'small' } })).sessionMetrics)).toEqual(['a']);
  });

  it('audits start, metrics and completion with the agent', async () => {
    const s = await start();
    ok(await metrics(s.id, { metrics: { step: 1 } }));
    ok(await complete(s.id, { improvementScore: 0.5 }));
    const rows = await auditRows(t, owner.orgId, s.id);
    expect(rows.map((r) => r.action)).toEqual(['learning_session.started', 'learning_session.metrics_recorded', 'learning_session.completed']);
    expect(rows.every((r) => r.resource_type === 'learning_session' && r.agent_id === agent.id)).toBe(true);
    expect(rows[1]!.new_values).toMatchObject({ metrics: { step: 1 }, status: 'active' });
    expect(rows[2]!.new_values).toMatchObject({ improvementScore: 0.5, status: 'completed' });
  });
});

describe('listing sessions', () => {
  let org: SignedUp;
  let a: { id: string; slug: string };
  let b: { id: string; slug: string };
  const made: Array<{ id: string; agentId: string; sourceDomain: string; targetDomain: string; status: string }> = [];
  beforeAll(async () => {
    org = await signupBuilder(t);
    a = await createAgent(t, org.auth, { name: 'Agent A' });
    b = await createAgent(t, org.auth, { name: 'Agent B' });
    const plan: Array<[string, string, string, boolean]> = [
      [a.id, 'travel', 'events', false],
      [b.id, 'travel', 'retail', true],
      [a.id, 'retail', 'events', true],
      [b.id, 'travel', 'events', false],
      [a.id, 'travel', 'events', true],
    ];
    for (const [agentId, sourceDomain, targetDomain, done] of plan) {
      const s = await start({ sourceDomain, targetDomain }, agentId, org.auth);
      made.push(done ? ok(await complete(s.id, { improvementScore: 0.1 }, org.auth)) : s);
    }
  });
  const walk = async (query: string, limit: number) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const body: { data: Array<{ id: string }>; nextCursor: string | null } = ok(
        await c.get(`/v1/learning-sessions?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`, org.auth),
      );
      seen.push(...body.data.map((x) => x.id));
      cursor = body.nextCursor;
    } while (cursor);
    return seen;
  };
  const expectIds = (pred: (s: (typeof made)[number]) => boolean) => [...made].reverse().filter(pred).map((s) => s.id);

  it('lists newest first and pages exactly', async () => {
    expect(await walk('', 2)).toEqual(expectIds(() => true));
  });

  it('filters by agent (id or slug), domains and status', async () => {
    expect(await walk(`&agentId=${a.slug}`, 2)).toEqual(expectIds((s) => s.agentId === a.id));
    expect(await walk(`&agentId=${b.id}`, 5)).toEqual(expectIds((s) => s.agentId === b.id));
    expect(await walk('&sourceDomain=travel', 5)).toEqual(expectIds((s) => s.sourceDomain === 'travel'));
    expect(await walk('&targetDomain=events&sourceDomain=travel', 1)).toEqual(expectIds((s) => s.sourceDomain === 'travel' && s.targetDomain === 'events'));
    expect(await walk('&status=active', 5)).toEqual(expectIds((s) => s.status === 'active'));
    expect(await walk(`&status=completed&agentId=${a.id}`, 5)).toEqual(expectIds((s) => s.status === 'completed' && s.agentId === a.id));
    expect(await walk('&sourceDomain=finance', 5)).toEqual([]);
  });

  it('refuses bad filters, and an unknown agent with 404', async () => {
    for (const q of ['status=done', 'agentId=Bad%20Agent', 'sourceDomain=', 'limit=101', 'sort=started', `targetDomain=${'x'.repeat(101)}`]) {
      const res = await c.get(`/v1/learning-sessions?${q}`, org.auth);
      expect(res.statusCode, q).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    expect(errorOf(await c.get('/v1/learning-sessions?cursor=zzz', org.auth)).code).toBe('bad_request');
    const res = await c.get('/v1/learning-sessions?agentId=no-such-agent', org.auth);
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
  });
});

describe('bad input', () => {
  it.each([
    ['no fields', {}],
    ['a missing targetDomain', { sourceDomain: 'travel' }],
    ['a blank sourceDomain', { sourceDomain: '  ', targetDomain: 'events' }],
    ['a domain over 100 characters', { sourceDomain: 'x'.repeat(101), targetDomain: 'events' }],
    ['an unknown transfer mode', { sourceDomain: 'a', targetDomain: 'b', transferMode: 'copy' }],
    ['sessionMetrics not an object', { sourceDomain: 'a', targetDomain: 'b', sessionMetrics: [1] }],
    ['sessionMetrics null', { sourceDomain: 'a', targetDomain: 'b', sessionMetrics: null }],
    ['a domain that is a number', { sourceDomain: 1, targetDomain: 'b' }],
    ['an unknown field', { sourceDomain: 'a', targetDomain: 'b', improvementScore: 0.5 }],
  ])('refuses a session with %s (400) and writes nothing', async (_name, body) => {
    const before = await writes();
    const res = await c.post(`/v1/agents/${agent.id}/learning-sessions`, owner.auth, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(await writes()).toEqual(before);
  });

  it('refuses bad metrics and completions (400) and leaves the session as it was', async () => {
    const s = await start({ sessionMetrics: { k: 1 } });
    const before = await writes();
    for (const body of [{}, { metrics: null }, { metrics: [1] }, { metrics: 'x' }, { metrics: {}, extra: 1 }]) {
      const res = await metrics(s.id, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    for (const body of [{}, { improvementScore: 1.01 }, { improvementScore: -1.5 }, { improvementScore: '0.5' }, { improvementScore: 0.5, sessionMetrics: [] },
      { improvementScore: 0.5, status: 'completed' }]) {
      const res = await complete(s.id, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    expect(await writes()).toEqual(before);
    expect(await stored(s.id)).toEqual({ session_metrics: { k: 1 }, score: null, done: false });
  });

  it('refuses malformed ids with 400, and unknown agents and sessions with 404', async () => {
    for (const path of ['/v1/learning-sessions/not-a-uuid', '/v1/learning-sessions/123']) {
      const res = await c.get(path, owner.auth);
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    expect(errorOf(await metrics('xyz', { metrics: {} })).code).toBe('validation_failed');
    const before = await writes();
    for (const res of [
      await c.get(`/v1/learning-sessions/${randomUUID()}`, owner.auth),
      await metrics(randomUUID(), { metrics: { a: 1 } }),
      await complete(randomUUID(), { improvementScore: 0 }),
      await c.post('/v1/agents/no-such-agent/learning-sessions', owner.auth, { sourceDomain: 'a', targetDomain: 'b' }),
      await c.post(`/v1/agents/${randomUUID()}/learning-sessions`, owner.auth, { sourceDomain: 'a', targetDomain: 'b' }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(await writes()).toEqual(before);
  });
});

describe('access', () => {
  let s: { id: string };
  let other: SignedUp;
  let viewer: Auth;
  beforeAll(async () => {
    s = await start({ sessionMetrics: { owned: true } });
    other = await signupBuilder(t);
    viewer = (await joinAs(t, owner, 'viewer')).auth;
  });

  it('gives another organization 404 on every route, an empty list, and writes nothing', async () => {
    const before = await writes();
    for (const res of [
      await c.post(`/v1/agents/${agent.id}/learning-sessions`, other.auth, { sourceDomain: 'a', targetDomain: 'b' }),
      await c.get(`/v1/learning-sessions/${s.id}`, other.auth),
      await metrics(s.id, { metrics: { hijacked: true } }, other.auth),
      await complete(s.id, { improvementScore: 1 }, other.auth),
      await c.get(`/v1/learning-sessions?agentId=${agent.id}`, other.auth),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(ok(await c.get('/v1/learning-sessions', other.auth)).data).toEqual([]);
    expect(await writes()).toEqual(before);
    expect(await stored(s.id)).toEqual({ session_metrics: { owned: true }, score: null, done: false });
  });

  it('lets a viewer read but not write (403)', async () => {
    expect(ok(await c.get(`/v1/learning-sessions/${s.id}`, viewer)).id).toBe(s.id);
    expect(ok(await c.get('/v1/learning-sessions', viewer)).data.length).toBeGreaterThan(0);
    for (const res of [
      await c.post(`/v1/agents/${agent.id}/learning-sessions`, viewer, { sourceDomain: 'a', targetDomain: 'b' }),
      await metrics(s.id, { metrics: {} }, viewer),
      await complete(s.id, { improvementScore: 0 }, viewer),
    ]) {
      expect(res.statusCode).toBe(403);
      expect(errorOf(res).code).toBe('forbidden');
    }
  });
});
