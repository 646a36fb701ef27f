import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

/**
 * Tags and metadata on executions, decisions and messages: stored as sent
 * (tags deduplicated), replaced by an update, copied into the cost ledger when
 * a span is priced, and usable as list filters (tag; metadata key:value).
 */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let agent: string;

const ingest = async (who: SignedUp, payload: unknown) => {
  const res = await t.app.inject({ method: 'POST', url: '/v1/ingest/batch', headers: who.auth, payload: payload as object });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { accepted: number; updated: number; rejected: number; results: Array<{ clientId: string; status: string; code?: string; error?: string }> };
};
const get = async (who: SignedUp, url: string) => {
  const res = await t.app.inject({ method: 'GET', url, headers: who.auth });
  return res;
};
const clientIds = async (who: SignedUp, url: string): Promise<string[]> => {
  const res = await get(who, url);
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().data as Array<{ clientId?: string; decisionId?: string }>).map((x) => x.clientId ?? x.decisionId!).sort();
};

const at = new Date().toISOString();

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  agent = await makeAgent(t.app, a.auth, 'tagger');
  const theirs = await makeAgent(t.app, b.auth, 'tagger');
  const r = await ingest(a, {
    executions: [
      { clientId: 'e1', agentId: agent, tags: ['checkout', 'beta', 'checkout'], metadata: { customer: 'acme', attempt: 2 } },
      { clientId: 'e2', agentId: agent, tags: ['checkout'], metadata: { customer: 'globex', attempt: '2' } },
      { clientId: 'e3', agentId: agent },
    ],
    spans: [
      { clientId: 's1', executionClientId: 'e1', kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai', promptTokens: 1000, completionTokens: 100, startedAt: at },
    ],
    decisions: [
      { clientId: 'd1', executionClientId: 'e1', decidedAt: at, decisionType: 'route', reasoningChain: ['x'], confidence: 0.9, tags: ['beta'], metadata: { customer: 'acme' } },
      { clientId: 'd2', executionClientId: 'e2', decidedAt: at, decisionType: 'route', reasoningChain: ['y'], confidence: 0.5 },
    ],
    messages: [
      { clientId: 'm1', messageType: 'ask', messageData: { q: 1 }, sentAt: at, tags: ['beta'], metadata: { customer: 'acme' } },
      { clientId: 'm2', messageType: 'ask', messageData: { q: 2 }, sentAt: at },
    ],
  });
  expect(r.rejected, JSON.stringify(r.results)).toBe(0);
  // Another organization's tagged row must never show up in a's lists.
  await ingest(b, { executions: [{ clientId: 'b1', agentId: theirs, tags: ['checkout'], metadata: { customer: 'acme' } }] });
});
afterAll(async () => t?.close());

describe('tags and metadata', () => {
  it('stores tags once each, in the order sent', async () => {
    const list = (await get(a, '/v1/executions?tag=beta')).json().data as Array<{ clientId: string; tags: string[]; metadata: unknown }>;
    expect(list.map((e) => e.clientId)).toEqual(['e1']);
    expect(list[0]!.tags).toEqual(['checkout', 'beta']);
  });

  it('filters executions by tag and by metadata key:value (string, or the typed value)', async () => {
    expect(await clientIds(a, '/v1/executions?tag=checkout')).toEqual(['e1', 'e2']);
    expect(await clientIds(a, '/v1/executions?metadata=customer:acme')).toEqual(['e1']);
    // attempt:2 matches the number 2 and the string "2".
    expect(await clientIds(a, '/v1/executions?metadata=attempt:2')).toEqual(['e1', 'e2']);
    expect(await clientIds(a, '/v1/executions?tag=checkout&metadata=customer:globex')).toEqual(['e2']);
    expect(await clientIds(a, '/v1/executions?tag=nothing')).toEqual([]);
  });

  it('filters decisions and messages the same way', async () => {
    expect(await clientIds(a, '/v1/decisions?tag=beta')).toEqual(['d1']);
    expect(await clientIds(a, '/v1/decisions?metadata=customer:acme')).toEqual(['d1']);
    expect(await clientIds(a, '/v1/messages?tag=beta')).toEqual(['m1']);
    expect(await clientIds(a, '/v1/messages?metadata=customer:acme')).toEqual(['m1']);
  });

  it('an update replaces the tags', async () => {
    const r = await ingest(a, { executions: [{ clientId: 'e3', tags: ['late'] }] });
    expect(r.updated).toBe(1);
    expect(await clientIds(a, '/v1/executions?tag=late')).toEqual(['e3']);
  });

  it('copies the execution tags into the ledger and costs group by tag', async () => {
    const ledger = await t.db.admin.query<{ tags: unknown }>(`SELECT tags FROM cost_ledger WHERE org_id = $1`, [a.orgId]);
    expect(ledger.rows.map((x) => x.tags)).toEqual([['checkout', 'beta']]);
    // A late span of a stored execution takes the stored tags.
    await ingest(a, { spans: [{ clientId: 's2', executionClientId: 'e2', kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai', promptTokens: 10, completionTokens: 1, startedAt: at }] });
    const late = await t.db.admin.query<{ tags: unknown }>(`SELECT tags FROM cost_ledger WHERE org_id = $1 AND prompt_tokens = 10`, [a.orgId]);
    expect(late.rows[0]!.tags).toEqual(['checkout']);
    const res = await get(a, '/v1/costs?groupBy=tag');
    expect(res.statusCode, res.body).toBe(200);
    const data = res.json().data as Array<{ key: string; spans: number }>;
    expect(Object.fromEntries(data.map((d) => [d.key, d.spans]))).toEqual({ checkout: 2, beta: 1 });
  });

  it('refuses bad tags and filters with a 400 naming the field', async () => {
    const r = await ingest(a, {
      executions: [
        { clientId: 'bad1', agentId: agent, tags: ['a,b'] },
        { clientId: 'bad2', agentId: agent, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
        { clientId: 'bad3', agentId: agent, tags: [''] },
        { clientId: 'bad4', agentId: agent, tags: 'checkout' },
      ],
    });
    expect(r.results.map((x) => [x.clientId, x.status, x.code])).toEqual([
      ['bad1', 'rejected', 'invalid'], ['bad2', 'rejected', 'invalid'], ['bad3', 'rejected', 'invalid'], ['bad4', 'rejected', 'invalid'],
    ]);
    for (const url of ['/v1/executions?metadata=nocolon', '/v1/executions?tag=a,b', '/v1/decisions?metadata=:x', '/v1/messages?tag=']) {
      const res = await get(a, url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    }
  });
});
