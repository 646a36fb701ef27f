import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, ok, signupBuilder } from '../../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../../helpers/app.js';
import { approvedListing, listingBody, platformAdmin, publishableAgent, PUBLIC_KEYS, uniqueSlug } from './fixtures.js';

/**
 * What the one cross-tenant read must not show, averages under concurrent
 * reviews, and every route's bad input (4xx, nothing written).
 */

let t: TestApp;
let admin: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  c = client(t);
  admin = await platformAdmin(t);
});
afterAll(async () => t?.close());

type Body = ReturnType<typeof JSON.parse>;
const code = (res: { statusCode: number; body: string }) => `${res.statusCode} ${errorOf(res as never).code}`;

const TABLES = ['marketplace_listings', 'marketplace_installs', 'marketplace_reviews', 'agents', 'agent_tools', 'audit_logs', 'platform_audit'];
async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) out[table] = (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
  return out;
}

describe('the cross-tenant read shows approved listing fields and nothing else', () => {
  it('drafts, pending, rejected and deleted listings, and agents or versions not listed, are invisible to other organizations', async () => {
    const a = await signupBuilder(t);
    const b = await signupUser(t.app);
    const { agent } = await publishableAgent(t, a.auth);
    const draft = ok(await c.post('/v1/marketplace/listings', a.auth, listingBody(agent.id, { title: 'Zebra draft', tags: ['zebra'] })), 201);
    const pending = ok(await c.post('/v1/marketplace/listings', a.auth, listingBody(agent.id, { title: 'Zebra pending', tags: ['zebra'] })), 201);
    ok(await c.post(`/v1/marketplace/listings/${pending.id}/submit`, a.auth, { version: 1 }));
    const rejected = ok(await c.post('/v1/marketplace/listings', a.auth, listingBody(agent.id, { title: 'Zebra rejected', tags: ['zebra'] })), 201);
    ok(await c.post(`/v1/marketplace/listings/${rejected.id}/submit`, a.auth, { version: 1 }));
    ok(await c.post(`/v1/admin/marketplace/listings/${rejected.id}/review`, admin.auth, { decision: 'reject', reason: 'no' }));
    const { listing: gone } = await approvedListing(t, admin, { title: 'Zebra withdrawn', tags: ['zebra'] }, a);
    expect((await c.del(`/v1/marketplace/listings/${gone.id}`, a.auth)).statusCode).toBe(204);
    const { listing: live } = await approvedListing(t, admin, { title: 'Zebra live', tags: ['zebra'] }, a);

    for (const url of ['/v1/marketplace?q=zebra', '/v1/marketplace?tag=zebra', '/v1/marketplace?category=travel&limit=100']) {
      const ids = ok(await c.get(url, b.auth)).data.map((l: Body) => l.id);
      expect(ids).toContain(live.id);
      for (const hidden of [draft, pending, rejected, gone]) expect(ids).not.toContain(hidden.id);
    }
    for (const hidden of [draft, pending, rejected, gone]) {
      for (const ref of [hidden.id, hidden.slug]) expect((await c.get(`/v1/marketplace/${ref}`, b.auth)).statusCode).toBe(404);
      expect((await c.post(`/v1/marketplace/${hidden.id}/install`, b.auth)).statusCode).toBe(404);
      expect((await c.get(`/v1/marketplace/${hidden.id}/reviews`, b.auth)).statusCode).toBe(404);
    }
    // The publisher's agent, its versions and tools stay its own.
    expect((await c.get(`/v1/agents/${agent.id}`, b.auth)).statusCode).toBe(404);
    expect((await c.get(`/v1/agents/${agent.id}/versions`, b.auth)).statusCode).toBe(404);
    const row = ok(await c.get(`/v1/marketplace/${live.id}`, b.auth));
    expect(Object.keys(row).sort()).toEqual(PUBLIC_KEYS);
    const text = JSON.stringify(row);
    for (const s of [a.orgId, a.userId, agent.id, agent.currentVersionId, 'You plan trips', 'systemPrompt', 'config']) expect(text).not.toContain(s);
  });

  it('the app role cannot read platform_admins or another tenant\'s listings directly, and the definer functions return listing fields only', async () => {
    const a = await signupUser(t.app);
    await expect(t.db.tenant(a.orgId, (sql) => sql.query('SELECT * FROM platform_admins'))).rejects.toThrow(/permission denied/);
    await expect(t.db.tenant(a.orgId, (sql) => sql.query('SELECT * FROM platform_audit'))).rejects.toThrow(/permission denied/);
    const r = await t.db.tenant(a.orgId, (sql) => sql.query<{ n: number }>('SELECT count(*)::int AS n FROM marketplace_listings'));
    expect(r.rows[0]!.n).toBe(0);
    const cols = await t.db.tenant(a.orgId, (sql) => sql.query('SELECT * FROM marketplace_browse(NULL, NULL, NULL, NULL, NULL, NULL, 1)'));
    expect(Object.keys(cols.rows[0] ?? {})).not.toContain('org_id');
    expect(Object.keys(cols.rows[0] ?? {})).not.toContain('config');
    // platform_admin_check answers a boolean, nothing more.
    expect((await t.db.transaction((sql) => sql.query<{ ok: boolean }>('SELECT platform_admin_check($1) AS ok', [admin.userId]))).rows[0]!.ok).toBe(true);
    expect((await t.db.transaction((sql) => sql.query<{ ok: boolean }>('SELECT platform_admin_check($1) AS ok', [a.userId]))).rows[0]!.ok).toBe(false);
  });

  it('paginates the catalog by cursor, both newest-first and by rank', async () => {
    const a = await signupBuilder(t);
    const word = `quokka${process.pid}`;
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await approvedListing(t, admin, { title: `Quokka ${i}`, shortDescription: `${word} helper ${i}`, category: 'wildlife' }, a)).listing.id);
    for (const base of ['/v1/marketplace?category=wildlife&limit=2', `/v1/marketplace?q=${word}&limit=2`]) {
      const p1 = ok(await c.get(base, a.auth));
      expect(p1.data).toHaveLength(2);
      const p2 = ok(await c.get(`${base}&cursor=${p1.nextCursor}`, a.auth));
      expect(p2.nextCursor).toBeNull();
      expect([...p1.data, ...p2.data].map((l: Body) => l.id).sort()).toEqual([...made].sort());
    }
    const p1 = ok(await c.get('/v1/marketplace?category=wildlife&limit=2', a.auth));
    expect(code(await c.get(`/v1/marketplace?q=${word}&cursor=${p1.nextCursor}`, a.auth))).toBe('400 bad_request');
  });
});

describe('ratings stay exact', () => {
  it('concurrent reviews from many organizations keep the sum, count and average exact', async () => {
    const { listing } = await approvedListing(t, admin, { slug: uniqueSlug('concurrent') });
    const orgs = await Promise.all(Array.from({ length: 8 }, () => signupBuilder(t)));
    for (const o of orgs) ok(await c.post(`/v1/marketplace/${listing.id}/install`, o.auth), 201);
    const ratings = [5, 4, 4, 3, 5, 1, 2, 5];
    const res = await Promise.all(orgs.map((o, i) => c.post(`/v1/marketplace/${listing.id}/reviews`, o.auth, { rating: ratings[i] })));
    for (const r of res) expect(r.statusCode, r.body).toBe(201);
    // and concurrent changes of each organization's rating
    const changed = ratings.map((r) => (r % 5) + 1);
    const res2 = await Promise.all(orgs.map((o, i) => c.post(`/v1/marketplace/${listing.id}/reviews`, o.auth, { rating: changed[i] })));
    for (const r of res2) expect(r.statusCode, r.body).toBe(200);
    const sum = changed.reduce((s, r) => s + r, 0);
    const pub = ok(await c.get(`/v1/marketplace/${listing.id}`, orgs[0]!.auth));
    expect(pub).toMatchObject({ ratingCount: 8, ratingAverage: Math.round((sum / 8) * 100) / 100, installCount: 8 });
    const db = await t.db.admin.query<{ s: number; n: number }>(`SELECT sum(rating)::int AS s, count(*)::int AS n FROM marketplace_reviews WHERE listing_id = $1`, [listing.id]);
    expect(db.rows[0]).toEqual({ s: sum, n: 8 });
    const l = await t.db.admin.query<{ rating_sum: string; rating_count: number }>(`SELECT rating_sum, rating_count FROM marketplace_listings WHERE id = $1`, [listing.id]);
    expect([Number(l.rows[0]!.rating_sum), l.rows[0]!.rating_count]).toEqual([sum, 8]);
  });
});

describe('bad input: 4xx with a stable code, nothing written', () => {
  it('every route refuses what it cannot take', async () => {
    const pub = await signupBuilder(t);
    const other = await signupBuilder(t);
    const { agent } = await publishableAgent(t, pub.auth);
    const { listing } = await approvedListing(t, admin, { slug: uniqueSlug('badinput') }, pub);
    const draft = ok(await c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id)), 201);
    const viewer = { authorization: pub.auth.authorization };
    const before = await counts();
    const cases: Array<[Promise<{ statusCode: number; body: string }>, string]> = [
      [c.post('/v1/marketplace/listings', pub.auth, {}), '400 validation_failed'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { title: '' })), '400 validation_failed'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { category: 'Travel Stuff' })), '400 validation_failed'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { slug: 'Bad_Slug' })), '400 validation_failed'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { slug: 'listings' })), '400 bad_request'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { slug: '0190a3c4-1234-7abc-8def-0123456789ab' })), '400 bad_request'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { slug: listing.slug })), '409 conflict'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { pricingModel: 'one_time' })), '400 bad_request'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { priceCents: 500 })), '400 bad_request'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { pricingModel: 'one_time', priceCents: 4.5 })), '400 validation_failed'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) })), '400 validation_failed'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { iconUrl: 'javascript:alert(1)' })), '400 validation_failed'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { extra: 1 })), '400 validation_failed'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody(agent.id, { agentVersion: '9.9.9' })), '404 not_found'],
      [c.post('/v1/marketplace/listings', pub.auth, listingBody('no-such-agent')), '404 not_found'],
      [c.post('/v1/marketplace/listings', other.auth, listingBody(agent.id)), '404 not_found'],
      [c.get('/v1/marketplace/listings?status=live', pub.auth), '400 validation_failed'],
      [c.get('/v1/marketplace/listings?cursor=nope', pub.auth), '400 bad_request'],
      [c.get('/v1/marketplace/listings/not-a-uuid', pub.auth), '400 validation_failed'],
      [c.patch(`/v1/marketplace/listings/${draft.id}`, pub.auth, { title: 'x' }), '400 validation_failed'],
      [c.patch(`/v1/marketplace/listings/${draft.id}`, pub.auth, { version: 99, title: 'x' }), '409 version_conflict'],
      [c.patch(`/v1/marketplace/listings/${draft.id}`, pub.auth, { version: 1, slug: listing.slug }), '409 conflict'],
      [c.patch(`/v1/marketplace/listings/${draft.id}`, pub.auth, { version: 1, pricingModel: 'subscription' }), '400 bad_request'],
      [c.patch(`/v1/marketplace/listings/${draft.id}`, pub.auth, { version: 1, agentVersion: '7.0.0' }), '404 not_found'],
      [c.post(`/v1/marketplace/listings/${draft.id}/submit`, pub.auth, {}), '400 validation_failed'],
      [c.del('/v1/marketplace/listings/0190a3c4-1234-7abc-8def-0123456789ab', pub.auth), '404 not_found'],
      [c.get('/v1/marketplace?limit=0', pub.auth), '400 validation_failed'],
      [c.get('/v1/marketplace?category=NOPE!', pub.auth), '400 validation_failed'],
      [c.get('/v1/marketplace?q=', pub.auth), '400 validation_failed'],
      [c.get('/v1/marketplace?cursor=%%%', pub.auth), '400 bad_request'],
      [c.get('/v1/marketplace/Not_A_Ref', pub.auth), '400 validation_failed'],
      [c.get('/v1/marketplace/no-such-listing', pub.auth), '404 not_found'],
      [c.get(`/v1/marketplace/${listing.id}/reviews?limit=500`, pub.auth), '400 validation_failed'],
      [c.post(`/v1/marketplace/${listing.id}/install`, other.auth, { acceptPriceCents: 0 }), '400 validation_failed'],
      [c.post(`/v1/marketplace/${listing.id}/install`, other.auth, { surprise: true }), '400 validation_failed'],
      [c.post('/v1/marketplace/no-such-listing/install', other.auth), '404 not_found'],
      [c.post(`/v1/marketplace/${listing.id}/reviews`, other.auth, { rating: 6 }), '400 validation_failed'],
      [c.post(`/v1/marketplace/${listing.id}/reviews`, other.auth, { rating: 3.5 }), '400 validation_failed'],
      [c.post(`/v1/marketplace/${listing.id}/reviews`, other.auth, { rating: 4 }), '409 conflict'],
      [c.post(`/v1/marketplace/${listing.id}/reviews`, other.auth, {}), '400 validation_failed'],
      [c.del(`/v1/marketplace/${listing.id}/review`, other.auth), '404 not_found'],
      [c.get('/v1/admin/marketplace/listings?status=bogus', admin.auth), '400 validation_failed'],
      [c.post(`/v1/admin/marketplace/listings/${draft.id}/review`, admin.auth, { decision: 'maybe', reason: 'x' }), '400 validation_failed'],
      [c.post(`/v1/admin/marketplace/listings/${draft.id}/review`, admin.auth, { decision: 'approve' }), '400 validation_failed'],
      [c.post(`/v1/admin/marketplace/listings/${draft.id}/review`, admin.auth, { decision: 'approve', reason: '   ' }), '400 validation_failed'],
      [c.post('/v1/admin/marketplace/listings/0190a3c4-1234-7abc-8def-0123456789ab/review', admin.auth, { decision: 'approve', reason: 'x' }), '404 not_found'],
      [c.post(`/v1/admin/marketplace/listings/${draft.id}/review`, admin.auth, { decision: 'approve', reason: 'x' }), '409 conflict'],
      [c.post(`/v1/admin/marketplace/listings/${draft.id}/review`, viewer, { decision: 'approve', reason: 'x' }), '403 platform_admin_required'],
    ];
    for (const [p, want] of cases) {
      const res = await p;
      expect(code(res), res.body).toBe(want);
    }
    expect(await counts()).toEqual(before);
  });

  it('a paid listing installs only when its price is accepted', async () => {
    const pub = await signupBuilder(t);
    const buyer = await signupBuilder(t);
    const { listing } = await approvedListing(t, admin, { slug: uniqueSlug('paid'), pricingModel: 'one_time', priceCents: 1999 }, pub);
    expect(listing).toMatchObject({ pricingModel: 'one_time', priceCents: 1999 });
    const pubView = ok(await c.get(`/v1/marketplace/listings/${listing.id}`, pub.auth));
    expect(pubView.priceUsd).toBe(19.99);
    const before = await counts();
    expect(code(await c.post(`/v1/marketplace/${listing.id}/install`, buyer.auth))).toBe('400 bad_request');
    expect(code(await c.post(`/v1/marketplace/${listing.id}/install`, buyer.auth, { acceptPriceCents: 999 }))).toBe('400 bad_request');
    expect(await counts()).toEqual(before);
    const r = ok(await c.post(`/v1/marketplace/${listing.id}/install`, buyer.auth, { acceptPriceCents: 1999 }), 201);
    expect(r.install.priceCents).toBe(1999);
  });

  it('install respects the installer\'s agent limit (402 quota_exceeded, nothing written)', async () => {
    const { listing } = await approvedListing(t, admin, { slug: uniqueSlug('limit') });
    const small = await signupUser(t.app);
    const org = ok(await c.get('/v1/org', small.auth));
    ok(await c.patch('/v1/org', small.auth, { version: org.version, maxAgents: 1 }));
    ok(await c.post('/v1/agents', small.auth, { name: 'Only one', systemPrompt: 'x' }), 201);
    const before = await counts();
    expect(code(await c.post(`/v1/marketplace/${listing.id}/install`, small.auth))).toBe('402 quota_exceeded');
    expect(await counts()).toEqual(before);
  });

  it('a viewer may browse but not publish, install or review', async () => {
    const { listing } = await approvedListing(t, admin, { slug: uniqueSlug('viewer') });
    const owner = await signupBuilder(t);
    const { joinAs } = await import('../../agents/fixtures.js');
    const v = await joinAs(t, owner, 'viewer');
    ok(await c.get('/v1/marketplace', v.auth));
    expect(code(await c.post(`/v1/marketplace/${listing.id}/install`, v.auth))).toBe('403 forbidden');
    expect(code(await c.post(`/v1/marketplace/${listing.id}/reviews`, v.auth, { rating: 5 }))).toBe('403 forbidden');
    expect(code(await c.post('/v1/marketplace/listings', v.auth, { agent: 'x', title: 'x', shortDescription: 'x', category: 'x' }))).toBe('403 forbidden');
  });
});
