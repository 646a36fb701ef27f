import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAgentVersion } from '../../src/agents/index.js';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { auditRows, client, counts, createAgent, createTool, lockVersion, ok, publish, signupBuilder } from './fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
});
afterAll(async () => t?.close());

const versionsOf = async (id: string): Promise<string[]> =>
  ok(await c.get(`/v1/agents/${id}/versions?limit=100`, owner.auth)).data.map((v: { version: string }) => v.version);

describe('publishing', () => {
  it('freezes the configuration with full tool definitions and makes it current', async () => {
    const tool = await createTool(t, owner.auth, { name: 'lookup' });
    const a = await createAgent(t, owner.auth, { name: 'Publisher', tools: [tool.id], modelSettings: { topP: 0.5 }, learningRate: 0.1 });
    const v = await publish(t, owner.auth, a.id, '1.0.0', 'first cut');
    expect(v).toMatchObject({
      agentId: a.id, version: '1.0.0', changelog: 'first cut', systemPrompt: 'Plan trips.', model: 'gpt-4o',
      temperature: 0.7, maxTokens: 4096, isPublished: true, isCurrent: true, createdBy: owner.userId,
    });
    const def = { id: tool.id, name: 'lookup', description: tool.description, toolType: 'api', config: tool.config, inputSchema: tool.inputSchema, outputSchema: tool.outputSchema, isActive: true, version: 1 };
    expect(v.tools).toEqual([def]);
    expect(v.config).toEqual({
      name: 'Publisher', description: null, type: 'general', systemPrompt: 'Plan trips.', model: 'gpt-4o', modelSettings: { topP: 0.5 },
      temperature: 0.7, maxTokens: 4096, memoryEnabled: true, memoryType: 'conversation', cognitivePattern: 'adaptive',
      learningRate: 0.1, metadata: {}, tools: [def],
    });
    const agent = ok(await c.get(`/v1/agents/${a.id}`, owner.auth));
    expect(agent).toMatchObject({ currentVersionId: v.id, currentVersion: '1.0.0', version: 2 });
    expect(agent.publishedAt).not.toBeNull();
    expect(ok(await c.get(`/v1/agents/${a.id}/versions/1.0.0`, owner.auth))).toEqual(v);
    const audit = (await auditRows(t, owner.orgId, v.id))[0]!;
    expect(audit).toMatchObject({ action: 'agent.version_published', resource_type: 'agent_version', agent_id: a.id, new_values: { version: '1.0.0', changelog: 'first cut' } });
  });

  it('keeps what was published when the agent and its tools change later', async () => {
    const tool = await createTool(t, owner.auth, { name: 'mutable_tool' });
    const a = await createAgent(t, owner.auth, { name: 'Frozen', tools: [tool.id] });
    const v1 = await publish(t, owner.auth, a.id, '1.0.0');
    const newSchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    ok(await c.patch(`/v1/tools/${tool.id}`, owner.auth, { version: 1, inputSchema: newSchema }));
    ok(await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: await lockVersion(t, owner.auth, a.id), systemPrompt: 'Changed.' }));
    expect(ok(await c.get(`/v1/agents/${a.id}/versions/1.0.0`, owner.auth))).toEqual(v1);
    const v2 = await publish(t, owner.auth, a.id, '1.1.0');
    expect(v2.systemPrompt).toBe('Changed.');
    expect(v2.tools[0]).toMatchObject({ inputSchema: newSchema, version: 2 });
    expect(ok(await c.get(`/v1/agents/${a.id}/versions/1.0.0`, owner.auth)).isCurrent).toBe(false);
  });

  it('publishes a candidate with makeCurrent: false: the agent keeps running its current version', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Candidate' });
    const v1 = await publish(t, owner.auth, a.id, '1.0.0');
    const cand = ok(await c.post(`/v1/agents/${a.id}/versions`, owner.auth, { version: '1.1.0', makeCurrent: false }), 201);
    expect(cand).toMatchObject({ version: '1.1.0', isCurrent: false });
    expect(ok(await c.get(`/v1/agents/${a.id}`, owner.auth))).toMatchObject({ currentVersionId: v1.id, currentVersion: '1.0.0' });
    expect((await getAgentVersion({ db: t.db }, owner.orgId, a.id)).version).toBe('1.0.0');
    expect((await auditRows(t, owner.orgId, cand.id))[0]).toMatchObject({ action: 'agent.version_published', new_values: { version: '1.1.0', current: false } });
    // an agent with no current version takes its first candidate anyway: nothing else could run
    const fresh = await createAgent(t, owner.auth, { name: 'First candidate' });
    expect(ok(await c.post(`/v1/agents/${fresh.id}/versions`, owner.auth, { version: '0.1.0', makeCurrent: false }), 201).isCurrent).toBe(true);
  });

  it('refuses the same version twice (409) and writes nothing', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Twice' });
    await publish(t, owner.auth, a.id, '1.0.0');
    const before = await counts(t);
    const res = await c.post(`/v1/agents/${a.id}/versions`, owner.auth, { version: '1.0.0' });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('conflict');
    expect(await counts(t)).toEqual(before);
  });

  it.each([
    ['a lower version', '0.9.0'],
    ['a lower minor', '1.1.9'],
    ['the same precedence with build metadata', '1.2.0+build.7'],
    ['a pre-release of the latest', '1.2.0-rc.1'],
  ])('refuses %s (409) naming the latest', async (_what, version) => {
    const a = await createAgent(t, owner.auth, { name: 'Ordered' });
    await publish(t, owner.auth, a.id, '1.0.0');
    await publish(t, owner.auth, a.id, '1.2.0');
    const before = await counts(t);
    const res = await c.post(`/v1/agents/${a.id}/versions`, owner.auth, { version });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res)).toMatchObject({ code: 'conflict', details: { version, latest: '1.2.0' } });
    expect(await counts(t)).toEqual(before);
    expect(ok(await c.get(`/v1/agents/${a.id}`, owner.auth)).currentVersion).toBe('1.2.0');
  });

  it('compares versions by semver precedence, not as text', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Semver' });
    for (const v of ['1.9.0', '1.10.0', '2.0.0-alpha', '2.0.0-alpha.1', '2.0.0-alpha.beta', '2.0.0-beta.2', '2.0.0-beta.11', '2.0.0-rc.1', '2.0.0', '10.0.0']) {
      await publish(t, owner.auth, a.id, v);
    }
    expect(await versionsOf(a.id)).toEqual(['10.0.0', '2.0.0', '2.0.0-rc.1', '2.0.0-beta.11', '2.0.0-beta.2', '2.0.0-alpha.beta', '2.0.0-alpha.1', '2.0.0-alpha', '1.10.0', '1.9.0']);
    const res = await c.post(`/v1/agents/${a.id}/versions`, owner.auth, { version: '9.99.99' });
    expect(res.statusCode).toBe(409);
  });

  it('lists versions newest first with an exact cursor', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Paged versions' });
    for (let i = 1; i <= 5; i++) await publish(t, owner.auth, a.id, `0.${i}.0`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const b: { data: Array<{ version: string }>; nextCursor: string | null } = ok(
        await c.get(`/v1/agents/${a.id}/versions?limit=2${cursor ? `&cursor=${cursor}` : ''}`, owner.auth),
      );
      seen.push(...b.data.map((v) => v.version));
      cursor = b.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['0.5.0', '0.4.0', '0.3.0', '0.2.0', '0.1.0']);
  });

  it('gives 404 for a version that does not exist', async () => {
    const a = await createAgent(t, owner.auth, { name: 'No such version' });
    const res = await c.get(`/v1/agents/${a.id}/versions/1.0.0`, owner.auth);
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('not_found');
  });
});

describe('versions are immutable in the database', () => {
  let versionId: string;
  let orgId: string;
  beforeAll(async () => {
    const a = await createAgent(t, owner.auth, { name: 'Immutable' });
    versionId = (await publish(t, owner.auth, a.id, '1.0.0')).id;
    orgId = owner.orgId;
  });
  const changelog = async () =>
    (await t.db.admin.query<{ changelog: string | null }>('SELECT changelog FROM agent_versions WHERE id = $1', [versionId])).rows[0]!.changelog;

  it('refuses UPDATE by the table owner with the trigger', async () => {
    await expect(t.db.admin.query(`UPDATE agent_versions SET changelog = 'rewritten' WHERE id = $1`, [versionId])).rejects.toMatchObject({
      code: '42501',
      message: expect.stringContaining('agent versions are immutable'),
    });
    expect(await changelog()).toBeNull();
  });

  it('refuses UPDATE by the app role, which has no UPDATE grant', async () => {
    await expect(t.db.tenant(orgId, (sql) => sql.query(`UPDATE agent_versions SET changelog = 'x' WHERE id = $1`, [versionId]))).rejects.toMatchObject({
      code: '42501',
    });
    expect(await changelog()).toBeNull();
  });

  it('refuses UPDATE by the app role even if it were granted UPDATE: the trigger is the last word', async () => {
    await t.db.admin.query('GRANT UPDATE ON agent_versions TO agentbase_app');
    try {
      await expect(t.db.tenant(orgId, (sql) => sql.query(`UPDATE agent_versions SET config = '{}' WHERE id = $1`, [versionId]))).rejects.toMatchObject({
        code: '42501',
        message: expect.stringContaining('agent versions are immutable'),
      });
    } finally {
      await t.db.admin.query('REVOKE UPDATE ON agent_versions FROM agentbase_app');
    }
    expect(await changelog()).toBeNull();
  });
});

describe('diff', () => {
  let id: string;
  beforeAll(async () => {
    const keep = await createTool(t, owner.auth, { name: 'keep' });
    const added = await createTool(t, owner.auth, { name: 'added', toolType: 'function', config: {} });
    const a = await createAgent(t, owner.auth, { name: 'Diffed', tools: [keep.id], modelSettings: { topP: 0.9, seed: 1 } });
    id = a.id;
    await publish(t, owner.auth, id, '1.0.0');
    ok(await c.patch(`/v1/tools/${keep.id}`, owner.auth, { version: 1, description: 'Search, better' }));
    ok(await c.patch(`/v1/agents/${id}`, owner.auth, {
      version: await lockVersion(t, owner.auth, id),
      systemPrompt: 'Plan trips carefully.',
      temperature: 0.3,
      modelSettings: { topP: 0.9, stop: ['END'] },
      tools: [keep.id, added.id],
    }));
    await publish(t, owner.auth, id, '1.1.0');
  });

  it('lists each changed field with from and to', async () => {
    const d = ok(await c.get(`/v1/agents/${id}/versions/1.0.0/diff/1.1.0`, owner.auth));
    expect(d.from).toBe('1.0.0');
    expect(d.to).toBe('1.1.0');
    const byField = Object.fromEntries(d.changes.map((x: { field: string; from: unknown; to: unknown }) => [x.field, [x.from, x.to]]));
    expect(Object.keys(byField).sort()).toEqual([
      'modelSettings.seed', 'modelSettings.stop', 'systemPrompt', 'temperature', 'tools.added', 'tools.keep.description', 'tools.keep.version',
    ]);
    expect(byField.systemPrompt).toEqual(['Plan trips.', 'Plan trips carefully.']);
    expect(byField.temperature).toEqual([0.7, 0.3]);
    expect(byField['modelSettings.seed']).toEqual([1, null]);
    expect(byField['modelSettings.stop']).toEqual([null, ['END']]);
    expect(byField['tools.keep.description']).toEqual(['Search the web', 'Search, better']);
    expect(byField['tools.added']![0]).toBeNull();
    expect(byField['tools.added']![1]).toMatchObject({ name: 'added', toolType: 'function' });
  });

  it('is the mirror image the other way round, and empty against itself', async () => {
    const back = ok(await c.get(`/v1/agents/${id}/versions/1.1.0/diff/1.0.0`, owner.auth));
    const fwd = ok(await c.get(`/v1/agents/${id}/versions/1.0.0/diff/1.1.0`, owner.auth));
    expect(back.changes).toEqual(fwd.changes.map((x: { field: string; from: unknown; to: unknown }) => ({ field: x.field, from: x.to, to: x.from })));
    expect(ok(await c.get(`/v1/agents/${id}/versions/1.1.0/diff/1.1.0`, owner.auth)).changes).toEqual([]);
  });

  it('gives 404 when either version does not exist', async () => {
    for (const url of [`/v1/agents/${id}/versions/9.0.0/diff/1.0.0`, `/v1/agents/${id}/versions/1.0.0/diff/9.0.0`]) {
      const res = await c.get(url, owner.auth);
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
  });
});

describe('rollback', () => {
  it('points the agent at an older version without changing any version', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Rollback' });
    await publish(t, owner.auth, a.id, '1.0.0');
    ok(await c.patch(`/v1/agents/${a.id}`, owner.auth, { version: await lockVersion(t, owner.auth, a.id), systemPrompt: 'v2 prompt' }));
    await publish(t, owner.auth, a.id, '2.0.0');
    const snapshot = async () =>
      (await t.db.admin.query('SELECT * FROM agent_versions WHERE agent_id = $1 ORDER BY created_at', [a.id])).rows;
    const before = await snapshot();

    const after = ok(await c.post(`/v1/agents/${a.id}/rollback`, owner.auth, { version: '1.0.0' }));
    expect(after).toMatchObject({ currentVersion: '1.0.0', currentVersionId: before[0]!.id, systemPrompt: 'v2 prompt' });
    expect(await snapshot()).toEqual(before);
    const listed = ok(await c.get(`/v1/agents/${a.id}/versions`, owner.auth)).data;
    expect(listed.map((v: { version: string; isCurrent: boolean }) => [v.version, v.isCurrent])).toEqual([['2.0.0', false], ['1.0.0', true]]);
    expect((await getAgentVersion({ db: t.db }, owner.orgId, a.id)).version).toBe('1.0.0');
    expect((await getAgentVersion({ db: t.db }, owner.orgId, a.id, '2.0.0')).systemPrompt).toBe('v2 prompt');

    const audit = (await auditRows(t, owner.orgId, a.id)).filter((r) => r.action === 'agent.rolled_back');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ agent_id: a.id, old_values: { currentVersion: '2.0.0' }, new_values: { currentVersion: '1.0.0' } });

    // a rollback can be undone; publishing continues above the highest version, not the current one
    expect(ok(await c.post(`/v1/agents/${a.id}/rollback`, owner.auth, { version: '2.0.0' })).currentVersion).toBe('2.0.0');
    expect((await c.post(`/v1/agents/${a.id}/versions`, owner.auth, { version: '1.5.0' })).statusCode).toBe(409);
  });

  it('refuses the current version (409) and unknown versions (404), writing nothing', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Rollback refusals' });
    await publish(t, owner.auth, a.id, '1.0.0');
    const before = await counts(t);
    const same = await c.post(`/v1/agents/${a.id}/rollback`, owner.auth, { version: '1.0.0' });
    expect(same.statusCode).toBe(409);
    expect(errorOf(same).code).toBe('conflict');
    const unknown = await c.post(`/v1/agents/${a.id}/rollback`, owner.auth, { version: '0.1.0' });
    expect(unknown.statusCode).toBe(404);
    expect(await counts(t)).toEqual(before);
  });

  it('resolves no current version for an agent never published (404)', async () => {
    const a = await createAgent(t, owner.auth, { name: 'Never published' });
    await expect(getAgentVersion({ db: t.db }, owner.orgId, a.id)).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });
});
