import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { setStatus, signupBuilder } from '../agents/fixtures.js';
import { hashedEmbedder } from '../../src/memory/embedders/hashed.js';
import { auditActions, client, createAgent, createItem, memoriesOf, ok, type Body } from './knowledge-fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
let source: Body;
let target: Body;

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
  source = await createAgent(t, owner.auth, { name: 'Researcher', slug: 'researcher' });
  target = await createAgent(t, owner.auth, { name: 'Planner', slug: 'planner' });
});
afterAll(async () => t?.close());

const transfer = (itemId: string, body: Record<string, unknown>, auth = owner.auth) => c.post(`/v1/knowledge/${itemId}/transfers`, auth, body);
const metricCount = async (itemId: string, event: string) =>
  (await t.db.admin.query<{ n: number | null }>(`SELECT sum(count)::int AS n FROM knowledge_metrics WHERE knowledge_id = $1 AND event = $2`, [itemId, event]))
    .rows[0]!.n ?? 0;
const embeddingText = async (table: string, id: string) =>
  (await t.db.admin.query<{ e: string | null }>(`SELECT embedding::text AS e FROM ${table} WHERE id = $1`, [id])).rows[0]!.e;

describe('a successful transfer', () => {
  it("writes a fact memory of the target agent, with the item's vector, and records, counts and audits the transfer", async () => {
    const item = await createItem(t, owner.auth, source.id, {
      domain: 'travel',
      content: { title: 'Kyoto temples close at 17:00', description: 'Plan temple visits for the morning.' },
      confidence: 0.8,
      tags: ['kyoto', 'temples'],
    });
    const res = ok(await transfer(item.id, { targetAgentId: target.id }), 201);
    expect(res).toMatchObject({
      knowledgeId: item.id, sourceAgentId: source.id, targetAgentId: target.id, transferMethod: 'direct', success: true, errorMessage: null,
    });
    expect(res.memoryId).toEqual(expect.any(String));
    expect(res.id).toEqual(expect.any(String));
    expect(res.createdAt).toEqual(expect.any(String));

    const [mem] = (await memoriesOf(t, target.id)).filter((x) => x.knowledge_id === item.id);
    expect(mem).toMatchObject({
      id: res.memoryId,
      agent_id: target.id,
      memory_type: 'fact',
      content: 'Kyoto temples close at 17:00\n\nPlan temple visits for the morning.',
      tags: ['kyoto', 'temples'],
      metadata: { knowledgeId: item.id, domain: 'travel' },
      embedding_model: 'hashed-ngram-256',
      embedding_dims: 256,
      has_embedding: true,
    });
    expect(mem!.importance_score).toBeCloseTo(0.8, 5);
    // Same space: the item's vector itself, copied.
    expect(await embeddingText('agent_memories', mem!.id)).toBe(await embeddingText('knowledge_items', item.id));
    // It is in the agent's memory search: the full-text vector of a live memory matches.
    const found = await t.db.tenant(owner.orgId, (sql) => sql.query<{ id: string }>(
      `SELECT id FROM agent_memories WHERE agent_id = $1 AND superseded_at IS NULL AND search_vector @@ websearch_to_tsquery('english', 'kyoto temple')`,
      [target.id],
    ));
    expect(found.rows.map((r) => r.id)).toEqual([res.memoryId]);

    expect(await auditActions(t, owner.orgId, res.id)).toEqual(['knowledge.transferred']);
    expect(await metricCount(item.id, 'transfer')).toBe(1);
    expect(ok(await c.get(`/v1/knowledge/${item.id}/transfers`, owner.auth)).data).toEqual([res]);
  });

  it('takes the target by slug, records the method, defaults importance to 0.5, and writes only the title when there is no description', async () => {
    const item = await createItem(t, owner.auth, source.id, { content: { title: 'Carry cash in rural Japan' } });
    const res = ok(await transfer(item.id, { targetAgentId: 'planner', method: 'gradual' }), 201);
    expect(res).toMatchObject({ success: true, targetAgentId: target.id, transferMethod: 'gradual' });
    const [mem] = (await memoriesOf(t, target.id)).filter((x) => x.knowledge_id === item.id);
    expect(mem!.content).toBe('Carry cash in rural Japan');
    expect(mem!.importance_score).toBeCloseTo(0.5, 5);
    expect(mem!.tags).toEqual([]);
  });

  it("embeds the memory with the target's embedder when its space differs from the item's", async () => {
    const m = t.service.memory;
    const original = m.embedderFor;
    const small = await createAgent(t, owner.auth, { name: 'Small space' });
    m.embedderFor = async (orgId, agentId) => (agentId === small.id ? hashedEmbedder(64) : original.call(m, orgId, agentId));
    try {
      const item = await createItem(t, owner.auth, source.id, { content: { title: 'Shinkansen seats', description: 'Reserve seat E for Mount Fuji.' } });
      const res = ok(await transfer(item.id, { targetAgentId: small.id }), 201);
      expect(res.success).toBe(true);
      const [mem] = await memoriesOf(t, small.id);
      expect(mem).toMatchObject({ embedding_model: 'hashed-ngram-64', embedding_dims: 64, has_embedding: true });
      const [expected] = (await hashedEmbedder(64).embed(['Shinkansen seats\n\nReserve seat E for Mount Fuji.'])).vectors;
      const stored = JSON.parse((await embeddingText('agent_memories', mem!.id))!) as number[];
      stored.forEach((x, i) => expect(x).toBeCloseTo(expected![i]!, 5));
      const idx = await t.db.admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'agent_memories' AND indexname LIKE 'agent_memories_hnsw_%'`,
      );
      expect(idx.rows[0]!.n).toBeGreaterThanOrEqual(2);
    } finally {
      m.embedderFor = original;
    }
  });
});

describe('a transfer the target cannot take', () => {
  const expectRefused = async (itemId: string, targetAgentId: string, message: RegExp) => {
    const memoriesBefore = (await memoriesOf(t, targetAgentId)).length;
    const failedBefore = await metricCount(itemId, 'transfer_failed');
    const res = ok(await transfer(itemId, { targetAgentId }), 201);
    expect(res).toMatchObject({ knowledgeId: itemId, success: false, memoryId: null });
    expect(res.errorMessage).toMatch(message);
    expect((await memoriesOf(t, targetAgentId)).length).toBe(memoriesBefore);
    expect(await metricCount(itemId, 'transfer_failed')).toBe(failedBefore + 1);
    expect(await auditActions(t, owner.orgId, res.id)).toEqual(['knowledge.transfer_failed']);
    const listed = ok(await c.get(`/v1/knowledge/${itemId}/transfers`, owner.auth)).data;
    expect(listed[0]).toEqual(res);
    return res;
  };

  it('is recorded as failed when the target is the source agent', async () => {
    const item = await createItem(t, owner.auth, source.id);
    await expectRefused(item.id, source.id, /source agent/);
  });

  it('is recorded as failed when the target has memory disabled', async () => {
    const agent = await createAgent(t, owner.auth, { name: 'Forgetful', memoryEnabled: false });
    const item = await createItem(t, owner.auth, source.id);
    await expectRefused(item.id, agent.id, /memory disabled/);
  });

  it('is recorded as failed when the target is archived', async () => {
    const agent = await createAgent(t, owner.auth, { name: 'Retired' });
    ok(await setStatus(t, owner.auth, agent.id, 'archived'));
    const item = await createItem(t, owner.auth, source.id);
    await expectRefused(item.id, agent.id, /archived/);
  });

  it('is recorded as failed while an earlier transfer of the item to the agent is live, and succeeds again once it is not', async () => {
    const agent = await createAgent(t, owner.auth, { name: 'Collector' });
    const item = await createItem(t, owner.auth, source.id);
    const first = ok(await transfer(item.id, { targetAgentId: agent.id }), 201);
    expect(first.success).toBe(true);
    const again = await expectRefused(item.id, agent.id, /already in agent/);
    expect(again.errorMessage).toContain(first.memoryId);
    // The memory is superseded (as a memories PATCH does): no longer live, so the item can go again.
    await t.db.admin.query(`UPDATE agent_memories SET superseded_at = now() WHERE id = $1`, [first.memoryId]);
    expect(ok(await transfer(item.id, { targetAgentId: agent.id }), 201).success).toBe(true);
  });

  it('lets only one of two concurrent transfers of an item to one agent succeed', async () => {
    const agent = await createAgent(t, owner.auth, { name: 'Racer' });
    const item = await createItem(t, owner.auth, source.id);
    const results = await Promise.all([transfer(item.id, { targetAgentId: agent.id }), transfer(item.id, { targetAgentId: agent.id })]);
    const bodies = results.map((r) => ok(r, 201));
    expect(bodies.map((b) => b.success).sort()).toEqual([false, true]);
    expect((await memoriesOf(t, agent.id)).length).toBe(1);
  });
});

describe('not found', () => {
  it('answers 404 and records nothing for an unknown item or agent, or another organization\'s agent', async () => {
    const other = await signupBuilder(t);
    const foreign = await createAgent(t, other.auth, { name: 'Foreign' });
    const item = await createItem(t, owner.auth, source.id);
    const count = async () => (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM knowledge_transfers`)).rows[0]!.n;
    const before = await count();
    for (const res of [
      await transfer(item.id, { targetAgentId: 'nobody' }),
      await transfer(item.id, { targetAgentId: '0190a8e4-0000-7000-8000-000000000000' }),
      await transfer(item.id, { targetAgentId: foreign.id }),
      await transfer('0190a8e4-0000-7000-8000-000000000000', { targetAgentId: target.id }),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(await count()).toBe(before);
    // A deleted agent is gone too.
    const gone = await createAgent(t, owner.auth, { name: 'Gone' });
    expect((await c.del(`/v1/agents/${gone.id}`, owner.auth)).statusCode).toBe(204);
    expect((await transfer(item.id, { targetAgentId: gone.id })).statusCode).toBe(404);
  });
});

describe('listing transfers', () => {
  it('filters by source and target agent (id or slug) and outcome, newest first, paged', async () => {
    const org = await signupBuilder(t);
    const a = await createAgent(t, org.auth, { name: 'A', slug: 'a' });
    const b = await createAgent(t, org.auth, { name: 'B', slug: 'b' });
    const d = await createAgent(t, org.auth, { name: 'D', slug: 'd' });
    const x = await createItem(t, org.auth, a.id);
    const y = await createItem(t, org.auth, b.id);
    const made: Body[] = [];
    made.push(ok(await transfer(x.id, { targetAgentId: b.id }, org.auth), 201)); // ok
    made.push(ok(await transfer(x.id, { targetAgentId: d.id }, org.auth), 201)); // ok
    made.push(ok(await transfer(x.id, { targetAgentId: a.id }, org.auth), 201)); // failed: source
    made.push(ok(await transfer(y.id, { targetAgentId: d.id }, org.auth), 201)); // ok
    const ids = (r: Body) => r.data.map((i: Body) => i.id);
    const q = async (qs: string) => ids(ok(await c.get(`/v1/knowledge-transfers?${qs}`, org.auth)));
    const pick = (...n: number[]) => n.map((i) => made[i]!.id);
    expect(await q('')).toEqual(pick(3, 2, 1, 0));
    expect(await q('sourceAgentId=a')).toEqual(pick(2, 1, 0));
    expect(await q(`sourceAgentId=${b.id}`)).toEqual(pick(3));
    expect(await q('targetAgentId=d')).toEqual(pick(3, 1));
    expect(await q('targetAgentId=d&sourceAgentId=a')).toEqual(pick(1));
    expect(await q('success=false')).toEqual(pick(2));
    expect(await q('success=true&targetAgentId=b')).toEqual(pick(0));
    const seen: string[] = [];
    let url = '/v1/knowledge-transfers?limit=1';
    for (;;) {
      const p = ok(await c.get(url, org.auth));
      seen.push(...ids(p));
      if (!p.nextCursor) break;
      url = `/v1/knowledge-transfers?limit=1&cursor=${p.nextCursor}`;
    }
    expect(seen).toEqual(pick(3, 2, 1, 0));
    const itemPage = ok(await c.get(`/v1/knowledge/${x.id}/transfers?limit=2`, org.auth));
    expect(ids(itemPage)).toEqual(pick(2, 1));
    expect(ids(ok(await c.get(`/v1/knowledge/${x.id}/transfers?limit=2&cursor=${itemPage.nextCursor}`, org.auth)))).toEqual(pick(0));
    expect((await c.get('/v1/knowledge-transfers?targetAgentId=nobody', org.auth)).statusCode).toBe(404);
  });
});
