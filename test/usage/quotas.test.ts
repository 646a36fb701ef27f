import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, signupUser, type SignedUp } from '../helpers/app.js';
import { agentRun, otlpJson } from '../runs/otlp-fixtures.js';
import { makeAgent } from '../runs/fixtures.js';
import { call, ok, runAgent, runtimeApp, scriptedAgent, type RuntimeTest } from '../runtime/run-fixtures.js';

/**
 * Runs the service executes and telemetry it receives have separate limits:
 * runs per month; ingested spans per month and per second. Telemetry never
 * uses up the runs of the month, and each refusal is a 429 with Retry-After
 * and the limit's name.
 */

let rt: RuntimeTest;
beforeAll(async () => {
  rt = await runtimeApp();
});
afterAll(async () => rt?.close());

async function setLimits(who: SignedUp, limits: Record<string, number>) {
  const org = ok(await call(rt.t, 'GET', '/v1/org', who.auth));
  return ok(await call(rt.t, 'PATCH', '/v1/org', who.auth, { version: org.version, ...limits }));
}
const usage = async (who: SignedUp) => ok(await call(rt.t, 'GET', '/v1/usage', who.auth));
const spansIn = async (orgId: string) =>
  (await rt.t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM spans WHERE org_id = $1`, [orgId])).rows[0]!.n;

function spanBatch(agentId: string, tag: string, n: number) {
  return {
    executions: [{ clientId: `${tag}-e`, agentId }],
    spans: Array.from({ length: n }, (_, i) => ({
      clientId: `${tag}-s${i}`, executionClientId: `${tag}-e`, kind: 'other', name: `s${i}`, startedAt: new Date().toISOString(),
    })),
  };
}
/** One agent run as OTLP: three spans of a new trace. */
const runSpans = () => {
  const r = agentRun();
  return [r.root, r.chat, r.tool];
};
const ingest = (who: SignedUp, body: unknown) => call(rt.t, 'POST', '/v1/ingest/batch', who.auth, body);

describe('runs and telemetry are limited separately', () => {
  it('ingested OTLP traces do not use up the runs of the month: the runtime still runs', async () => {
    const who = await signupUser(rt.t.app);
    await setLimits(who, { maxExecutionsPerMonth: 2 });
    for (let i = 0; i < 5; i++) {
      const res = await call(rt.t, 'POST', '/v1/otlp/v1/traces', who.auth, otlpJson(runSpans()));
      expect(res.statusCode, res.body).toBe(200);
    }
    const u = await usage(who);
    expect(u.runs).toEqual({ used: 0, limit: 2, limitName: 'runs_per_month' });
    expect(u.ingestedSpans.used).toBeGreaterThanOrEqual(5);

    rt.scripts.write('fine', [{ content: 'fine' }, { content: 'fine' }]);
    const agent = await scriptedAgent(rt.t, who.auth, 'fine');
    expect(ok(await runAgent(rt.t, who.auth, agent.id, { input: 'one' })).status).toBe('completed');
    expect(ok(await runAgent(rt.t, who.auth, agent.id, { input: 'two' })).status).toBe('completed');
    const third = await runAgent(rt.t, who.auth, agent.id, { input: 'three' });
    expect(third.statusCode).toBe(429);
    expect(errorOf(third).details).toMatchObject({ limit: 'runs_per_month', max: 2, used: 2 });

    // The runtime's own spans are runs, not telemetry.
    const after = await usage(who);
    expect(after.runs.used).toBe(2);
    expect(after.ingestedSpans.used).toBe(u.ingestedSpans.used);
  });

  it('ingested spans per month: past the limit a batch is refused whole (429, Retry-After, the limit named), nothing written', async () => {
    const who = await signupUser(rt.t.app);
    const agentId = await makeAgent(rt.t.app, who.auth, 'telemetry');
    await setLimits(who, { maxIngestedSpansPerMonth: 10 });
    expect(ok(await ingest(who, spanBatch(agentId, 'a', 8))).accepted).toBe(9);

    const refused = await ingest(who, spanBatch(agentId, 'b', 5));
    expect(refused.statusCode, refused.body).toBe(429);
    const e = errorOf(refused);
    expect(e.code).toBe('quota_exceeded');
    expect(e.details).toMatchObject({ limit: 'ingested_spans_per_month', max: 10, used: 8, requested: 5 });
    expect(e.message).toContain('maxIngestedSpansPerMonth');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(await spansIn(who.orgId)).toBe(8);

    // A resent batch of spans already stored is not new telemetry.
    expect(ok(await ingest(who, spanBatch(agentId, 'a', 8))).duplicate).toBe(9);
    // OTLP counts the same way.
    const otlp = await call(rt.t, 'POST', '/v1/otlp/v1/traces', who.auth, otlpJson(runSpans()));
    expect(otlp.statusCode).toBe(429);
    expect(errorOf(otlp).details).toMatchObject({ limit: 'ingested_spans_per_month' });

    expect((await usage(who)).ingestedSpans).toEqual({ used: 8, limit: 10, limitName: 'ingested_spans_per_month' });
    await setLimits(who, { maxIngestedSpansPerMonth: 1000 });
    expect(ok(await ingest(who, spanBatch(agentId, 'b', 5))).accepted).toBe(6);
  });

  it('ingested spans per second: a batch past a second\'s worth passes, the next waits (429 rate_limited, Retry-After)', async () => {
    const who = await signupUser(rt.t.app);
    const agentId = await makeAgent(rt.t.app, who.auth, 'bursty');
    await setLimits(who, { maxIngestedSpansPerSecond: 5 });
    expect(ok(await ingest(who, spanBatch(agentId, 'burst', 20))).accepted).toBe(21);

    const refused = await ingest(who, spanBatch(agentId, 'next', 1));
    expect(refused.statusCode, refused.body).toBe(429);
    const e = errorOf(refused);
    expect(e.code).toBe('rate_limited');
    expect(e.details).toMatchObject({ limit: 'ingested_spans_per_second', max: 5 });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await spansIn(who.orgId)).toBe(20);

    const u = await usage(who);
    expect(u.ingestRate).toMatchObject({ limitPerSecond: 5, limitName: 'ingested_spans_per_second' });
    expect(u.ingestRate.availableNow).toBeLessThan(0);
  });

  it('reports a past month, and refuses a malformed one', async () => {
    const who = await signupUser(rt.t.app);
    const past = ok(await call(rt.t, 'GET', '/v1/usage?month=2020-01', who.auth));
    expect(past.period).toEqual({ month: '2020-01', start: '2020-01-01T00:00:00.000Z', end: '2020-02-01T00:00:00.000Z' });
    expect(past.runs.used).toBe(0);
    expect(past.cost).toEqual({ spentUsd: 0, budgetUsd: null });
    const bad = await call(rt.t, 'GET', '/v1/usage?month=2020-13', who.auth);
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).code).toBe('validation_failed');
  });

  it('the limits are the organization\'s, changed with PATCH /v1/org and validated', async () => {
    const who = await signupUser(rt.t.app);
    const org = ok(await call(rt.t, 'GET', '/v1/org', who.auth));
    expect(org).toMatchObject({ maxIngestedSpansPerMonth: 10_000_000, maxIngestedSpansPerSecond: 10_000 });
    for (const bad of [{ maxIngestedSpansPerSecond: 0 }, { maxIngestedSpansPerMonth: -1 }, { maxIngestedSpansPerSecond: 1.5 }]) {
      const res = await call(rt.t, 'PATCH', '/v1/org', who.auth, { version: org.version, ...bad });
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
    }
  });
});
