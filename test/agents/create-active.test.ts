import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { auditRows, client, counts, createAgent, createTool, ok, publish, setStatus, signupBuilder } from './fixtures.js';

/**
 * POST /v1/agents with status "active": the agent, its version 1.0.0 and the
 * activation in one call and one transaction, recorded as the three calls
 * (create, publish, status) would record them.
 */

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
});
afterAll(async () => t?.close());

const create = (body: Record<string, unknown>) => c.post('/v1/agents', owner.auth, body);

describe('creating an active agent in one call', () => {
  it('answers the agent, active, running version 1.0.0, which holds the configuration sent', async () => {
    const tool = await createTool(t, owner.auth);
    const a = ok(await create({
      name: 'Concierge', systemPrompt: 'Book things.', model: 'gpt-4o-mini', temperature: 0.2, tools: [tool.id, 'call_agent'],
      modelSettings: { topP: 0.9 }, status: 'active', changelog: 'first cut',
    }), 201);
    expect(a).toMatchObject({ name: 'Concierge', slug: 'concierge', status: 'active', currentVersion: '1.0.0', systemPrompt: 'Book things.' });
    expect(a.currentVersionId).toEqual(expect.any(String));
    expect(a.publishedAt).not.toBeNull();
    // The answer is what a read answers.
    expect(ok(await c.get(`/v1/agents/${a.id}`, owner.auth))).toEqual(a);

    const versions = ok(await c.get(`/v1/agents/${a.id}/versions`, owner.auth)).data;
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ id: a.currentVersionId, version: '1.0.0', changelog: 'first cut', isCurrent: true, model: 'gpt-4o-mini', temperature: 0.2 });
    const v = ok(await c.get(`/v1/agents/${a.id}/versions/1.0.0`, owner.auth));
    expect(v.config).toMatchObject({ systemPrompt: 'Book things.', modelSettings: { topP: 0.9 } });
    expect(v.tools.map((x: { id?: string; name: string }) => x.id ?? x.name)).toEqual([tool.id, 'call_agent']);

    // Later versions continue from it as after the three calls.
    expect((await publish(t, owner.auth, a.id, '1.1.0')).version).toBe('1.1.0');
  });

  it('writes the audit rows of the three calls, in their order', async () => {
    const three = await createAgent(t, owner.auth, { name: 'Three Calls' });
    await publish(t, owner.auth, three.id, '1.0.0');
    ok(await setStatus(t, owner.auth, three.id, 'active'));
    const one = ok(await create({ name: 'One Call', status: 'active' }), 201);

    const shape = async (agentId: string) =>
      (await auditRows(t, owner.orgId)).filter((r) => r.agent_id === agentId).map((r) => ({
        action: r.action, resourceType: r.resource_type, oldKeys: Object.keys(r.old_values ?? {}).sort(), newKeys: Object.keys(r.new_values ?? {}).sort(),
      }));
    const expected = await shape(three.id);
    expect(expected.map((r) => r.action)).toEqual(['agent.created', 'agent.version_published', 'agent.status_changed']);
    expect(await shape(one.id)).toEqual(expected);
    const status = (await auditRows(t, owner.orgId)).filter((r) => r.agent_id === one.id).at(-1)!;
    expect(status).toMatchObject({ old_values: { status: 'draft' }, new_values: { status: 'active', version: one.version } });
  });

  it('without status, or with status draft, creates a draft and no version, as before', async () => {
    for (const body of [{ name: 'Plain Draft' }, { name: 'Said Draft', status: 'draft' }]) {
      const a = ok(await create(body), 201);
      expect(a).toMatchObject({ status: 'draft', currentVersion: null, currentVersionId: null, version: 1 });
      expect(ok(await c.get(`/v1/agents/${a.id}/versions`, owner.auth)).data).toEqual([]);
    }
  });
});

describe('all or nothing', () => {
  it('a tool that does not exist: 400, no agent, no version, no audit row', async () => {
    const before = await counts(t);
    const res = await create({ name: 'Broken Tools', status: 'active', tools: ['0b7e5a6c-1111-4222-8333-944455556666'] });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).message).toMatch(/tools names tools that do not exist/);
    expect(await counts(t)).toEqual(before);
  });

  it('a version the database refuses after the agent row is written: the agent goes too', async () => {
    // A stand-in for any refusal of the version insert: the agent row, its audit row and the version share one transaction.
    await t.db.admin.query(`
      CREATE FUNCTION refuse_test_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.system_prompt = 'refuse this version' THEN
          RAISE EXCEPTION 'test: version refused' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await t.db.admin.query('CREATE TRIGGER refuse_test_version BEFORE INSERT ON agent_versions FOR EACH ROW EXECUTE FUNCTION refuse_test_version()');
    try {
      const before = await counts(t);
      const res = await create({ name: 'Doomed', slug: 'doomed-one-call', systemPrompt: 'refuse this version', status: 'active' });
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
      expect(await counts(t)).toEqual(before);
      expect((await c.get('/v1/agents/doomed-one-call', owner.auth)).statusCode).toBe(404);
      // The slug was never taken.
      expect(ok(await create({ name: 'Doomed', slug: 'doomed-one-call', status: 'active' }), 201).slug).toBe('doomed-one-call');
    } finally {
      await t.db.admin.query('DROP TRIGGER refuse_test_version ON agent_versions');
      await t.db.admin.query('DROP FUNCTION refuse_test_version()');
    }
  });

  it('a slug another agent holds: 409, nothing written', async () => {
    await createAgent(t, owner.auth, { name: 'Holder', slug: 'held-slug' });
    const before = await counts(t);
    const res = await create({ name: 'Taker', slug: 'held-slug', status: 'active' });
    expect(res.statusCode, res.body).toBe(409);
    expect(await counts(t)).toEqual(before);
  });

  it('over the agent limit: 402, nothing written', async () => {
    const small = await signupUser(t.app);
    for (let i = 0; i < 10; i++) ok(await c.post('/v1/agents', small.auth, { name: `Filler ${i}` }), 201);
    const before = await counts(t);
    const res = await c.post('/v1/agents', small.auth, { name: 'One Too Many', status: 'active' });
    expect(res.statusCode, res.body).toBe(402);
    expect(await counts(t)).toEqual(before);
  });

  it('refuses a changelog without status active, and statuses a new agent cannot have', async () => {
    const before = await counts(t);
    const cl = await create({ name: 'Changelog Only', changelog: 'hello' });
    expect(cl.statusCode).toBe(400);
    expect(errorOf(cl)).toMatchObject({ code: 'bad_request', details: { field: 'changelog' } });
    expect(errorOf(cl).message).toMatch(/status "active"/);
    for (const status of ['paused', 'learning', 'archived', 'ACTIVE']) {
      const res = await create({ name: 'Odd Status', status });
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res).message).toMatch(/^body\.status:/);
    }
    expect(await counts(t)).toEqual(before);
  });
});
