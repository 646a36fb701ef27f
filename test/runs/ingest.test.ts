import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  // Both organizations have an agent with this slug; executions name it by slug.
  await makeAgent(t.app, a.auth, 'planner');
  await makeAgent(t.app, b.auth, 'planner');
});
afterAll(async () => t?.close());

const now = () => new Date().toISOString();
let n = 0;
const cid = (tag: string) => `${tag}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

function ingest(auth: { authorization: string }, payload: unknown) {
  return t.app.inject({ method: 'POST', url: '/v1/ingest/batch', headers: auth, payload: payload as object });
}

interface Result {
  index: number;
  kind: string;
  clientId: string | null;
  status: 'accepted' | 'duplicate' | 'rejected';
  id?: string;
  error?: string;
}
interface Answer {
  accepted: number;
  duplicate: number;
  rejected: number;
  results: Result[];
}

async function ok(auth: { authorization: string }, payload: unknown): Promise<Answer> {
  const res = await ingest(auth, payload);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Answer;
}

async function one<T>(orgId: string, text: string, params: unknown[] = []): Promise<T> {
  return t.db.tenant(orgId, async (sql) => (await sql.query<T>(text, params)).rows[0]!);
}

const count = (orgId: string, table: string) =>
  one<{ n: number }>(orgId, `SELECT count(*)::int AS n FROM ${table}`).then((r) => r.n);

const execution = (clientId: string, over: Record<string, unknown> = {}) => ({
  clientId, agentSlug: 'planner', status: 'completed', startedAt: now(), input: { q: 'plan a trip' }, ...over,
});
const llmSpan = (clientId: string, executionClientId: string, over: Record<string, unknown> = {}) => ({
  clientId, executionClientId, kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai',
  promptTokens: 1000, completionTokens: 1000, startedAt: now(), ...over,
});

describe('idempotent batch ingestion', () => {
  it('a batch sent three times creates every item once and answers duplicates with the first ids', async () => {
    const e = cid('exec');
    const batch = {
      executions: [execution(e)],
      spans: [llmSpan(cid('span'), e), { clientId: cid('span'), executionClientId: e, kind: 'tool_call', name: 'search', toolName: 'search', startedAt: now() }],
      decisions: [{ clientId: cid('dec'), executionClientId: e, decidedAt: now(), decisionType: 'idea_generation', reasoningChain: [{ step: 1 }], confidence: 0.8 }],
      messages: [{ clientId: cid('msg'), executionClientId: e, messageType: 'request', messageData: { hello: 1 }, sentAt: now(), priority: 3 }],
    };
    const before = await Promise.all(['executions', 'spans', 'agent_decisions', 'agent_communications', 'cost_ledger'].map((x) => count(a.orgId, x)));
    const first = await ok(a.auth, batch);
    expect(first).toMatchObject({ accepted: 5, duplicate: 0, rejected: 0 });
    const second = await ok(a.auth, batch);
    const third = await ok(a.auth, batch);
    for (const again of [second, third]) {
      expect(again).toMatchObject({ accepted: 0, duplicate: 5, rejected: 0 });
      expect(again.results.map((r) => r.id)).toEqual(first.results.map((r) => r.id));
    }
    const after = await Promise.all(['executions', 'spans', 'agent_decisions', 'agent_communications', 'cost_ledger'].map((x) => count(a.orgId, x)));
    expect(after).toEqual([before[0]! + 1, before[1]! + 2, before[2]! + 1, before[3]! + 1, before[4]! + 1]);
    // Telemetry is not audited (the audit log records state changes by people and keys).
    const audit = await one<{ n: number }>(a.orgId, `SELECT count(*)::int AS n FROM audit_logs WHERE action = 'ingest.batch'`);
    expect(audit.n).toBe(0);
  });

  it('the same clientId twice in one batch lands once', async () => {
    const e = cid('exec');
    const res = await ok(a.auth, { executions: [execution(e), execution(e)] });
    expect(res.results.map((r) => r.status)).toEqual(['accepted', 'duplicate']);
    const r = await one<{ n: number }>(a.orgId, `SELECT count(*)::int AS n FROM executions WHERE client_id = $1`, [e]);
    expect(r.n).toBe(1);
  });
});

describe('per-item validation', () => {
  it('a malformed item fails alone with its reason while the others land', async () => {
    const [e1, e2, e3] = [cid('exec'), cid('exec'), cid('exec')];
    const res = await ok(a.auth, {
      executions: [execution(e1), execution(e2, { agentId: 'not-a-uuid' }), execution(e3)],
      spans: [llmSpan(cid('span'), e1, { promptTokens: 10, cachedTokens: 20 }), llmSpan(cid('span'), 'never-ingested')],
    });
    expect(res).toMatchObject({ accepted: 2, rejected: 3 });
    const [r1, r2, r3, s1, s2] = res.results;
    expect([r1!.status, r3!.status]).toEqual(['accepted', 'accepted']);
    expect(r2).toMatchObject({ index: 1, kind: 'execution', clientId: e2, status: 'rejected' });
    expect(r2!.error).toContain('agentId');
    expect(s1!.error).toContain('cachedTokens');
    expect(s2!.error).toContain('never-ingested');
    const landed = await one<{ n: number }>(a.orgId, `SELECT count(*)::int AS n FROM executions WHERE client_id = ANY($1::text[])`, [[e1, e2, e3]]);
    expect(landed.n).toBe(2);
    // A rejected item claimed no key: sent again corrected, it lands.
    const fixed = await ok(a.auth, { executions: [execution(e2)] });
    expect(fixed.results[0]!.status).toBe('accepted');
  });

  it('an item outside the partition window is rejected with the window', async () => {
    const res = await ok(a.auth, { executions: [execution(cid('exec'), { createdAt: '2001-01-01T00:00:00Z' })] });
    expect(res.results[0]!.status).toBe('rejected');
    expect(res.results[0]!.error).toMatch(/outside what executions keeps/);
  });
});

describe('cost', () => {
  it('prices a span with cached, cache-write and reasoning tokens as a hand calculation', async () => {
    const e = cid('exec');
    const res = await ok(a.auth, {
      executions: [execution(e)],
      spans: [llmSpan(cid('span'), e, {
        model: 'claude-sonnet-4-20250514', provider: 'anthropic',
        promptTokens: 1000, cachedTokens: 400, cacheWriteTokens: 100, completionTokens: 500, reasoningTokens: 200,
      })],
    });
    // 500 fresh input × $3/M + 400 cached × $0.30/M + 100 cache-write × $3.75/M + 300 output × $15/M + 200 reasoning × $15/M
    const expected = 500 * 3e-6 + 400 * 0.3e-6 + 100 * 3.75e-6 + 300 * 15e-6 + 200 * 15e-6;
    const spanId = res.results.find((r) => r.kind === 'span')!.id;
    const l = await one<{ cost: string; tier: string; cached: number }>(a.orgId,
      `SELECT total_cost_usd::text AS cost, model_tier AS tier, cached_tokens AS cached FROM cost_ledger WHERE span_ref = $1`, [spanId]);
    expect(Number(l.cost)).toBeCloseTo(expected, 6);
    expect(l.cost).toBe('0.009495');
    const s = await one<{ cost: string }>(a.orgId, `SELECT cost_usd::text AS cost FROM spans WHERE id = $1`, [spanId]);
    expect(s.cost).toBe('0.009495');
    const x = await one<{ cost: string; reasoning: number }>(a.orgId,
      `SELECT cost_usd::text AS cost, reasoning_tokens AS reasoning FROM executions WHERE client_id = $1`, [e]);
    expect(x).toEqual({ cost: '0.009495', reasoning: 200 });
  });

  it("an organization's price override beats the shipped default, for that organization only", async () => {
    await t.db.tenant(b.orgId, (sql) => sql.query(
      `INSERT INTO model_prices (org_id, provider, model_pattern, effective_from, input_price, output_price)
       VALUES ($1, 'openai', '^gpt-4o', '2020-01-01', 0.000001, 0.000002)`, [b.orgId]));
    const costOf = async (who: SignedUp) => {
      const e = cid('exec');
      await ok(who.auth, { executions: [execution(e)], spans: [llmSpan(cid('span'), e)] });
      return (await one<{ cost: string }>(who.orgId, `SELECT cost_usd::text AS cost FROM executions WHERE client_id = $1`, [e])).cost;
    };
    expect(await costOf(b)).toBe('0.003000'); // 1000 × $1/M + 1000 × $2/M
    expect(await costOf(a)).toBe('0.012500'); // default gpt-4o: 1000 × $2.50/M + 1000 × $10/M
  });

  it('uses the price in force at the span start, not at ingestion', async () => {
    const changed = new Date(Date.now() - 60 * 60_000);
    await t.db.tenant(b.orgId, (sql) => sql.query(
      `INSERT INTO model_prices (org_id, provider, model_pattern, effective_from, input_price, output_price)
       VALUES ($1, 'openai', '^gpt-4\\.1$', $2, 0.00001, 0.00001)`, [b.orgId, changed.toISOString()]));
    const e = cid('exec');
    const before = llmSpan(cid('span'), e, { model: 'gpt-4.1', startedAt: new Date(changed.getTime() - 60_000).toISOString() });
    const after = llmSpan(cid('span'), e, { model: 'gpt-4.1', startedAt: now() });
    const res = await ok(b.auth, { executions: [execution(e)], spans: [before, after] });
    const [, s1, s2] = res.results;
    const cost = (id: string) => one<{ cost: string }>(b.orgId, `SELECT total_cost_usd::text AS cost FROM cost_ledger WHERE span_ref = $1`, [id]);
    expect((await cost(s1!.id!)).cost).toBe('0.010000'); // default gpt-4.1: 1000 × $2/M + 1000 × $8/M
    expect((await cost(s2!.id!)).cost).toBe('0.020000'); // the override from an hour ago: 2000 × $10/M
  });

  it('roll-up totals stay right when a span arrives twice or late', async () => {
    const e = cid('exec');
    const s1 = llmSpan(cid('span'), e, { spanId: 'aaaaaaaaaaaaaaaa' });
    await ok(a.auth, { executions: [execution(e, { costUsd: 99 })], spans: [s1] });
    const total = () => one<{ cost: string; tokens: number }>(a.orgId,
      `SELECT cost_usd::text AS cost, total_tokens AS tokens FROM executions WHERE client_id = $1`, [e]);
    expect(await total()).toEqual({ cost: '0.012500', tokens: 2000 });
    // The same span again (retry), and again under another clientId with the same span id, plus a late one.
    const late = llmSpan(cid('span'), e, { model: 'gpt-4o-mini', spanId: 'bbbbbbbbbbbbbbbb' });
    const res = await ok(a.auth, { spans: [s1, { ...s1, clientId: cid('span') }, late] });
    expect(res.results.map((r) => r.status)).toEqual(['duplicate', 'accepted', 'accepted']);
    // gpt-4o-mini: 1000 × $0.15/M + 1000 × $0.60/M = 0.00075
    expect(await total()).toEqual({ cost: '0.013250', tokens: 4000 });
    const ledger = await one<{ n: number }>(a.orgId,
      `SELECT count(*)::int AS n FROM cost_ledger l JOIN executions x ON x.id = l.execution_id WHERE x.client_id = $1`, [e]);
    expect(ledger.n).toBe(2);
  });
});

describe('one ledger row per span id', () => {
  it('two spans with the same span id in one batch are priced once, the later one counting', async () => {
    const e = cid('exec');
    const first = llmSpan(cid('span'), e, { spanId: 'cccccccccccccccc' });
    const second = llmSpan(cid('span'), e, { spanId: 'cccccccccccccccc', model: 'gpt-4o-mini' });
    const res = await ok(a.auth, { executions: [execution(e)], spans: [first, second] });
    expect(res.results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
    const x = await one<{ cost: string; tokens: number }>(a.orgId,
      `SELECT cost_usd::text AS cost, total_tokens AS tokens FROM executions WHERE client_id = $1`, [e]);
    expect(x).toEqual({ cost: '0.000750', tokens: 2000 }); // gpt-4o-mini only: 1000 × $0.15/M + 1000 × $0.60/M
  });
});

describe('tenancy', () => {
  it("another organization can neither see nor attach to a tenant's executions; clientIds are per organization", async () => {
    const e = cid('exec');
    await ok(a.auth, { executions: [execution(e)] });
    const res = await ok(b.auth, { executions: [execution(e)], spans: [llmSpan(cid('span'), `${e}-of-a`)] });
    expect(res.results.map((r) => r.status)).toEqual(['accepted', 'rejected']);
    const seen = await one<{ n: number }>(b.orgId, `SELECT count(*)::int AS n FROM executions WHERE client_id = $1`, [e]);
    expect(seen.n).toBe(1);
  });
});

describe('bad input', () => {
  it('refuses a body that is not JSON with 400 invalid_json', async () => {
    const res = await t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: { ...a.auth, 'content-type': 'application/json' }, payload: '{"executions": [',
    });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('invalid_json');
  });

  it('refuses unknown top-level fields, non-array lists and an empty batch with 400', async () => {
    for (const body of [{ runs: [] }, { executions: {} }, {}]) {
      const res = await ingest(a.auth, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
  });

  it('refuses more than 5000 items with 413 and writes nothing', async () => {
    const before = await count(a.orgId, 'executions');
    const res = await ingest(a.auth, { executions: Array.from({ length: 5001 }, (_, i) => execution(`big-${i}`)) });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).code).toBe('payload_too_large');
    expect(await count(a.orgId, 'executions')).toBe(before);
  });

  it('refuses a body over 16 MiB with 413', async () => {
    const res = await ingest(a.auth, { executions: [execution('huge', { input: { blob: 'x'.repeat(17 * 1024 * 1024) } })] });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).code).toBe('payload_too_large');
    // The route's own limit, not the app's default 1 MiB.
    expect(errorOf(res).details).toEqual({ limitBytes: 16 * 1024 * 1024 });
  });

  it('refuses an anonymous caller with 401', async () => {
    const res = await ingest({ authorization: '' }, { executions: [execution(cid('exec'))] });
    expect(res.statusCode).toBe(401);
  });
});
