import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

/**
 * The pre-aggregated reads (cost_daily, execution_stats_daily) must always
 * equal what the detail tables say, through late spans, repeated spans and
 * execution updates; and execution updates themselves.
 */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let planner: string;
let booker: string;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  planner = await makeAgent(t.app, a.auth, 'planner');
  booker = await makeAgent(t.app, a.auth, 'booker');
  await makeAgent(t.app, b.auth, 'planner');
});
afterAll(async () => t?.close());

interface Result { kind: string; status: string; id?: string; error?: string }
interface Answer { accepted: number; updated: number; duplicate: number; rejected: number; results: Result[] }

let n = 0;
const cid = (tag: string) => `${tag}-${++n}`;
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

async function ingest(who: SignedUp, payload: unknown): Promise<Answer> {
  const res = await t.app.inject({ method: 'POST', url: '/v1/ingest/batch', headers: who.auth, payload: payload as object });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Answer;
}

async function get(who: SignedUp, url: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: who.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const llm = (executionClientId: string, over: Record<string, unknown> = {}) => ({
  clientId: cid('span'), executionClientId, kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai',
  promptTokens: 1000, completionTokens: 1000, startedAt: ago(5), ...over,
});

/** The ground truth: the ledger itself, grouped the way the API groups the aggregates. */
async function ledgerBy(orgId: string, expr: string) {
  return t.db.tenant(orgId, async (sql) => (await sql.query<{ key: string | null; cost: number; tokens: number; spans: number }>(
    `SELECT ${expr} AS key, sum(total_cost_usd)::float8 AS cost, sum(total_tokens)::float8 AS tokens, count(*)::float8 AS spans
     FROM cost_ledger GROUP BY 1 ORDER BY 1`,
  )).rows);
}

describe('cost aggregates', () => {
  it('equal the ledger by day, model, agent, user and session, through repeated and late spans', async () => {
    const e1 = cid('exec');
    const e2 = cid('exec');
    await ingest(a, {
      executions: [
        { clientId: e1, agentId: planner, userId: a.userId, sessionId: 'trip-1', createdAt: ago(30) },
        { clientId: e2, agentSlug: 'booker', sessionId: 'trip-2', createdAt: ago(20) },
      ],
      spans: [
        llm(e1, { spanId: '1111111111111111' }),
        llm(e1, { model: 'gpt-4o-mini', startedAt: ago(60 * 24 * 3) }),
        llm(e2, { model: 'claude-sonnet-4-20250514', provider: 'anthropic', cachedTokens: 500, reasoningTokens: 100 }),
      ],
    });
    // The same span id under a new clientId replaces its ledger row (an UPDATE of the ledger), and a late span adds one.
    await ingest(a, { spans: [llm(e1, { spanId: '1111111111111111', completionTokens: 3000 }), llm(e2, { startedAt: ago(60 * 24) })] });

    const from = ago(60 * 24 * 10).slice(0, 10);
    const api = async (groupBy: string) =>
      ((await get(a, `/v1/costs?groupBy=${groupBy}&from=${from}`)).data as { key: string | null; costUsd: number; totalTokens: number; spans: number }[])
        .map((r) => ({ key: r.key, cost: r.costUsd, tokens: r.totalTokens, spans: r.spans }))
        .sort((x, y) => String(x.key).localeCompare(String(y.key)));
    const truth = async (expr: string) =>
      (await ledgerBy(a.orgId, expr)).sort((x, y) => String(x.key).localeCompare(String(y.key)));

    const check = async (groupBy: string, expr: string) => {
      const got = await api(groupBy);
      const want = await truth(expr);
      expect(got.map((r) => r.key)).toEqual(want.map((r) => r.key));
      got.forEach((r, i) => {
        expect(r.cost).toBeCloseTo(want[i]!.cost, 6);
        expect(r.tokens).toBe(want[i]!.tokens);
        expect(r.spans).toBe(want[i]!.spans);
      });
      return got;
    };
    expect(await check('day', 'billing_date::text')).toHaveLength(3);
    expect((await check('model', 'model_name')).map((r) => r.key)).toEqual(['claude-sonnet-4-20250514', 'gpt-4o', 'gpt-4o-mini']);
    expect((await check('agent', 'agent_id::text')).map((r) => r.key).sort()).toEqual([booker, planner].sort());
    await check('user', 'user_id::text');
    await check('session', 'session_id');
    // Four ledger rows in all, not five: the repeated span id replaced its row.
    expect((await api('day')).reduce((s, r) => s + r.spans, 0)).toBe(4);
  });

  it('records what an alternative model would have cost and the savings', async () => {
    const e = cid('exec');
    const r = await ingest(b, { executions: [{ clientId: e, agentSlug: 'planner' }], spans: [llm(e, { alternativeModel: 'gpt-4o-mini' })] });
    const spanRef = r.results[1]!.id;
    const row = await t.db.tenant(b.orgId, async (sql) => (await sql.query<Record<string, string>>(
      `SELECT total_cost_usd::text AS cost, alternative_model AS alt, alternative_cost_usd::text AS alt_cost, savings_usd::text AS savings
       FROM cost_ledger WHERE span_ref = $1`, [spanRef])).rows[0]);
    // gpt-4o 1000 × $2.50/M + 1000 × $10/M; gpt-4o-mini 1000 × $0.15/M + 1000 × $0.60/M
    expect(row).toEqual({ cost: '0.012500', alt: 'gpt-4o-mini', alt_cost: '0.000750', savings: '0.011750' });
    const day = (await get(b, '/v1/costs?groupBy=day')).data as { alternativeCostUsd: number; savingsUsd: number }[];
    expect(day.at(-1)).toMatchObject({ alternativeCostUsd: 0.00075, savingsUsd: 0.01175 });
  });

  it('the seed views read the aggregates, only the tenant\'s own rows', async () => {
    const rows = await t.db.tenant(b.orgId, async (sql) => (await sql.query<{ org_id: string; monthly_cost: string }>(
      `SELECT org_id, monthly_cost::text FROM v_user_cost_summary`)).rows);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.org_id === b.orgId)).toBe(true);
    const perf = await t.db.tenant(b.orgId, async (sql) => (await sql.query<{ org_id: string; execution_count: string }>(
      `SELECT org_id, execution_count::text FROM v_agent_performance`)).rows);
    expect(perf).toEqual([expect.objectContaining({ org_id: b.orgId, execution_count: '1' })]);
  });
});

describe('agent performance', () => {
  it('counts, success rate, average and a p95 within one histogram bucket', async () => {
    const c = await signupUser(t.app);
    const agentId = await makeAgent(t.app, c.auth, 'perf');
    // 20 executions taking 100, 200, … 2000 ms; the last two failed.
    const executions = Array.from({ length: 20 }, (_, i) => ({
      clientId: `perf-${i}`, agentId, modelProvider: 'openai', modelName: 'gpt-4o', status: i >= 18 ? 'failed' : 'completed',
      executionTimeMs: (i + 1) * 100, createdAt: ago(10),
    }));
    executions.push({ clientId: 'perf-running', agentId, modelProvider: 'openai', modelName: 'gpt-4o', status: 'running', executionTimeMs: 50, createdAt: ago(10) });
    await ingest(c, { executions });
    const [row] = (await get(c, '/v1/performance')).data;
    expect(row).toMatchObject({ agentId, modelProvider: 'openai', modelName: 'gpt-4o', executions: 21, completed: 18, failed: 2 });
    expect(row.successRate).toBeCloseTo(18 / 20, 6);
    expect(row.avgLatencyMs).toBeCloseTo((21_000 + 50) / 21, 6);
    // The 95th percentile of 21 latencies is the 20th smallest: 1900 ms; the bucket bound is at most 25 % above.
    expect(row.p95LatencyMs).toBeGreaterThanOrEqual(1900);
    expect(row.p95LatencyMs).toBeLessThanOrEqual(1900 * 1.25);

    // An update moves the execution between statuses in the aggregates too.
    const up = await ingest(c, { executions: [{ clientId: 'perf-running', status: 'completed', output: { ok: true } }] });
    expect(up.results[0]).toMatchObject({ status: 'updated' });
    const [after] = (await get(c, `/v1/performance?agentId=${agentId}`)).data;
    expect(after).toMatchObject({ executions: 21, completed: 19, failed: 2 });
    expect(after.successRate).toBeCloseTo(19 / 21, 6);
  });

  it('refuses bad ranges and parameters with 400', async () => {
    for (const url of ['/v1/performance?from=2026-02-01&to=2026-01-01', '/v1/costs?from=2020-01-01&to=2026-01-01',
      '/v1/costs?groupBy=colour', '/v1/performance?agentId=nope', '/v1/costs?from=yesterday']) {
      const res = await t.app.inject({ method: 'GET', url, headers: a.auth });
      expect(res.statusCode, url).toBe(400);
      expect(['bad_request', 'validation_failed']).toContain(errorOf(res).code);
    }
  });
});

describe('execution updates', () => {
  it('a resent execution updates the fields it carries; the same again is a duplicate', async () => {
    const e = cid('exec');
    await ingest(a, { executions: [{ clientId: e, agentId: planner, status: 'running', startedAt: ago(3), metadata: { a: 1 } }] });
    const done = { clientId: e, status: 'completed', completedAt: ago(1), output: { answer: 42 }, metadata: { b: 2 } };
    expect((await ingest(a, { executions: [done] })).results[0]).toMatchObject({ status: 'updated' });
    expect((await ingest(a, { executions: [done] })).results[0]).toMatchObject({ status: 'duplicate' });
    const list = (await get(a, `/v1/executions?agentId=${planner}&status=completed`)).data as Record<string, unknown>[];
    const row = list.find((x) => x.clientId === e)!;
    expect(row).toMatchObject({ status: 'completed', output: { answer: 42 }, metadata: { a: 1, b: 2 }, agentId: planner });
  });

  it('refuses an illegal status change or a completion before the start, item by item, and changes nothing', async () => {
    const e1 = cid('exec');
    const e2 = cid('exec');
    await ingest(a, { executions: [{ clientId: e1, agentId: planner, status: 'completed' }, { clientId: e2, agentId: planner, status: 'running', startedAt: ago(2) }] });
    const r = await ingest(a, { executions: [{ clientId: e1, status: 'running' }, { clientId: e2, completedAt: ago(10) }] });
    expect(r.results.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect(r.results[0]!.error).toBe('status: an execution cannot go from completed to running');
    expect(r.results[1]!.error).toMatch(/completedAt must not be before startedAt/);
    const statuses = await t.db.tenant(a.orgId, async (sql) => (await sql.query<{ status: string; completed_at: Date | null }>(
      `SELECT status, completed_at FROM executions WHERE client_id IN ($1, $2) ORDER BY client_id`, [e1, e2])).rows);
    expect(statuses.map((s) => s.status).sort()).toEqual(['completed', 'running']);
    expect(statuses.find((s) => s.status === 'running')!.completed_at).toBeNull();
  });

  it('an execution must name an agent of the organization', async () => {
    const r = await ingest(a, {
      executions: [
        { clientId: cid('exec') },
        { clientId: cid('exec'), agentSlug: 'nobody' },
        { clientId: cid('exec'), agentId: '0190a4b2-0000-7000-8000-000000000000' },
      ],
    });
    expect(r.results.map((x) => x.error)).toEqual([
      'agentId: give the agent as agentId or agentSlug',
      'agentSlug: no live agent with slug nobody in this organization',
      'agentId: no agent 0190a4b2-0000-7000-8000-000000000000 in this organization',
    ]);
    // Another organization's agent is not this one's either.
    const other = await ingest(b, { executions: [{ clientId: cid('exec'), agentId: planner }] });
    expect(other.results[0]!.status).toBe('rejected');
  });
});

describe('message updates', () => {
  it('a resent message moves along its delivery lifecycle; an illegal step or a repeat changes nothing', async () => {
    const m = cid('msg');
    const sent = { clientId: m, fromAgentId: planner, toAgentId: booker, messageType: 'book', messageData: { hotel: 'Ritz' }, priority: 2, sentAt: ago(3) };
    expect((await ingest(a, { messages: [sent] })).results[0]).toMatchObject({ status: 'accepted' });
    const processed = { ...sent, status: 'processed', deliveredAt: ago(2), processedAt: ago(1), responseTimeMs: 120_000, responseData: { booked: true } };
    expect((await ingest(a, { messages: [processed] })).results[0]).toMatchObject({ status: 'updated' });
    expect((await ingest(a, { messages: [processed] })).results[0]).toMatchObject({ status: 'duplicate' });
    const back = await ingest(a, { messages: [{ ...sent, status: 'delivered' }] });
    expect(back.results[0]).toMatchObject({ status: 'rejected', error: 'status: a message cannot go from processed to delivered' });
    const row = await t.db.tenant(a.orgId, async (sql) => (await sql.query<Record<string, unknown>>(
      `SELECT status, response_time_ms, response_data, message_data, priority FROM agent_communications WHERE client_id = $1`, [m])).rows[0]);
    expect(row).toEqual({ status: 'processed', response_time_ms: 120_000, response_data: { booked: true }, message_data: { hotel: 'Ritz' }, priority: 2 });
  });
});
