import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { signupBuilder } from '../agents/fixtures.js';
import { client, createAgent, createItem, ok, type Body } from './knowledge-fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
let source: Body;
let target: Body;

const DAY = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const today = () => dayOf(Date.now());

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
  source = await createAgent(t, owner.auth, { name: 'Source' });
  target = await createAgent(t, owner.auth, { name: 'Target' });
});
afterAll(async () => t?.close());

const metricsOf = async (id: string, qs = '') => ok(await c.get(`/v1/knowledge/${id}/metrics${qs}`, owner.auth));

describe('daily metrics', () => {
  it('counts reads, search hits and transfers (ok and failed) per UTC day, every day listed', async () => {
    const item = await createItem(t, owner.auth, source.id, { content: { title: 'Onsen etiquette', description: 'Wash before entering the bath.' } });
    ok(await c.get(`/v1/knowledge/${item.id}`, owner.auth));
    ok(await c.get(`/v1/knowledge/${item.id}`, owner.auth));
    ok(await c.get(`/v1/knowledge/${item.id}`, owner.auth));
    expect(ok(await c.post(`/v1/knowledge/${item.id}/transfers`, owner.auth, { targetAgentId: target.id }), 201).success).toBe(true);
    expect(ok(await c.post(`/v1/knowledge/${item.id}/transfers`, owner.auth, { targetAgentId: target.id }), 201).success).toBe(false);
    expect(ok(await c.post(`/v1/knowledge/${item.id}/transfers`, owner.auth, { targetAgentId: source.id }), 201).success).toBe(false);
    const found = ok(await c.post('/v1/knowledge/search', owner.auth, { query: 'onsen etiquette', mode: 'text' }));
    expect(found.items.map((i: Body) => i.id)).toEqual([item.id]);
    // Yesterday, planted directly (its partition is made by the migration), two reads folded into one row.
    const yesterday = new Date(Date.now() - DAY);
    await t.db.admin.query(
      `INSERT INTO knowledge_metrics (id, org_id, knowledge_id, event, count, recorded_at) VALUES (gen_random_uuid(), $1, $2, 'read', 2, $3)`,
      [owner.orgId, item.id, yesterday.toISOString()],
    );

    await vi.waitFor(async () => expect((await metricsOf(item.id)).days.at(-1).searchHits).toBe(1), { timeout: 5000 });
    const res = await metricsOf(item.id);
    expect(res.to).toBe(today());
    expect(res.days).toHaveLength(30);
    expect(res.days.at(-1)).toEqual({ day: today(), reads: 3, searchHits: 1, transfers: 1, transfersFailed: 2 });
    expect(res.days.at(-2)).toEqual({ day: dayOf(yesterday.getTime()), reads: 2, searchHits: 0, transfers: 0, transfersFailed: 0 });
    expect(res.days[0]).toEqual({ day: dayOf(Date.now() - 29 * DAY), reads: 0, searchHits: 0, transfers: 0, transfersFailed: 0 });

    const two = await metricsOf(item.id, `?from=${dayOf(yesterday.getTime())}&to=${today()}`);
    expect(two).toEqual({ from: dayOf(yesterday.getTime()), to: today(), days: res.days.slice(-2) });
    const one = await metricsOf(item.id, `?from=${dayOf(yesterday.getTime())}&to=${dayOf(yesterday.getTime())}`);
    expect(one.days).toEqual([res.days.at(-2)]);
  });

  it('keeps counts per item: another item of the org counts nothing of these', async () => {
    const a = await createItem(t, owner.auth, source.id);
    const b = await createItem(t, owner.auth, source.id);
    ok(await c.get(`/v1/knowledge/${a.id}`, owner.auth));
    expect((await metricsOf(b.id)).days.at(-1).reads).toBe(0);
    expect((await metricsOf(a.id)).days.at(-1).reads).toBe(1);
  });

  it('makes the daily partition an event needs when maintenance has not (a clock weeks ahead)', async () => {
    const item = await createItem(t, owner.auth, source.id);
    const m = t.service.memory;
    const ahead = Date.now() + 40 * DAY;
    m.now = () => new Date(ahead);
    try {
      ok(await c.get(`/v1/knowledge/${item.id}`, owner.auth));
      const res = await metricsOf(item.id, `?from=${dayOf(ahead)}&to=${dayOf(ahead)}`);
      expect(res.days).toEqual([{ day: dayOf(ahead), reads: 1, searchHits: 0, transfers: 0, transfersFailed: 0 }]);
      // The default range ends at the module's today.
      expect((await metricsOf(item.id)).to).toBe(dayOf(ahead));
    } finally {
      delete m.now;
    }
  });

  it('refuses a range that is reversed or longer than 366 days', async () => {
    const item = await createItem(t, owner.auth, source.id);
    const reversed = await c.get(`/v1/knowledge/${item.id}/metrics?from=2026-02-02&to=2026-02-01`, owner.auth);
    expect(reversed.statusCode).toBe(400);
    expect(errorOf(reversed).code).toBe('validation_failed');
    const long = await c.get(`/v1/knowledge/${item.id}/metrics?from=2024-01-01&to=2025-01-01`, owner.auth);
    expect(long.statusCode).toBe(400);
    expect(errorOf(long).message).toContain('367 days');
    expect((await metricsOf(item.id, '?from=2024-01-01&to=2024-12-31')).days).toHaveLength(366);
  });
});
