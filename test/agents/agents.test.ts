import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { auditRows, client, counts, createAgent, createTool, ok, signupBuilder } from './fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
});
afterAll(async () => t?.close());

describe('creating agents', () => {
  it('creates a draft with the defaults and reads it back', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Defaults Bot' });
    expect(a).toMatchObject({
      name: 'Defaults Bot',
      slug: 'defaults-bot',
      description: null,
      type: 'general',
      systemPrompt: 'Plan trips.',
      model: 'gpt-4o',
      modelSettings: {},
      temperature: 0.7,
      maxTokens: 4096,
      tools: [],
      memoryEnabled: true,
      memoryType: 'conversation',
      status: 'draft',
      cognitivePattern: 'adaptive',
      learningRate: null,
      performanceScore: null,
      metadata: {},
      currentVersionId: null,
      currentVersion: null,
      version: 1,
      createdBy: owner.userId,
      publishedAt: null,
    });
    expect(ok(await c.get(`/v1/agents/${a.id}`, owner.auth))).toEqual(a);
  });

  it('stores every field it is given, numbers as numbers', async () => {
    const tool = await createTool(t, owner.auth);
    const a = await createAgent(t, owner.auth, {
      name: 'Full',
      slug: 'full-agent',
      description: 'does it all',
      type: 'researcher',
      model: 'claude-sonnet',
      modelSettings: { topP: 0.9, stop: ['\n\n'] },
      temperature: 1.25,
      maxTokens: 1000,
      tools: [tool.id],
      memoryEnabled: false,
      memoryType: 'hybrid',
      cognitivePattern: 'lateral',
      learningRate: 0.05,
      performanceScore: 0.8,
      metadata: { team: 'growth', tags: ['a', 'b'] },
    });
    expect(a).toMatchObject({
      slug: 'full-agent', type: 'researcher', temperature: 1.25, maxTokens: 1000, tools: [tool.id], memoryEnabled: false,
      memoryType: 'hybrid', cognitivePattern: 'lateral', learningRate: 0.05, performanceScore: 0.8,
      modelSettings: { topP: 0.9, stop: ['\n\n'] }, metadata: { team: 'growth', tags: ['a', 'b'] },
    });
  });

  it('derives a unique slug from the name when none is sent', async () => {
    const slugs = [];
    for (let i = 0; i < 3; i++) slugs.push((await createAgent(t, owner.auth, { name: 'Market Scout' })).slug);
    expect(slugs).toEqual(['market-scout', 'market-scout-2', 'market-scout-3']);
    expect((await createAgent(t, owner.auth, { name: '  Café Über Bot!! ' })).slug).toBe('cafe-uber-bot');
    expect((await createAgent(t, owner.auth, { name: '!!!' })).slug).toBe('agent');
  });

  it('refuses a slug that a live agent already has (409) and writes nothing', async () => {
    await createAgent(t, owner.auth, { name: 'One', slug: 'taken-slug' });
    const before = await counts(t);
    const res = await c.post('/v1/agents', owner.auth, { name: 'Two', slug: 'taken-slug' });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'conflict', details: { field: 'slug', slug: 'taken-slug' } });
    expect(await counts(t)).toEqual(before);
  });

  it('lets another organization use the same slug', async () => {
    const other = await signupBuilder(t);
    await createAgent(t, owner.auth, { name: 'Shared', slug: 'shared-slug' });
    expect((await createAgent(t, other.auth, { name: 'Shared', slug: 'shared-slug' })).slug).toBe('shared-slug');
  });

  it('refuses tool ids that are not live tools of the organization (400)', async () => {
    const other = await signupBuilder(t);
    const foreign = await createTool(t, other.auth);
    const mine = await createTool(t, owner.auth);
    const before = await counts(t);
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const tools of [[missing], [foreign.id], [mine.id, foreign.id]]) {
      const res = await c.post('/v1/agents', owner.auth, { name: 'Bad tools', tools });
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'bad_request', details: { field: 'tools', unknown: tools.filter((x) => x !== mine.id) } });
    }
    const dup = await c.post('/v1/agents', owner.auth, { name: 'Dup tools', tools: [mine.id, mine.id] });
    expect(dup.statusCode).toBe(400);
    expect(errorOf(dup).code).toBe('bad_request');
    expect(await counts(t)).toEqual(before);
  });

  it('writes an audit row with the new agent', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Audited' });
    const rows = await auditRows(t, owner.orgId, a.id);
    expect(rows.map((r) => r.action)).toEqual(['agent.created']);
    expect(rows[0]).toMatchObject({ resource_type: 'agent', agent_id: a.id, new_values: { id: a.id, slug: 'audited', name: 'Audited' } });
  });
});

describe('the organization agent limit (max_agents)', () => {
  it('refuses the agent past the limit with 402 quota_exceeded and writes nothing', async () => {
    const u = await signupUser(t.app);
    const org = (await t.app.inject({ method: 'GET', url: '/v1/org', headers: u.auth })).json();
    expect(org.maxAgents).toBe(10);
    await t.app.inject({ method: 'PATCH', url: '/v1/org', headers: u.auth, payload: { version: org.version, maxAgents: 2 } });
    await createAgent(t, u.auth, { name: 'one' });
    await createAgent(t, u.auth, { name: 'two' });
    const third = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: u.auth, payload: { name: 'three' } });
    expect(third.statusCode).toBe(402);
    expect(errorOf(third)).toMatchObject({ code: 'quota_exceeded', details: { limit: 2 } });
    const n = await t.db.admin.query(`SELECT count(*)::int AS n FROM agents WHERE org_id = $1`, [u.orgId]);
    expect((n.rows[0] as { n: number }).n).toBe(2);
  });
});

describe('audit of agent configuration', () => {
  // src/audit/redact.ts treats any key containing "token" as a secret, so the
  // agent's maxTokens (a count, not a secret) reaches the log as "[redacted]".
  it('keeps maxTokens in the audit row (it is a count, not a secret)', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Token count', maxTokens: 2048 });
    const rows = await auditRows(t, owner.orgId, a.id);
    expect(rows[0]!.new_values.maxTokens).toBe(2048);
  });
});

describe('listing agents', () => {
  let org: SignedUp;
  const ids: string[] = [];
  beforeAll(async () => {
    org = await signupBuilder(t);
    for (let i = 0; i < 5; i++) ids.push((await createAgent(t, org.auth, { name: `Lister ${i}`, type: i % 2 ? 'odd' : 'even' })).id);
  });

  it('lists newest first and pages exactly with the cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const b: { data: Array<{ id: string }>; nextCursor: string | null } = ok(
        await c.get(`/v1/agents?limit=2${cursor ? `&cursor=${cursor}` : ''}`, org.auth),
      );
      expect(b.data.length).toBeLessThanOrEqual(2);
      seen.push(...b.data.map((a) => a.id));
      cursor = b.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by type and status', async () => {
    const odd = ok(await c.get('/v1/agents?type=odd', org.auth));
    expect(odd.data.map((a: { id: string }) => a.id)).toEqual([ids[3], ids[1]]);
    expect(ok(await c.get('/v1/agents?status=draft', org.auth)).data).toHaveLength(5);
    expect(ok(await c.get('/v1/agents?status=active', org.auth)).data).toEqual([]);
  });

  it('uses 20 as the default page size and refuses more than 100', async () => {
    expect(ok(await c.get('/v1/agents', org.auth)).nextCursor).toBeNull();
    expect(errorOf(await c.get('/v1/agents?limit=101', org.auth)).code).toBe('validation_failed');
    const bad = await c.get('/v1/agents?cursor=not-a-cursor', org.auth);
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).code).toBe('bad_request');
  });
});

describe('changing agents', () => {
  it('changes the fields sent, bumps version and audits old and new values', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Patchable' });
    const after = ok(await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 1, systemPrompt: 'New prompt', temperature: 0.2, metadata: { x: 1 } }));
    expect(after).toMatchObject({ version: 2, systemPrompt: 'New prompt', temperature: 0.2, metadata: { x: 1 }, name: 'Patchable', slug: 'patchable' });
    const rows = await auditRows(t, owner.orgId, a.id);
    expect(rows.map((r) => r.action)).toEqual(['agent.created', 'agent.updated']);
    expect(rows[1]!.old_values).toMatchObject({ systemPrompt: 'Plan trips.', version: 1 });
    expect(rows[1]!.new_values).toMatchObject({ systemPrompt: 'New prompt', version: 2 });
  });

  it('keeps the slug when the name changes and can change the slug explicitly', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Old Name' });
    const renamed = ok(await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 1, name: 'New Name' }));
    expect(renamed.slug).toBe('old-name');
    const reslugged = ok(await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 2, slug: 'new-name' }));
    expect(reslugged.slug).toBe('new-name');
    // sending its own slug again is not a conflict
    expect(ok(await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 3, slug: 'new-name' })).version).toBe(4);
  });

  it('refuses a stale version with 409 version_conflict and changes nothing', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Stale' });
    ok(await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 1, description: 'first' }));
    const res = await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 1, description: 'second' });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'version_conflict', details: { expectedVersion: 1 } });
    expect(ok(await c.get(`/v1/agents/${a.id}`, owner.auth))).toMatchObject({ description: 'first', version: 2 });
    expect((await auditRows(t, owner.orgId, a.id)).map((r) => r.action)).toEqual(['agent.created', 'agent.updated']);
  });

  it('refuses a slug another agent has, and unknown tools, leaving the agent as it was', async () => {
    await createAgent(t, owner.auth, { name: 'Holder', slug: 'holder' });
    const a = await createAgent(t, owner.auth, { name: 'Mover' });
    const res = await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 1, slug: 'holder', description: 'x' });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('conflict');
    const tools = await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 1, tools: ['00000000-0000-4000-8000-000000000001'] });
    expect(tools.statusCode).toBe(400);
    expect(ok(await c.get(`/v1/agents/${a.id}`, owner.auth))).toMatchObject({ slug: 'mover', description: null, tools: [], version: 1 });
  });

  it('does not take status through PATCH (status has its own route)', async () => {
    const a = await createAgent(t, owner.auth, { name: 'No status patch' });
    const res = await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 1, status: 'active' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
  });
});

describe('deleting agents', () => {
  it('hides a deleted agent everywhere (404) but keeps the row', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Doomed', slug: 'doomed' });
    expect((await c.del(`/v1/agents/${a.id}`, owner.auth)).statusCode).toBe(204);
    for (const res of [
      await c.get(`/v1/agents/${a.id}`, owner.auth),
      await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: 1, description: 'x' }),
      await c.post(`/v1/agents/${a.id}/status`, owner.auth, { status: 'archived', version: 1 }),
      await c.del(`/v1/agents/${a.id}`, owner.auth),
      await c.get(`/v1/agents/${a.id}/versions`, owner.auth),
      await c.get(`/v1/agents/${a.id}/capabilities`, owner.auth),
      await c.get(`/v1/agents/${a.id}/states`, owner.auth),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    const listed = ok(await c.get('/v1/agents?limit=100', owner.auth)).data.map((x: { id: string }) => x.id);
    expect(listed).not.toContain(a.id);
    const row = await t.db.admin.query<{ deleted_at: Date | null }>('SELECT deleted_at FROM agents WHERE id = $1', [a.id]);
    expect(row.rows[0]!.deleted_at).not.toBeNull();
    const rows = await auditRows(t, owner.orgId, a.id);
    expect(rows.map((r) => r.action)).toEqual(['agent.created', 'agent.deleted']);
    expect(rows[1]).toMatchObject({ old_values: { slug: 'doomed' }, new_values: null });
  });

  it('frees the slug of a deleted agent', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Reborn', slug: 'reborn' });
    expect((await c.del(`/v1/agents/${a.id}`, owner.auth)).statusCode).toBe(204);
    const again = await createAgent(t, owner.auth, { name: 'Reborn', slug: 'reborn' });
    expect(again.id).not.toBe(a.id);
    expect((await createAgent(t, owner.auth, { name: 'Reborn' })).slug).toBe('reborn-2');
  });
});

describe('OpenAPI', () => {
  it('documents every agents route, with strict bodies', async () => {
    const doc = ok(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual(expect.arrayContaining([
      '/v1/agents', '/v1/agents/{id}', '/v1/agents/{id}/status', '/v1/agents/{id}/versions', '/v1/agents/{id}/versions/{version}',
      '/v1/agents/{id}/versions/{version}/diff/{to}', '/v1/agents/{id}/rollback', '/v1/tools', '/v1/tools/{id}',
      '/v1/agents/{id}/capabilities', '/v1/agents/{id}/capabilities/{capability}', '/v1/agents/{id}/states',
      '/v1/agents/{id}/states/latest', '/v1/agents/{id}/states/{stateId}', '/v1/agents/{id}/states/{stateId}/restore',
    ]));
    const body = doc.paths['/v1/agents'].post.requestBody.content['application/json'].schema;
    expect(body).toMatchObject({ type: 'object', required: ['name'], additionalProperties: false });
  });
});
