import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, client, createAgent, joinAs, ok, signupBuilder, type Auth } from '../agents/fixtures.js';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
});
afterAll(async () => t?.close());

let n = 0;
const pattern = (over: Record<string, unknown> = {}) => ({
  type: 'convergent',
  name: `pattern-${++n}`,
  patternData: { steps: ['narrow', 'decide'], threshold: 0.7 },
  ...over,
});
const create = async (over: Record<string, unknown> = {}, auth: Auth = owner.auth) => ok(await c.post('/v1/patterns', auth, pattern(over)), 201);

async function rowCount(table: string): Promise<number> {
  return (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
}
const writes = async () => Object.fromEntries(
  await Promise.all(['patterns', 'pattern_usage', 'pattern_metrics', 'audit_logs'].map(async (x) => [x, await rowCount(x)] as const)),
);

describe('patterns', () => {
  it('stores a pattern and reads it back', async () => {
    const p = await create({ type: 'lateral', name: 'Reframe the brief', metadata: { author: 'ops' } });
    expect(p).toMatchObject({
      type: 'lateral',
      name: 'Reframe the brief',
      patternData: { steps: ['narrow', 'decide'], threshold: 0.7 },
      metadata: { author: 'ops' },
      accuracy: null,
      usageCount: 0,
      successCount: 0,
      version: 1,
    });
    expect(p.createdAt).toBe(p.updatedAt);
    expect(ok(await c.get(`/v1/patterns/${p.id}`, owner.auth))).toEqual(p);
    expect((await create({ name: 'no metadata' })).metadata).toEqual({});
  });

  it('accepts each of the six cognitive pattern types', async () => {
    for (const type of ['convergent', 'divergent', 'lateral', 'systems', 'critical', 'adaptive']) {
      expect((await create({ type })).type).toBe(type);
    }
  });

  it('refuses a second live pattern of the same name (409), and frees the name on delete', async () => {
    const p = await create({ name: 'Unique one' });
    const dup = await c.post('/v1/patterns', owner.auth, pattern({ name: 'Unique one', type: 'critical' }));
    expect(dup.statusCode).toBe(409);
    expect(errorOf(dup)).toMatchObject({ code: 'conflict', details: { field: 'name', name: 'Unique one' } });
    expect((await c.del(`/v1/patterns/${p.id}`, owner.auth)).statusCode).toBe(204);
    expect((await create({ name: 'Unique one' })).id).not.toBe(p.id);
  });

  it('settles two concurrent creates of one name as one 201 and one 409', async () => {
    const res = await Promise.all([1, 2].map(() => c.post('/v1/patterns', owner.auth, pattern({ name: 'Raced name' }))));
    expect(res.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    expect(errorOf(res.find((r) => r.statusCode === 409)!).code).toBe('conflict');
  });

  it('changes a pattern with the version read; a stale version is 409 version_conflict', async () => {
    const p = await create({ metadata: { a: 1 } });
    const v2 = ok(await c.patch(`/v1/patterns/${p.id}`, owner.auth, { version: 1, name: 'Renamed', patternData: { steps: [] } }));
    expect(v2).toMatchObject({ version: 2, name: 'Renamed', patternData: { steps: [] }, metadata: { a: 1 }, type: p.type });
    expect(new Date(v2.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(p.updatedAt).getTime());
    const stale = await c.patch(`/v1/patterns/${p.id}`, owner.auth, { version: 1, name: 'Lost edit' });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale)).toMatchObject({ code: 'version_conflict', details: { expectedVersion: 1 } });
    const v3 = ok(await c.patch(`/v1/patterns/${p.id}`, owner.auth, { version: 2, metadata: { b: 2 } }));
    expect(v3).toMatchObject({ version: 3, name: 'Renamed', metadata: { b: 2 } });
    // Only the version: still a new version (an explicit touch).
    expect(ok(await c.patch(`/v1/patterns/${p.id}`, owner.auth, { version: 3 })).version).toBe(4);
  });

  it('refuses a rename onto a live name (409) and leaves the pattern as it was', async () => {
    const a = await create({ name: 'Taken name' });
    const b = await create();
    const res = await c.patch(`/v1/patterns/${b.id}`, owner.auth, { version: 1, name: 'Taken name' });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('conflict');
    expect(ok(await c.get(`/v1/patterns/${b.id}`, owner.auth))).toEqual(b);
    // Renaming to its own name is no conflict.
    expect(ok(await c.patch(`/v1/patterns/${a.id}`, owner.auth, { version: 1, name: 'Taken name' })).version).toBe(2);
  });

  it('soft-deletes: 204, then 404 to read, change, delete or use; the row stays', async () => {
    const p = await create();
    expect((await c.del(`/v1/patterns/${p.id}`, owner.auth)).statusCode).toBe(204);
    for (const res of [
      await c.get(`/v1/patterns/${p.id}`, owner.auth),
      await c.patch(`/v1/patterns/${p.id}`, owner.auth, { version: 1, name: 'x' }),
      await c.del(`/v1/patterns/${p.id}`, owner.auth),
      await c.post(`/v1/patterns/${p.id}/uses`, owner.auth, { success: true }),
      await c.get(`/v1/patterns/${p.id}/uses`, owner.auth),
      await c.get(`/v1/patterns/${p.id}/metrics`, owner.auth),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    const kept = await t.db.admin.query<{ deleted: boolean }>(`SELECT deleted_at IS NOT NULL AS deleted FROM patterns WHERE id = $1`, [p.id]);
    expect(kept.rows).toEqual([{ deleted: true }]);
    expect(ok(await c.get('/v1/patterns', owner.auth)).data.map((x: { id: string }) => x.id)).not.toContain(p.id);
  });

  it('audits creation, changes and deletion', async () => {
    const p = await create();
    ok(await c.patch(`/v1/patterns/${p.id}`, owner.auth, { version: 1, name: 'Audited pattern' }));
    expect((await c.del(`/v1/patterns/${p.id}`, owner.auth)).statusCode).toBe(204);
    const rows = await auditRows(t, owner.orgId, p.id);
    expect(rows.map((r) => r.action)).toEqual(['pattern.created', 'pattern.updated', 'pattern.deleted']);
    expect(rows.every((r) => r.resource_type === 'pattern')).toBe(true);
    expect(rows[1]).toMatchObject({ old_values: { name: p.name, version: 1 }, new_values: { name: 'Audited pattern', version: 2 } });
    expect(rows[2]!.old_values).toMatchObject({ name: 'Audited pattern' });
  });
});

describe('listing patterns', () => {
  let lister: SignedUp;
  const made: Array<{ id: string; type: string; name: string }> = [];
  beforeAll(async () => {
    lister = await signupBuilder(t);
    const agent = await createAgent(t, lister.auth, { name: 'User of patterns' });
    // accuracy after the uses: a 1.00 (1 use), b 0.50 (2 uses), c 0.67 (3 uses), d never used, e 0.00 (1 use)
    const plan: Array<[string, boolean[]]> = [
      ['convergent', [true]],
      ['divergent', [true, false]],
      ['convergent', [true, true, false]],
      ['systems', []],
      ['convergent', [false]],
    ];
    for (const [type, outcomes] of plan) {
      const p = await create({ type }, lister.auth);
      for (const success of outcomes) ok(await c.post(`/v1/patterns/${p.id}/uses`, lister.auth, { agentId: agent.id, success }), 201);
      made.push(p);
    }
  });
  const walk = async (query: string, limit: number) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const b: { data: Array<{ id: string }>; nextCursor: string | null } = ok(
        await c.get(`/v1/patterns?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, lister.auth),
      );
      seen.push(...b.data.map((x) => x.id));
      cursor = b.nextCursor;
    } while (cursor);
    return seen;
  };
  const at = (...i: number[]) => i.map((k) => made[k]!.id);

  it('lists newest first by default, and pages exactly', async () => {
    expect(await walk('sort=created', 2)).toEqual(at(4, 3, 2, 1, 0));
    expect(ok(await c.get('/v1/patterns', lister.auth)).data.map((x: { id: string }) => x.id)).toEqual(at(4, 3, 2, 1, 0));
  });

  it('sorts by accuracy (never-used last) and by usage, paging exactly', async () => {
    expect(await walk('sort=accuracy', 2)).toEqual(at(0, 2, 1, 4, 3));
    expect(await walk('sort=usage', 1)).toEqual(at(2, 1, 4, 0, 3));
    const body = ok(await c.get('/v1/patterns?sort=accuracy', lister.auth));
    expect(body.data.map((p: { accuracy: number | null }) => p.accuracy)).toEqual([1, 0.67, 0.5, 0, null]);
  });

  it('filters by type', async () => {
    expect(await walk('type=convergent&sort=accuracy', 2)).toEqual(at(0, 2, 4));
    expect(await walk('type=lateral', 5)).toEqual([]);
  });

  it('refuses a sort outside the allow-list, and a cursor of another sort', async () => {
    for (const q of ['sort=name', 'sort=created_at', 'sort=accuracy%20desc', 'type=intuitive', 'limit=500']) {
      const res = await c.get(`/v1/patterns?${q}`, lister.auth);
      expect(res.statusCode, q).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    const cursor = ok(await c.get('/v1/patterns?sort=usage&limit=1', lister.auth)).nextCursor;
    const res = await c.get(`/v1/patterns?sort=accuracy&cursor=${cursor}`, lister.auth);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'bad_request', details: { field: 'cursor' } });
    const forged = Buffer.from(JSON.stringify({ s: 'usage', k: "1; DROP TABLE patterns", id: made[0]!.id })).toString('base64url');
    expect(errorOf(await c.get(`/v1/patterns?sort=usage&cursor=${forged}`, lister.auth)).code).toBe('bad_request');
  });
});

describe('bad input', () => {
  it.each([
    ['no fields', {}],
    ['an unknown type', pattern({ type: 'intuitive' })],
    ['a missing name', { type: 'convergent', patternData: {} }],
    ['a blank name', pattern({ name: '  ' })],
    ['a name over 100 characters', pattern({ name: 'x'.repeat(101) })],
    ['patternData not an object', pattern({ patternData: [1, 2] })],
    ['patternData null', pattern({ patternData: null })],
    ['patternData a string', pattern({ patternData: 'steps' })],
    ['metadata not an object', pattern({ metadata: 'x' })],
    ['an unknown field', pattern({ accuracy: 1 })],
    ['usageCount sent', pattern({ usageCount: 10 })],
  ])('refuses a pattern with %s (400) and writes nothing', async (_name, payload) => {
    const before = await writes();
    const res = await c.post('/v1/patterns', owner.auth, payload);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(await writes()).toEqual(before);
  });

  it('refuses bad changes (400) and leaves the pattern as it was', async () => {
    const p = await create();
    const before = await writes();
    for (const payload of [
      {},
      { name: 'no version' },
      { version: 0, name: 'x' },
      { version: 1.5 },
      { version: '1' },
      { version: 1, type: 'critical' },
      { version: 1, name: '' },
      { version: 1, patternData: [] },
      { version: 1, accuracy: 1 },
      { version: 99_999_999_999 },
    ]) {
      const res = await c.patch(`/v1/patterns/${p.id}`, owner.auth, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    expect(await writes()).toEqual(before);
    expect(ok(await c.get(`/v1/patterns/${p.id}`, owner.auth))).toEqual(p);
  });

  it('refuses a malformed id with 400 and an unknown one with 404', async () => {
    for (const [method, path] of [['GET', '/v1/patterns/not-a-uuid'], ['DELETE', '/v1/patterns/123'], ['PATCH', '/v1/patterns/xyz']] as const) {
      const res = await t.app.inject({ method, url: path, headers: owner.auth, ...(method === 'PATCH' ? { payload: { version: 1 } } : {}) });
      expect(res.statusCode, path).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
    }
    const unknown = '00000000-0000-7000-8000-000000000000';
    for (const res of [
      await c.get(`/v1/patterns/${unknown}`, owner.auth),
      await c.patch(`/v1/patterns/${unknown}`, owner.auth, { version: 1 }),
      await c.del(`/v1/patterns/${unknown}`, owner.auth),
    ]) expect(errorOf(res).code).toBe('not_found');
  });
});

describe('access', () => {
  let p: { id: string; name: string };
  let other: SignedUp;
  let viewer: Auth;
  beforeAll(async () => {
    p = await create({ name: 'Owned by A' });
    other = await signupBuilder(t);
    viewer = (await joinAs(t, owner, 'viewer')).auth;
  });

  it('gives another organization 404 on every route, an empty list, and its own name space', async () => {
    const before = await writes();
    for (const res of [
      await c.get(`/v1/patterns/${p.id}`, other.auth),
      await c.patch(`/v1/patterns/${p.id}`, other.auth, { version: 1, name: 'hijacked' }),
      await c.del(`/v1/patterns/${p.id}`, other.auth),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(errorOf(res).code).toBe('not_found');
    }
    expect(ok(await c.get('/v1/patterns', other.auth)).data).toEqual([]);
    expect(await writes()).toEqual(before);
    // Names are unique per organization: B may use A's.
    expect((await create({ name: 'Owned by A' }, other.auth)).name).toBe('Owned by A');
    expect(ok(await c.get(`/v1/patterns/${p.id}`, owner.auth)).version).toBe(1);
  });

  it('lets a viewer read but not write (403)', async () => {
    expect(ok(await c.get(`/v1/patterns/${p.id}`, viewer)).id).toBe(p.id);
    for (const res of [
      await c.post('/v1/patterns', viewer, pattern()),
      await c.patch(`/v1/patterns/${p.id}`, viewer, { version: 1, name: 'x' }),
      await c.del(`/v1/patterns/${p.id}`, viewer),
    ]) {
      expect(res.statusCode).toBe(403);
      expect(errorOf(res).code).toBe('forbidden');
    }
  });
});
