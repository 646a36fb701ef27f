import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

/**
 * GET /v1/costs by every groupBy agrees with the ledger to the cent: per
 * group (the ledger grouped the same way) and in sum (the ledger's total for
 * the range), except tags, where a row counts once under each of its tags.
 */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let planner: string;
let booker: string;
let gone: string;
/** A plan of organization a (set in beforeAll): an ingested planId names a live plan. */
let plan: string;
const stranger = randomUUID();

const daysAgo = (d: number, minutes = 0) => new Date(Date.now() - d * 86_400_000 - minutes * 60_000).toISOString();
const day = (d: number) => daysAgo(d).slice(0, 10);
let n = 0;
const cid = (tag: string) => `${tag}-${++n}`;

async function ingest(who: SignedUp, payload: object) {
  const res = await t.app.inject({ method: 'POST', url: '/v1/ingest/batch', headers: who.auth, payload });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().rejected, res.body).toBe(0);
}

async function get(url: string, who = a) {
  const res = await t.app.inject({ method: 'GET', url, headers: who.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const llm = (executionClientId: string, d: number, over: Record<string, unknown> = {}) => ({
  clientId: cid('span'), executionClientId, kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai',
  promptTokens: 1357, completionTokens: 246, startedAt: daysAgo(d, 30), ...over,
});

/** A ledger row written directly (as the tenant): the tag path of the aggregate, and agents the API would refuse. */
async function ledgerRow(over: { agentId?: string | null; tags: unknown; cost: string; model?: string; provider?: string; d: number }) {
  await t.db.tenant(a.orgId, (sql) => sql.query(
    `INSERT INTO cost_ledger (org_id, span_ref, span_started_at, span_id, execution_id, execution_created_at, agent_id,
       model_provider, model_name, prompt_tokens, completion_tokens, total_tokens, total_cost_usd, billing_date, tags)
     VALUES ($1, gen_random_uuid(), $2::timestamptz, substr(md5(random()::text), 1, 16), gen_random_uuid(), $2::timestamptz, $3, $4, $5, 100, 50, 150,
       $6, ($2::timestamptz AT TIME ZONE 'UTC')::date, $7)`,
    [a.orgId, daysAgo(over.d), over.agentId ?? null, over.provider ?? 'openai', over.model ?? 'gpt-4o', over.cost, JSON.stringify(over.tags)],
  ));
}

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  planner = await makeAgent(t.app, a.auth, 'planner');
  booker = await makeAgent(t.app, a.auth, 'booker');
  gone = await makeAgent(t.app, a.auth, 'gone');
  plan = (await t.app.inject({ method: 'POST', url: '/v1/plans', headers: a.auth, payload: { kind: 'generic', title: 'Trip' } })).json().id;
  const [e1, e2, e3, e4] = [cid('exec'), cid('exec'), cid('exec'), cid('exec')];
  await ingest(a, {
    executions: [
      { clientId: e1, agentId: planner, userId: a.userId, sessionId: 'trip-1', planId: plan, createdAt: daysAgo(5, 60) },
      { clientId: e2, agentId: booker, sessionId: 'trip-2', createdAt: daysAgo(2, 60) },
      { clientId: e3, agentId: gone, userId: a.userId, sessionId: 'trip-1', createdAt: daysAgo(0, 60) },
      { clientId: e4, agentId: planner, planId: plan, createdAt: daysAgo(0, 60) },
    ],
    spans: [
      llm(e1, 5),
      llm(e1, 5, { model: 'claude-sonnet-4-20250514', provider: 'anthropic', cachedTokens: 300 }),
      llm(e2, 2, { model: 'gpt-4o-mini', promptTokens: 98_765 }),
      llm(e2, 2, { model: 'claude-3-5-haiku-20241022', provider: 'anthropic', reasoningTokens: 40 }),
      llm(e3, 0, { model: 'o3-mini', completionTokens: 4321 }),
      llm(e4, 0, { model: 'unpriced-model', provider: 'acme', costUsd: 0.123457 }),
      // Outside the range asked below: counted by neither side.
      llm(e1, 5, { startedAt: daysAgo(40) }),
    ],
  });
  await ledgerRow({ tags: ['checkout', 'beta'], cost: '0.010001', d: 1 });
  await ledgerRow({ tags: ['checkout'], cost: '0.020002', d: 0, agentId: stranger });
  await ledgerRow({ tags: ['eu', 'eu'], cost: '0.000003', d: 2, model: 'claude-3-opus', provider: 'anthropic' });
  await ledgerRow({ tags: {}, cost: '0.5', d: 3, agentId: null });
  // Another tenant's costs never show.
  const other = await makeAgent(t.app, b.auth, 'planner');
  await ingest(b, { executions: [{ clientId: 'x', agentId: other }], spans: [llm('x', 0)] });
});
afterAll(async () => t?.close());

const from = day(10);
const to = day(0);

interface ApiRow { key: string | null; costUsd: number; totalTokens: number; promptTokens: number; spans: number; slug?: string | null; name?: string | null }
interface Truth { key: string | null; cost: string; tokens: number; prompt: number; spans: number }

/** The ledger over the same billing days, grouped by an expression (a lateral for tags). */
async function truth(expr: string, from_ = from): Promise<Truth[]> {
  return t.db.tenant(a.orgId, async (sql) => (await sql.query<Truth>(
    `SELECT ${expr} AS key, sum(total_cost_usd)::text AS cost, sum(total_tokens)::float8 AS tokens,
       sum(prompt_tokens)::float8 AS prompt, count(*)::float8 AS spans
     FROM cost_ledger l${expr === 'tag' ? ` CROSS JOIN LATERAL (SELECT DISTINCT t FROM jsonb_array_elements_text(
       CASE WHEN jsonb_typeof(l.tags) = 'array' THEN l.tags ELSE '[]' END) t) AS x(tag)` : ''}
     WHERE billing_date BETWEEN $1::date AND $2::date
     GROUP BY 1`, [from_, to])).rows);
}

const cents = (usd: number | string) => Math.round(Number(usd) * 100);
const sortKey = <R extends { key: string | null }>(rows: R[]) => [...rows].sort((x, y) => String(x.key).localeCompare(String(y.key)));

async function agree(groupBy: string, expr: string, from_ = from) {
  const got = sortKey((await get(`/v1/costs?groupBy=${groupBy}&from=${from_}&to=${to}`)).data as ApiRow[]);
  const want = sortKey(await truth(expr, from_));
  expect(got.map((r) => r.key), groupBy).toEqual(want.map((r) => r.key));
  got.forEach((r, i) => {
    const w = want[i]!;
    expect(cents(r.costUsd), `${groupBy} ${r.key}`).toBe(cents(w.cost));
    expect(r.costUsd, `${groupBy} ${r.key}`).toBeCloseTo(Number(w.cost), 6);
    expect({ tokens: r.totalTokens, prompt: r.promptTokens, spans: r.spans }).toEqual({ tokens: w.tokens, prompt: w.prompt, spans: w.spans });
  });
  return got;
}

async function ledgerTotal(from_ = from) {
  return Number((await truth(`''`, from_))[0]!.cost);
}

describe('GET /v1/costs agrees with the ledger', () => {
  it.each([
    ['day', 'billing_date::text'],
    ['model', 'model_name'],
    ['provider', 'model_provider'],
    ['agent', 'agent_id::text'],
    ['user', 'user_id::text'],
    ['session', 'session_id'],
    ['plan', 'plan_id::text'],
  ])('groupBy=%s: per group, and the groups add up to the ledger total', async (groupBy, expr) => {
    const rows = await agree(groupBy, expr);
    const sum = rows.reduce((s, r) => s + r.costUsd, 0);
    expect(cents(sum)).toBe(cents(await ledgerTotal()));
    expect(sum).toBeCloseTo(await ledgerTotal(), 6);
  });

  it('groupBy=tag: per tag, a row once under each of its tags (a repeated tag once), untagged rows in no group', async () => {
    const rows = await agree('tag', 'tag');
    expect(rows.map((r) => r.key)).toEqual(['beta', 'checkout', 'eu']);
    expect(rows.find((r) => r.key === 'checkout')).toMatchObject({ costUsd: 0.030003, spans: 2 });
    expect(rows.find((r) => r.key === 'eu')).toMatchObject({ costUsd: 0.000003, spans: 1 });
  });

  it('a shorter range leaves the older days out, on both sides', async () => {
    for (const [groupBy, expr] of [['provider', 'model_provider'], ['agent', 'agent_id::text'], ['tag', 'tag']] as const) {
      await agree(groupBy, expr, day(1));
    }
  });

  it('groupBy=agent names each agent by slug and name; a deleted, unknown or missing agent is null', async () => {
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/agents/${gone}`, headers: a.auth });
    expect(del.statusCode, del.body).toBeLessThan(300);
    const rows = (await get(`/v1/costs?groupBy=agent&from=${from}&to=${to}`)).data as ApiRow[];
    const by = new Map(rows.map((r) => [r.key, r]));
    expect(by.get(planner)).toMatchObject({ slug: 'planner', name: 'planner' });
    expect(by.get(booker)).toMatchObject({ slug: 'booker', name: 'booker' });
    expect(by.get(gone)).toMatchObject({ slug: null, name: null });
    expect(by.get(stranger)).toMatchObject({ slug: null, name: null });
    expect(by.get(null)).toMatchObject({ slug: null, name: null });
    // Highest cost first, as for every groupBy but day.
    expect(rows.map((r) => r.costUsd)).toEqual([...rows.map((r) => r.costUsd)].sort((x, y) => y - x));
    // Only agent rows carry slug and name.
    const byModel = (await get(`/v1/costs?groupBy=model&from=${from}&to=${to}`)).data as ApiRow[];
    expect(byModel.every((r) => !('slug' in r) && !('name' in r))).toBe(true);
  });

  it('groupBy=session names each session by its token (the key the items were sent with)', async () => {
    const rows = (await get(`/v1/costs?groupBy=session&from=${from}&to=${to}`)).data as Array<ApiRow & { sessionToken?: string | null }>;
    const tokens = rows.map((r) => r.sessionToken).filter((x) => x).sort();
    expect(tokens).toEqual(['trip-1', 'trip-2']);
    for (const r of rows.filter((x) => x.sessionToken)) expect(r.key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('another organization sees none of it', async () => {
    for (const groupBy of ['provider', 'tag', 'agent']) {
      const rows = (await get(`/v1/costs?groupBy=${groupBy}&from=${from}&to=${to}`, b)).data as ApiRow[];
      expect(rows.every((r) => r.key !== 'acme' && r.key !== 'checkout' && r.key !== planner)).toBe(true);
    }
  });
});

describe('bad input', () => {
  it.each([
    ['groupBy=planet'],
    ['groupBy=Tag'],
    ['groupBy='],
    ['groupBy=tag&groupBy=model'],
    ['groupBy=provider&tag=beta'],
  ])('GET /v1/costs?%s answers 400 validation_failed, saying what to send', async (query) => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/costs?${query}`, headers: a.auth });
    expect(res.statusCode, res.body).toBe(400);
    const err = errorOf(res);
    expect(err.code).toBe('validation_failed');
    if (query.startsWith('groupBy=') && !query.includes('&')) {
      expect(JSON.stringify(err)).toContain('must be one of day, model, provider, agent, user, session, plan, tag');
    }
  });
});
