import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, client, joinAs, ok, type Auth } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let owner: SignedUp;
let other: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupUser(t.app);
  other = await signupUser(t.app, { organizationName: 'Other Org' });
  c = client(t);
});
afterAll(async () => t?.close());

const service = (over: Record<string, unknown> = {}) => ({
  name: 'CloudGuard', category: 'security', description: 'Cloud posture management',
  targetAudience: ['CISOs', { persona: 'DevOps lead' }], keyBenefits: ['fewer misconfigurations'], competitors: ['Wiz'], ...over,
});
const campaign = (over: Record<string, unknown> = {}) => ({
  name: 'Spring push', theme: 'security first', startDate: '2027-03-01', endDate: '2027-03-31', totalBudget: 10000, expectedRoi: 150, ...over,
});
const count = async () => (await t.db.admin.query<{ n: number }>(
  `SELECT (SELECT count(*) FROM services) + (SELECT count(*) FROM audit_logs) AS n`)).rows[0]!.n;

describe('services catalog', () => {
  it('creates, reads, changes with a version and deletes softly, auditing each', async () => {
    const s = ok(await c.post('/v1/services', owner.auth, service()), 201);
    expect(s).toMatchObject({ name: 'CloudGuard', version: 1, activeCampaigns: 0, marketMentions: 0, targetAudience: ['CISOs', { persona: 'DevOps lead' }] });
    expect(ok(await c.get(`/v1/services/${s.id}`, owner.auth))).toMatchObject({ id: s.id, version: 1 });
    const s2 = ok(await c.patch(`/v1/services/${s.id}`, owner.auth, { version: 1, marketMentions: 12, description: 'CSPM' }));
    expect(s2).toMatchObject({ version: 2, marketMentions: 12, description: 'CSPM', name: 'CloudGuard' });
    const stale = await c.patch(`/v1/services/${s.id}`, owner.auth, { version: 1, marketMentions: 13 });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('version_conflict');
    expect((await c.del(`/v1/services/${s.id}?version=1`, owner.auth)).statusCode).toBe(409);
    expect((await c.del(`/v1/services/${s.id}?version=2`, owner.auth)).statusCode).toBe(204);
    expect((await c.get(`/v1/services/${s.id}`, owner.auth)).statusCode).toBe(404);
    expect((await c.patch(`/v1/services/${s.id}`, owner.auth, { version: 3, marketMentions: 1 })).statusCode).toBe(404);
    const deleted = await t.db.admin.query<{ deleted_at: Date | null }>(`SELECT deleted_at FROM services WHERE id = $1`, [s.id]);
    expect(deleted.rows[0]!.deleted_at).not.toBeNull();
    expect((await auditRows(t, owner.orgId, s.id)).map((a) => a.action)).toEqual(['service.created', 'service.updated', 'service.deleted']);
    // the name is free again once deleted
    ok(await c.post('/v1/services', owner.auth, service()), 201);
  });

  it('keeps names unique per organization, case-insensitively (409 conflict)', async () => {
    ok(await c.post('/v1/services', owner.auth, service({ name: 'DataVault' })), 201);
    const before = await count();
    const dup = await c.post('/v1/services', owner.auth, service({ name: 'datavault' }));
    expect(dup.statusCode).toBe(409);
    expect(errorOf(dup)).toMatchObject({ code: 'conflict' });
    expect(errorOf(dup).message).toContain('datavault');
    const b = ok(await c.post('/v1/services', owner.auth, service({ name: 'DataVault Pro' })), 201);
    const rename = await c.patch(`/v1/services/${b.id}`, owner.auth, { version: 1, name: 'DATAVAULT' });
    expect(rename.statusCode).toBe(409);
    expect(errorOf(rename).code).toBe('conflict');
    expect(await count()).toBe(before + 2); // the one service and its audit row
    // another organization may use the name
    ok(await c.post('/v1/services', other.auth, service({ name: 'DataVault' })), 201);
  });

  it('counts active campaigns live and filters by category and name prefix, paging by name', async () => {
    const s = ok(await c.post('/v1/services', owner.auth, service({ name: 'Zeta Analytics', category: 'analytics' })), 201);
    ok(await c.post('/v1/services', owner.auth, service({ name: 'Zeta_Stream', category: 'analytics' })), 201);
    ok(await c.post('/v1/services', owner.auth, service({ name: 'Zetabyte Backup', category: 'storage' })), 201);
    const a = ok(await c.post('/v1/campaigns', owner.auth, campaign({ serviceId: s.id, status: 'active' })), 201);
    ok(await c.post('/v1/campaigns', owner.auth, campaign({ serviceId: s.id })), 201);
    expect(ok(await c.get(`/v1/services/${s.id}`, owner.auth)).activeCampaigns).toBe(1);
    ok(await c.patch(`/v1/campaigns/${a.id}/status`, owner.auth, { version: 1, status: 'paused' }));
    expect(ok(await c.get(`/v1/services/${s.id}`, owner.auth)).activeCampaigns).toBe(0);

    // a service that live campaigns name cannot be deleted (their changes check it exists)
    const named = await c.del(`/v1/services/${s.id}`, owner.auth);
    expect(named.statusCode).toBe(409);
    expect(errorOf(named)).toMatchObject({ code: 'conflict', details: { campaigns: 2 } });
    expect(ok(await c.get(`/v1/services/${s.id}`, owner.auth)).version).toBe(1);

    const analytics = ok(await c.get('/v1/services?category=analytics', owner.auth));
    expect(analytics.data.map((x: { name: string }) => x.name)).toEqual(['Zeta Analytics', 'Zeta_Stream']);
    const zeta = ok(await c.get('/v1/services?q=zeta', owner.auth));
    expect(zeta.data).toHaveLength(3);
    // _ is a character, not a wildcard
    expect(ok(await c.get('/v1/services?q=zeta_', owner.auth)).data.map((x: { name: string }) => x.name)).toEqual(['Zeta_Stream']);
    const p1 = ok(await c.get('/v1/services?q=zeta&limit=2', owner.auth));
    expect(p1.data).toHaveLength(2);
    const p2 = ok(await c.get(`/v1/services?q=zeta&limit=2&cursor=${p1.nextCursor}`, owner.auth));
    expect(p2.data).toHaveLength(1);
    expect(p2.nextCursor).toBeNull();
    expect(new Set([...p1.data, ...p2.data].map((x: { id: string }) => x.id)).size).toBe(3);
  });
});

describe('services: bad input, permissions and other tenants', () => {
  it.each([
    ['no name', service({ name: undefined })],
    ['blank name', service({ name: '   ' })],
    ['unknown field', service({ colour: 'red' })],
    ['negative mentions', service({ marketMentions: -1 })],
    ['NUL in description', service({ description: 'a\u0000b' })],
    ['category too long', service({ category: 'x'.repeat(101) })],
  ])('refuses %s with 400 and writes nothing', async (_n, body) => {
    const before = await count();
    const res = await c.post('/v1/services', owner.auth, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe('validation_failed');
    expect(await count()).toBe(before);
  });

  it('refuses bad changes, ids, queries and cursors with 4xx and writes nothing', async () => {
    const s = ok(await c.post('/v1/services', owner.auth, service({ name: 'Bad Input Co' })), 201);
    const before = await count();
    expect((await c.patch(`/v1/services/${s.id}`, owner.auth, { marketMentions: 3 })).statusCode).toBe(400);
    expect((await c.patch(`/v1/services/${s.id}`, owner.auth, { version: 1, name: '' })).statusCode).toBe(400);
    expect((await c.get('/v1/services/not-a-uuid', owner.auth)).statusCode).toBe(400);
    expect((await c.del('/v1/services/not-a-uuid', owner.auth)).statusCode).toBe(400);
    expect((await c.get('/v1/services?cursor=zzz', owner.auth)).statusCode).toBe(400);
    expect((await c.get('/v1/services?limit=101', owner.auth)).statusCode).toBe(400);
    expect(await count()).toBe(before);
  });

  it('needs plans:write to change the catalog; a viewer reads it', async () => {
    const viewer: { auth: Auth } = await joinAs(t, owner, 'viewer');
    const res = await c.post('/v1/services', viewer.auth, service({ name: 'Viewer Made' }));
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    ok(await c.get('/v1/services', viewer.auth));
  });

  it('shows another organization nothing and lets it change nothing', async () => {
    const s = ok(await c.post('/v1/services', owner.auth, service({ name: 'Private Service' })), 201);
    expect((await c.get(`/v1/services/${s.id}`, other.auth)).statusCode).toBe(404);
    expect((await c.patch(`/v1/services/${s.id}`, other.auth, { version: 1, name: 'mine' })).statusCode).toBe(404);
    expect((await c.del(`/v1/services/${s.id}`, other.auth)).statusCode).toBe(404);
    const theirs = ok(await c.get('/v1/services?q=private', other.auth));
    expect(theirs.data).toEqual([]);
    // RLS underneath: in the other tenant's transaction the row is invisible even without a WHERE on org_id
    const seen = await t.db.tenant(other.orgId, (sql) => sql.query(`SELECT id FROM services WHERE id = $1`, [s.id]));
    expect(seen.rows).toEqual([]);
  });
});
