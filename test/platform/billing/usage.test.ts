import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordUsage } from '../../../src/platform/index.js';
import { client, ok } from '../../agents/fixtures.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../../helpers/app.js';
import { makeAgent } from '../../runs/fixtures.js';
import { dayText, deps, monthStart, rows, setCounter } from './fixtures.js';

let t: TestApp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  c = client(t);
});
afterAll(async () => t?.close());

let n = 0;
const cid = (p: string) => `${p}-${++n}`;

/** Ingests one execution with llm spans through the real batch ingestion (the cost ledger prices them). */
async function ingestLlm(u: SignedUp, agentId: string, spans: Array<{ promptTokens: number; completionTokens: number; model?: string }>) {
  const e = cid('exec');
  const res = ok(await c.post('/v1/ingest/batch', u.auth, {
    executions: [{ clientId: e, agentId, status: 'completed', startedAt: new Date().toISOString() }],
    spans: spans.map((s) => ({
      clientId: cid('span'), executionClientId: e, kind: 'llm_call', name: 'chat', provider: 'openai', model: s.model ?? 'gpt-4o',
      promptTokens: s.promptTokens, completionTokens: s.completionTokens, startedAt: new Date().toISOString(),
    })),
  }));
  expect(res.rejected).toBe(0);
}

/** What the ledger itself says about the month (read as the owner, straight from cost_ledger). */
async function ledger(orgId: string, month: Date) {
  const r = await t.db.admin.query<{ cost: string; prompt: string; completion: string; total: string }>(
    `SELECT sum(total_cost_usd)::text AS cost, sum(prompt_tokens)::text AS prompt, sum(completion_tokens)::text AS completion,
       sum(total_tokens)::text AS total
     FROM cost_ledger WHERE org_id = $1 AND billing_date >= $2 AND billing_date < $3`,
    [orgId, dayText(monthStart(month)), dayText(monthStart(month, 1))],
  );
  return r.rows[0]!;
}

describe('usage records', () => {
  it('equal the ledger\'s and the counters\' figures exactly, and recording again rewrites the one row', async () => {
    const u = await signupUser(t.app);
    const agentId = await makeAgent(t.app, u.auth, 'priced');
    await ingestLlm(u, agentId, [{ promptTokens: 1234, completionTokens: 567 }, { promptTokens: 1, completionTokens: 2, model: 'gpt-4o-mini' }]);
    await ingestLlm(u, agentId, [{ promptTokens: 100_000, completionTokens: 33_333 }]);
    await setCounter(t, u.orgId, 'runs', 42);
    const month = monthStart(new Date());
    const l = await ledger(u.orgId, month);
    const spans = (await t.db.admin.query<{ n: string }>(
      `SELECT sum(value)::text AS n FROM usage_counters WHERE org_id = $1 AND period = $2 AND metric = 'ingested_spans'`, [u.orgId, dayText(month)],
    )).rows[0]!.n;

    const live = ok(await c.get('/v1/billing/usage', u.auth));
    expect(live).toMatchObject({ recorded: false, recordedAt: null, period: { month: dayText(month).slice(0, 7), start: month.toISOString() } });
    expect(await rows(t, 'usage_records', u.orgId)).toBe(0); // a GET writes nothing

    const first = await recordUsage(deps(t), u.orgId, month);
    expect(first).toMatchObject({
      periodStart: dayText(month), periodEnd: dayText(monthStart(month, 1)),
      runs: 42, ingestedSpans: Number(spans), inputTokens: Number(l.prompt), outputTokens: Number(l.completion),
      tokensUsed: Number(l.total), seats: 1,
    });
    expect(first.inputTokens).toBe(1234 + 1 + 100_000);
    expect(first.outputTokens).toBe(567 + 2 + 33_333);
    // exact: the ledger's numeric sum, digit for digit
    expect(first.llmCostUsd).toBe(l.cost);
    expect(Number(first.llmCostUsd)).toBeGreaterThan(0);
    expect(first.storageBytes).toBeGreaterThan(0);
    expect(live.usage).toEqual({
      runs: 42, ingestedSpans: first.ingestedSpans, inputTokens: first.inputTokens, outputTokens: first.outputTokens,
      tokensUsed: first.tokensUsed, llmCostUsd: l.cost, storageBytes: live.usage.storageBytes, seats: 1,
    });

    const again = await recordUsage(deps(t), u.orgId, month);
    expect(again).toEqual({ ...first, updatedAt: again.updatedAt });
    expect(await rows(t, 'usage_records', u.orgId)).toBe(1);

    // New work in the month shows up in the flows on recording again; the point-in-time figures keep their first measure.
    await ingestLlm(u, agentId, [{ promptTokens: 10, completionTokens: 10 }]);
    const third = await recordUsage(deps(t), u.orgId, month);
    expect(third.id).toBe(first.id);
    expect(third.inputTokens).toBe(first.inputTokens + 10);
    expect(third.llmCostUsd).toBe((await ledger(u.orgId, month)).cost);
    expect(third.storageBytes).toBe(first.storageBytes);
    expect(await rows(t, 'usage_records', u.orgId)).toBe(1);

    const recorded = ok(await c.get(`/v1/billing/usage?period=${dayText(month).slice(0, 7)}`, u.auth));
    expect(recorded.recorded).toBe(true);
    expect(recorded.usage.inputTokens).toBe(third.inputTokens);
  });

  it('a month without work is all zeros; another organization\'s work is not counted', async () => {
    const a = await signupUser(t.app);
    const b = await signupUser(t.app, { organizationName: 'Other Org' });
    const agentId = await makeAgent(t.app, a.auth, 'busy');
    await ingestLlm(a, agentId, [{ promptTokens: 500, completionTokens: 500 }]);
    const past = ok(await c.get('/v1/billing/usage?period=2020-01', a.auth));
    expect(past.usage).toMatchObject({ runs: 0, ingestedSpans: 0, inputTokens: 0, outputTokens: 0, tokensUsed: 0, llmCostUsd: '0' });
    const other = ok(await c.get('/v1/billing/usage', b.auth));
    expect(other.usage).toMatchObject({ runs: 0, ingestedSpans: 0, inputTokens: 0, tokensUsed: 0, llmCostUsd: '0', seats: 1 });
    const rec = await recordUsage(deps(t), b.orgId, new Date());
    expect(rec.tokensUsed).toBe(0);
    expect(await rows(t, 'usage_records', a.orgId)).toBe(0);
  });
});
