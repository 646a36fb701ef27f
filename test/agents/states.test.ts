import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpoint } from '../../src/agents/index.js';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { auditRows, client, counts, createAgent, ok, signupBuilder } from './fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
});
afterAll(async () => t?.close());

const statesUrl = (agentId: string, rest = '') => `/v1/agents/${agentId}/states${rest}`;
const save = async (agentId: string, stateData: Record<string, unknown>, checkpointType = 'manual') =>
  ok(await c.post(statesUrl(agentId), owner.auth, { checkpointType, stateData }), 201);
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('checkpoints', () => {
  it('saves a checkpoint with a UUIDv7 id and reads it back', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Stateful' });
    const s = await save(a.id, { step: 3, plan: ['fly', 'hotel'], nested: { ok: true } });
    expect(s).toMatchObject({ agentId: a.id, checkpointType: 'manual', stateData: { step: 3, plan: ['fly', 'hotel'], nested: { ok: true } }, restoredFromId: null, createdBy: owner.userId });
    expect(s.id).toMatch(UUID_V7);
    expect(ok(await c.get(statesUrl(a.id, `/${s.id}`), owner.auth))).toEqual(s);
    expect(ok(await c.get(statesUrl(a.id, '/latest'), owner.auth))).toEqual(s);
  });

  it('lands each row in the partition of its month', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Partitioned' });
    const s = await save(a.id, { n: 1 });
    const r = await t.db.admin.query<{ part: string; created_at: Date }>(
      'SELECT tableoid::regclass::text AS part, created_at FROM agent_states WHERE id = $1',
      [s.id],
    );
    const at = new Date(s.createdAt);
    expect(r.rows[0]!.part).toBe(`agent_states_p${at.getUTCFullYear()}${String(at.getUTCMonth() + 1).padStart(2, '0')}`);
  });

  it('stamps created_at from the service clock', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Clocked' });
    const now = new Date();
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 15, 12));
    const actor = { orgId: owner.orgId, actorType: 'user' as const, userId: owner.userId };
    const s = await createCheckpoint({ db: t.db, now: () => nextMonth }, actor, a.id, { checkpointType: 'auto', stateData: { later: true } });
    expect(s.createdAt).toEqual(nextMonth);
    const r = await t.db.admin.query<{ part: string }>('SELECT tableoid::regclass::text AS part FROM agent_states WHERE id = $1', [s.id]);
    expect(r.rows[0]!.part).toBe(`agent_states_p${nextMonth.getUTCFullYear()}${String(nextMonth.getUTCMonth() + 1).padStart(2, '0')}`);
    expect(ok(await c.get(statesUrl(a.id, '/latest'), owner.auth)).id).toBe(s.id);
  });

  it('lists newest first and pages exactly', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Many states' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await save(a.id, { i })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const b: { data: Array<{ id: string }>; nextCursor: string | null } = ok(
        await c.get(`${statesUrl(a.id)}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, owner.auth),
      );
      seen.push(...b.data.map((x) => x.id));
      cursor = b.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('gives 404 for latest when there is none, and for an unknown checkpoint', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Empty' });
    for (const res of [
      await c.get(statesUrl(a.id, '/latest'), owner.auth),
      await c.get(statesUrl(a.id, '/01a00000-0000-7000-8000-000000000000'), owner.auth),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(ok(await c.get(statesUrl(a.id), owner.auth)).data).toEqual([]);
  });

  it('audits that a checkpoint was saved, without copying the state into the log', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Audited state' });
    const s = await save(a.id, { secretPlan: 'world domination' });
    const rows = await auditRows(t, owner.orgId, s.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'agent.state_saved', resource_type: 'agent_state', agent_id: a.id, new_values: { id: s.id, checkpointType: 'manual' } });
    expect(JSON.stringify(rows[0])).not.toContain('world domination');
  });
});

describe('restore', () => {
  it('appends a copy of the chosen checkpoint that becomes the latest; history stays', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Restorer' });
    const first = await save(a.id, { step: 1 });
    const second = await save(a.id, { step: 2 });
    const restored = ok(await c.post(statesUrl(a.id, `/${first.id}/restore`), owner.auth), 201);
    expect(restored).toMatchObject({ agentId: a.id, checkpointType: 'restore', stateData: { step: 1 }, restoredFromId: first.id, createdBy: owner.userId });
    expect(restored.id).not.toBe(first.id);
    expect(ok(await c.get(statesUrl(a.id, '/latest'), owner.auth)).id).toBe(restored.id);
    const all = ok(await c.get(statesUrl(a.id), owner.auth)).data.map((x: { id: string }) => x.id);
    expect(all).toEqual([restored.id, second.id, first.id]);
    expect(ok(await c.get(statesUrl(a.id, `/${first.id}`), owner.auth))).toEqual(first);
    const rows = await auditRows(t, owner.orgId, restored.id);
    expect(rows[0]).toMatchObject({ action: 'agent.state_restored', new_values: { restoredFromId: first.id } });
  });

  it('accepts an empty JSON object as the body', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Body restore' });
    const s = await save(a.id, { x: 1 });
    expect(ok(await c.post(statesUrl(a.id, `/${s.id}/restore`), owner.auth, {}), 201).restoredFromId).toBe(s.id);
  });

  it("refuses another agent's checkpoint (404) and writes nothing", async () => {
    const a = await createAgent(t, owner.auth, { name: 'Mine' });
    const b = await createAgent(t, owner.auth, { name: 'Theirs' });
    const s = await save(b.id, { x: 1 });
    const before = await counts(t);
    const res = await c.post(statesUrl(a.id, `/${s.id}/restore`), owner.auth);
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
    expect((await c.get(statesUrl(a.id, `/${s.id}`), owner.auth)).statusCode).toBe(404);
    expect(await counts(t)).toEqual(before);
  });

  it("refuses checkpointType 'restore' on a plain save (only restores make those)", async () => {
    const a = await createAgent(t, owner.auth, { name: 'No fake restore' });
    const res = await c.post(statesUrl(a.id), owner.auth, { checkpointType: 'restore', stateData: {} });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
  });
});
