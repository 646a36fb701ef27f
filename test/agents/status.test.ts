import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { auditRows, client, counts, createAgent, lockVersion, ok, publish, setStatus, signupBuilder } from './fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
});
afterAll(async () => t?.close());

const STATUSES = ['draft', 'active', 'paused', 'stopped', 'learning', 'archived'] as const;
type Status = (typeof STATUSES)[number];

// How to reach each status from a fresh, published draft.
const PATH: Record<Status, Status[]> = {
  draft: [],
  active: ['active'],
  paused: ['active', 'paused'],
  stopped: ['active', 'stopped'],
  learning: ['active', 'learning'],
  archived: ['archived'],
};

const ALLOWED: Record<Status, Status[]> = {
  draft: ['active', 'archived'],
  active: ['paused', 'stopped', 'learning', 'archived'],
  paused: ['active', 'stopped', 'archived'],
  learning: ['active', 'paused', 'stopped', 'archived'],
  stopped: ['active', 'archived'],
  archived: [],
};

async function publishedAgentAt(status: Status): Promise<string> {
  const a = await createAgent(t, owner.auth, { name: `At ${status}` });
  await publish(t, owner.auth, a.id, '1.0.0');
  for (const s of PATH[status]) ok(await setStatus(t, owner.auth, a.id, s));
  return a.id;
}

const statusOf = async (id: string) => ok(await c.get(`/v1/agents/${id}`, owner.auth)).status as string;

describe('the lifecycle', () => {
  const pairs = STATUSES.flatMap((from) => STATUSES.map((to) => [from, to] as const));

  it.each(pairs)('%s → %s is allowed only if the table says so', async (from, to) => {
    const id = await publishedAgentAt(from);
    const res = await setStatus(t, owner.auth, id, to);
    if (ALLOWED[from].includes(to)) {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().status).toBe(to);
      expect(await statusOf(id)).toBe(to);
    } else {
      expect(res.statusCode, res.body).toBe(409);
      const e = errorOf(res);
      expect(e.code).toBe('conflict');
      expect(e.details).toMatchObject({ from, to });
      expect(e.message).toContain(from);
      expect(e.message).toContain(to);
      expect(await statusOf(id)).toBe(from);
    }
  });

  it.each(['active', 'learning'] as const)('a draft without a published version cannot become %s (409)', async (to) => {
    const a = await createAgent(t, owner.auth, { name: `Unpublished ${to}` });
    const res = await c.post(`/v1/agents/${a.id}/status`, owner.auth, { status: to, version: 1 });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'conflict', details: { from: 'draft', to } });
    expect(await statusOf(a.id)).toBe('draft');
  });

  it('names a published version as the way out of draft', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Needs version' });
    const res = await c.post(`/v1/agents/${a.id}/status`, owner.auth, { status: 'active', version: 1 });
    expect(errorOf(res).message).toMatch(/version is published/);
    await publish(t, owner.auth, a.id, '0.1.0');
    expect(ok(await setStatus(t, owner.auth, a.id, 'active')).status).toBe('active');
  });

  it('lets a draft be archived without ever publishing', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Straight to archive' });
    expect(ok(await c.post(`/v1/agents/${a.id}/status`, owner.auth, { status: 'archived', version: 1 })).status).toBe('archived');
  });

  it('audits every status change with the old and new status', async () => {
    const id = await publishedAgentAt('paused');
    const rows = (await auditRows(t, owner.orgId, id)).filter((r) => r.action === 'agent.status_changed');
    expect(rows.map((r) => [r.old_values.status, r.new_values.status])).toEqual([
      ['draft', 'active'],
      ['active', 'paused'],
    ]);
    expect(rows.every((r) => r.agent_id === id && r.resource_type === 'agent')).toBe(true);
  });

  it('refuses a stale version (409 version_conflict) before judging the move', async () => {
    const id = await publishedAgentAt('draft');
    const stale = (await lockVersion(t, owner.auth, id)) - 1;
    const res = await c.post(`/v1/agents/${id}/status`, owner.auth, { status: 'active', version: stale });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('version_conflict');
    expect(await statusOf(id)).toBe('draft');
  });

  it('writes no audit row for a refused move', async () => {
    const id = await publishedAgentAt('draft');
    const before = await counts(t);
    expect((await setStatus(t, owner.auth, id, 'paused')).statusCode).toBe(409);
    expect(await counts(t)).toEqual(before);
  });
});

describe('archived agents are read-only', () => {
  let id: string;
  let stateId: string;
  beforeAll(async () => {
    const a = await createAgent(t, owner.auth, { name: 'Archivist' });
    await publish(t, owner.auth, a.id, '1.0.0');
    await publish(t, owner.auth, a.id, '1.1.0');
    stateId = ok(await c.post(`/v1/agents/${a.id}/states`, owner.auth, { checkpointType: 'manual', stateData: { n: 1 } }), 201).id;
    ok(await c.put(`/v1/agents/${a.id}/capabilities/planning`, owner.auth, { proficiency: 0.5 }), 201);
    ok(await setStatus(t, owner.auth, a.id, 'archived'));
    id = a.id;
  });

  it('refuses every change but delete with 409', async () => {
    const version = await lockVersion(t, owner.auth, id);
    const before = await counts(t);
    for (const res of [
      await c.patch(`/v1/agents/${id}`, owner.auth, { version, description: 'x' }),
      await c.post(`/v1/agents/${id}/versions`, owner.auth, { version: '2.0.0' }),
      await c.post(`/v1/agents/${id}/rollback`, owner.auth, { version: '1.0.0' }),
      await c.put(`/v1/agents/${id}/capabilities/planning`, owner.auth, { proficiency: 0.9 }),
      await c.del(`/v1/agents/${id}/capabilities/planning`, owner.auth),
      await c.post(`/v1/agents/${id}/states`, owner.auth, { checkpointType: 'manual', stateData: {} }),
      await c.post(`/v1/agents/${id}/states/${stateId}/restore`, owner.auth),
    ]) {
      expect(res.statusCode, res.body).toBe(409);
      expect(errorOf(res)).toMatchObject({ code: 'conflict', details: { status: 'archived' } });
    }
    expect(await counts(t)).toEqual(before);
  });

  it('still reads everything', async () => {
    expect(ok(await c.get(`/v1/agents/${id}`, owner.auth)).status).toBe('archived');
    expect(ok(await c.get(`/v1/agents/${id}/versions`, owner.auth)).data).toHaveLength(2);
    expect(ok(await c.get(`/v1/agents/${id}/capabilities`, owner.auth)).data).toHaveLength(1);
    expect(ok(await c.get(`/v1/agents/${id}/states/latest`, owner.auth)).id).toBe(stateId);
  });

  it('can still be deleted', async () => {
    expect((await c.del(`/v1/agents/${id}`, owner.auth)).statusCode).toBe(204);
    expect((await c.get(`/v1/agents/${id}`, owner.auth)).statusCode).toBe(404);
  });
});

describe('bad status requests', () => {
  it.each([
    [{ status: 'running', version: 1 }],
    [{ status: 'active' }],
    [{ version: 1 }],
    [{ status: 'active', version: 0 }],
    [{ status: 'active', version: '1' }],
    [{ status: 'active', version: 1, reason: 'because' }],
  ])('refuses %j with 400', async (payload) => {
    const a = await createAgent(t, owner.auth, { name: 'Bad status' });
    await publish(t, owner.auth, a.id, '1.0.0');
    const res = await c.post(`/v1/agents/${a.id}/status`, owner.auth, payload);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(await statusOf(a.id)).toBe('draft');
  });
});
