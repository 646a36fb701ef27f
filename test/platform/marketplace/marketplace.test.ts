import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPlatformAudit } from '../../../src/platform/index.js';
import { auditRows, client, ok, signupBuilder } from '../../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../../helpers/app.js';
import { scriptsDir, type ScriptsDir } from '../../runtime/run-fixtures.js';
import { listingBody, platformAdmin, publishableAgent, PUBLIC_KEYS, SECRET_VALUES, uniqueSlug } from './fixtures.js';

/**
 * The whole flow: publish an agent version → submit → a platform admin
 * rejects, then approves → another organization finds it, installs it (a
 * clone that runs) → reviews it. Plus what each step refuses.
 */

let t: TestApp;
let scripts: ScriptsDir;
let publisher: SignedUp;
let installer: SignedUp;
let admin: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  scripts = scriptsDir();
  t = await createTestApp({ AGENTBASE_SCRIPTS_DIR: scripts.dir });
  c = client(t);
  publisher = await signupBuilder(t);
  installer = await signupBuilder(t);
  admin = await platformAdmin(t);
});
afterAll(async () => {
  await t?.close();
  scripts?.remove();
});

type Body = ReturnType<typeof JSON.parse>;
let agent: Body;
let listing: Body;

describe('publish → review → browse → install → review', () => {
  it('publishes an agent version as a draft listing, with secrets stripped from what it publishes', async () => {
    ({ agent } = await publishableAgent(t, publisher.auth));
    listing = ok(await c.post('/v1/marketplace/listings', publisher.auth, listingBody(agent.id, { pricingModel: 'free' })), 201);
    expect(listing).toMatchObject({
      agentId: agent.id, agentVersion: '1.0.0', status: 'draft', title: 'Trip Planner Pro', category: 'travel',
      tags: ['itinerary', 'travel'], pricingModel: 'free', priceCents: null, installCount: 0, ratingAverage: 0, ratingCount: 0,
      publishedAt: null, version: 1,
    });
    const text = JSON.stringify(listing.config);
    for (const s of SECRET_VALUES) expect(text).not.toContain(s);
    expect(listing.strippedSecrets).toEqual(expect.arrayContaining([
      'tools[0].config.url', 'tools[0].config.headers.x-api-key', 'tools[0].config.headers.Authorization',
      'tools[0].config.query.api_key', 'metadata.internalToken',
    ]));
    // What is not a credential stays.
    expect(listing.config.tools[0].config).toMatchObject({ url: 'https://places.example.com/q', headers: { Accept: 'application/json' }, query: { city: '{city}' } });
    expect(listing.config.metadata).toEqual({ team: 'travel' });
    expect(listing.toolSummary).toEqual([{ name: listing.config.tools[0].name, description: 'Look up a place', toolType: 'api' }]);
  });

  it('a draft is the publisher\'s alone: not in the marketplace, not readable or editable by another organization', async () => {
    expect(ok(await c.get(`/v1/marketplace?q=itinerary`, installer.auth)).data).toEqual([]);
    for (const ref of [listing.id, listing.slug]) expect(errorOf(await c.get(`/v1/marketplace/${ref}`, installer.auth)).code).toBe('not_found');
    expect((await c.get(`/v1/marketplace/listings/${listing.id}`, installer.auth)).statusCode).toBe(404);
    expect((await c.patch(`/v1/marketplace/listings/${listing.id}`, installer.auth, { version: 1, title: 'Mine now' })).statusCode).toBe(404);
    expect((await c.post(`/v1/marketplace/listings/${listing.id}/submit`, installer.auth, { version: 1 })).statusCode).toBe(404);
    expect((await c.del(`/v1/marketplace/listings/${listing.id}`, installer.auth)).statusCode).toBe(404);
    expect(ok(await c.get('/v1/marketplace/listings', installer.auth)).data).toEqual([]);
    expect(errorOf(await c.post(`/v1/marketplace/${listing.id}/install`, installer.auth, {})).code).toBe('not_found');
    // Only pending listings can be decided.
    expect(errorOf(await c.post(`/v1/admin/marketplace/listings/${listing.id}/review`, admin.auth, { decision: 'approve', reason: 'x' })).code).toBe('conflict');
  });

  it('submit moves draft → pending_review; a second submit is 409', async () => {
    listing = ok(await c.post(`/v1/marketplace/listings/${listing.id}/submit`, publisher.auth, { version: listing.version }));
    expect(listing).toMatchObject({ status: 'pending_review', version: 2 });
    expect(listing.submittedAt).not.toBeNull();
    expect(errorOf(await c.post(`/v1/marketplace/listings/${listing.id}/submit`, publisher.auth, { version: 2 })).code).toBe('conflict');
    expect(errorOf(await c.post(`/v1/marketplace/listings/${listing.id}/submit`, publisher.auth, { version: 1 })).code).toBe('version_conflict');
  });

  it('the review queue is for platform admins only: 403 platform_admin_required for an organization owner', async () => {
    for (const u of [publisher, installer]) {
      const q = await c.get('/v1/admin/marketplace/listings?status=pending', u.auth);
      expect(q.statusCode).toBe(403);
      expect(errorOf(q).code).toBe('platform_admin_required');
      const d = await c.post(`/v1/admin/marketplace/listings/${listing.id}/review`, u.auth, { decision: 'approve', reason: 'mine' });
      expect(`${d.statusCode} ${errorOf(d).code}`).toBe('403 platform_admin_required');
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/admin/marketplace/listings' })).statusCode).toBe(401);
    // An admin's API key is an organization credential: it carries no staff rights.
    const key = ok(await c.post('/v1/api-keys', admin.auth, { name: 'ops', scopes: ['*'] }), 201);
    const viaKey = await c.get('/v1/admin/marketplace/listings', { authorization: `Bearer ${key.key ?? key.token ?? key.apiKey}` });
    expect(`${viaKey.statusCode} ${errorOf(viaKey).code}`).toBe('403 platform_admin_required');
  });

  it('an admin sees the pending listing\'s fields (and what it would publish), nothing of the organization', async () => {
    const q = ok(await c.get('/v1/admin/marketplace/listings?status=pending', admin.auth));
    const row = q.data.find((l: Body) => l.id === listing.id);
    expect(row).toMatchObject({ id: listing.id, slug: listing.slug, status: 'pending_review', agentVersion: '1.0.0' });
    expect(Object.keys(row)).not.toEqual(expect.arrayContaining(['orgId']));
    for (const k of ['orgId', 'agentId', 'agentVersionId', 'createdBy', 'strippedSecrets']) expect(row).not.toHaveProperty(k);
    for (const s of SECRET_VALUES) expect(JSON.stringify(row)).not.toContain(s);
    expect(ok(await c.get('/v1/admin/marketplace/listings?status=approved', admin.auth)).data.map((l: Body) => l.id)).not.toContain(listing.id);
  });

  it('reject (with a reason the publisher reads) → resubmit → approve', async () => {
    const rej = ok(await c.post(`/v1/admin/marketplace/listings/${listing.id}/review`, admin.auth, { decision: 'reject', reason: 'Describe the tools better' }));
    expect(rej).toMatchObject({ status: 'rejected', reviewNotes: 'Describe the tools better' });
    let own = ok(await c.get(`/v1/marketplace/listings/${listing.id}`, publisher.auth));
    expect(own).toMatchObject({ status: 'rejected', reviewNotes: 'Describe the tools better', publishedAt: null });
    own = ok(await c.patch(`/v1/marketplace/listings/${listing.id}`, publisher.auth, { version: own.version, shortDescription: 'Plans multi-city itineraries; looks up places by city' }));
    expect(own.status).toBe('rejected');
    own = ok(await c.post(`/v1/marketplace/listings/${listing.id}/submit`, publisher.auth, { version: own.version }));
    const app = ok(await c.post(`/v1/admin/marketplace/listings/${listing.id}/review`, admin.auth, { decision: 'approve', reason: 'Clear now' }));
    expect(app).toMatchObject({ status: 'approved', reviewNotes: 'Clear now' });
    expect(app.publishedAt).not.toBeNull();
    listing = ok(await c.get(`/v1/marketplace/listings/${listing.id}`, publisher.auth));
  });

  it('another organization finds it by full-text search, category and tag, and reads listing fields only', async () => {
    const byQ = ok(await c.get('/v1/marketplace?q=itineraries', installer.auth));
    expect(byQ.data.map((l: Body) => l.id)).toEqual([listing.id]);
    expect(Object.keys(byQ.data[0]).sort()).toEqual([...PUBLIC_KEYS, 'rank'].sort());
    expect(byQ.data[0].rank).toBeGreaterThan(0);
    const plain = ok(await c.get('/v1/marketplace?category=travel&tag=itinerary', installer.auth));
    expect(plain.data.map((l: Body) => l.id)).toEqual([listing.id]);
    expect(Object.keys(plain.data[0]).sort()).toEqual(PUBLIC_KEYS);
    expect(ok(await c.get('/v1/marketplace?category=finance', installer.auth)).data).toEqual([]);
    expect(ok(await c.get('/v1/marketplace?tag=nope', installer.auth)).data).toEqual([]);
    expect(ok(await c.get('/v1/marketplace?q=submarine', installer.auth)).data).toEqual([]);
    for (const ref of [listing.id, listing.slug]) {
      const one = ok(await c.get(`/v1/marketplace/${ref}`, installer.auth));
      expect(Object.keys(one).sort()).toEqual(PUBLIC_KEYS);
      expect(one).toMatchObject({ id: listing.id, agentVersion: '1.0.0', tools: listing.toolSummary });
      // No prompt, no config, nothing of the organization.
      expect(JSON.stringify(one)).not.toContain('You plan trips');
      expect(JSON.stringify(one)).not.toContain(publisher.orgId);
    }
  });

  it('install clones the version and its tools into the installer\'s organization, without secrets, and the copy runs', async () => {
    scripts.write('installed', [{ content: 'Day 1: Lisbon.', usage: { promptTokens: 10, completionTokens: 5 }, expect: { lastContains: 'Lisbon' } }]);
    const res = ok(await c.post(`/v1/marketplace/${listing.slug}/install`, installer.auth, {}), 201);
    expect(res).toMatchObject({
      install: { listingId: listing.id, agentVersion: '1.0.0', installedBy: installer.userId },
      agent: { status: 'active', currentVersion: '1.0.0', name: 'Trip Planner' },
      reinstalled: false,
    });
    expect(res.notice).toMatch(/never copied/);
    expect(res.strippedSecrets).toEqual(expect.arrayContaining(['tools[0].config.headers.Authorization', 'metadata.internalToken']));
    const copy = ok(await c.get(`/v1/agents/${res.agent.id}`, installer.auth));
    expect(copy).toMatchObject({ systemPrompt: agent.systemPrompt, modelSettings: agent.modelSettings, metadata: { team: 'travel' } });
    expect(copy.tools).toHaveLength(1);
    expect(copy.tools[0]).not.toBe(agent.tools[0]);
    const tool = ok(await c.get(`/v1/tools/${copy.tools[0]}`, installer.auth));
    expect(tool.config.headers).toEqual({ Accept: 'application/json' });
    for (const s of SECRET_VALUES) expect(JSON.stringify(tool)).not.toContain(s);
    // The publisher's agent and tools are untouched and still theirs alone.
    expect((await c.get(`/v1/agents/${agent.id}`, installer.auth)).statusCode).toBe(404);
    // The copy runs (scripted provider).
    const run = ok(await c.post(`/v1/agents/${res.agent.id}/executions`, installer.auth, { input: 'Plan Lisbon' }));
    expect(run).toMatchObject({ status: 'completed', output: { content: 'Day 1: Lisbon.' } });
    expect(ok(await c.get(`/v1/marketplace/${listing.id}`, installer.auth)).installCount).toBe(1);
    expect(ok(await c.get('/v1/marketplace/installs', installer.auth)).data.map((i: Body) => i.listingId)).toEqual([listing.id]);
  });

  it('re-installing while the copy exists is 409; after deleting the copy it installs again (not counted twice)', async () => {
    const again = await c.post(`/v1/marketplace/${listing.id}/install`, installer.auth, {});
    expect(errorOf(again).code).toBe('conflict');
    const inst = ok(await c.get('/v1/marketplace/installs', installer.auth)).data[0];
    await setArchived(inst.clonedAgentId);
    const re = ok(await c.post(`/v1/marketplace/${listing.id}/install`, installer.auth), 201);
    expect(re).toMatchObject({ reinstalled: true, install: { id: inst.id } });
    expect(re.agent.id).not.toBe(inst.clonedAgentId);
    expect(ok(await c.get(`/v1/marketplace/${listing.id}`, installer.auth)).installCount).toBe(1);
  });

  it('reviews: only installers, one per organization (a second replaces the first), never the publisher', async () => {
    const first = ok(await c.post(`/v1/marketplace/${listing.slug}/reviews`, installer.auth, { rating: 4, title: 'Good', body: 'Useful plans' }), 201);
    expect(first).toMatchObject({ rating: 4, isVerifiedInstall: true });
    let pub = ok(await c.get(`/v1/marketplace/${listing.id}`, installer.auth));
    expect(pub).toMatchObject({ ratingAverage: 4, ratingCount: 1 });
    const second = ok(await c.post(`/v1/marketplace/${listing.slug}/reviews`, installer.auth, { rating: 5, body: 'Even better' }));
    expect(second).toMatchObject({ id: first.id, rating: 5, version: 2 });
    pub = ok(await c.get(`/v1/marketplace/${listing.id}`, installer.auth));
    expect(pub).toMatchObject({ ratingAverage: 5, ratingCount: 1 });
    expect(errorOf(await c.post(`/v1/marketplace/${listing.slug}/reviews`, publisher.auth, { rating: 5 })).code).toBe('conflict');
    const stranger = await signupUser(t.app);
    expect(errorOf(await c.post(`/v1/marketplace/${listing.slug}/reviews`, stranger.auth, { rating: 1 })).code).toBe('conflict');
    const list = ok(await c.get(`/v1/marketplace/${listing.slug}/reviews`, stranger.auth));
    expect(list.data).toHaveLength(1);
    expect(Object.keys(list.data[0]).sort()).toEqual(['body', 'createdAt', 'id', 'isVerifiedInstall', 'rating', 'title', 'updatedAt']);
    expect(ok(await c.get(`/v1/marketplace/${listing.slug}/review`, installer.auth)).rating).toBe(5);
    expect((await c.get(`/v1/marketplace/${listing.slug}/review`, stranger.auth)).statusCode).toBe(404);
  });

  it('deleting its review takes it out of the average', async () => {
    expect((await c.del(`/v1/marketplace/${listing.slug}/review`, installer.auth)).statusCode).toBe(204);
    expect(ok(await c.get(`/v1/marketplace/${listing.id}`, installer.auth))).toMatchObject({ ratingAverage: 0, ratingCount: 0 });
    ok(await c.post(`/v1/marketplace/${listing.slug}/reviews`, installer.auth, { rating: 3 }), 201);
  });

  it('editing an approved listing sends it back to pending_review, out of the marketplace', async () => {
    const own = ok(await c.get(`/v1/marketplace/listings/${listing.id}`, publisher.auth));
    const ed = ok(await c.patch(`/v1/marketplace/listings/${listing.id}`, publisher.auth, { version: own.version, tags: ['travel', 'europe'] }));
    expect(ed).toMatchObject({ status: 'pending_review', tags: ['travel', 'europe'], ratingCount: 1, installCount: 1 });
    expect((await c.get(`/v1/marketplace/${listing.id}`, installer.auth)).statusCode).toBe(404);
    ok(await c.post(`/v1/admin/marketplace/listings/${listing.id}/review`, admin.auth, { decision: 'approve', reason: 'ok' }));
    expect(ok(await c.get('/v1/marketplace?tag=europe', installer.auth)).data.map((l: Body) => l.id)).toEqual([listing.id]);
  });

  it('every state change left an audit row in the right chain, and the platform chain verifies', async () => {
    const pubActions = (await auditRows(t, publisher.orgId, listing.id)).map((r) => r.action);
    expect(pubActions).toEqual([
      'marketplace_listing.created', 'marketplace_listing.submitted', 'marketplace_listing.rejected', 'marketplace_listing.updated',
      'marketplace_listing.submitted', 'marketplace_listing.approved', 'marketplace_listing.updated', 'marketplace_listing.approved',
    ]);
    const rows = await auditRows(t, publisher.orgId, listing.id);
    expect(rows[2]!.new_values).toMatchObject({ status: 'rejected', reason: 'Describe the tools better' });
    for (const r of rows) for (const s of SECRET_VALUES) expect(JSON.stringify(r)).not.toContain(s);
    const instActions = (await auditRows(t, installer.orgId)).map((r) => r.action);
    expect(instActions).toEqual(expect.arrayContaining([
      'tool.created', 'agent.created', 'agent.version_published', 'agent.status_changed', 'marketplace.installed',
      'marketplace.reinstalled', 'marketplace_review.created', 'marketplace_review.updated', 'marketplace_review.deleted',
    ]));
    const platform = await t.db.admin.query<{ action: string; actor: string; org_id: string | null }>(
      `SELECT action, actor, subject_org_id AS org_id FROM platform_audit ORDER BY seq`,
    );
    expect(platform.rows.map((r) => r.action)).toEqual([
      'platform_admin.granted', 'marketplace_listing.rejected', 'marketplace_listing.approved', 'marketplace_listing.approved',
    ]);
    expect(platform.rows[1]).toMatchObject({ actor: `user:${admin.userId}`, org_id: publisher.orgId });
    expect(await verifyPlatformAudit(t.db)).toBeUndefined();
  });

  it('a withdrawn listing leaves the marketplace; installed copies stay', async () => {
    const other = await signupBuilder(t);
    const { listing: l } = await import('./fixtures.js').then((f) => f.approvedListing(t, admin, { slug: uniqueSlug('withdraw') }, other));
    const inst = ok(await c.post(`/v1/marketplace/${l.id}/install`, installer.auth), 201);
    expect((await c.del(`/v1/marketplace/listings/${l.id}`, other.auth)).statusCode).toBe(204);
    expect((await c.get(`/v1/marketplace/${l.id}`, installer.auth)).statusCode).toBe(404);
    expect(ok(await c.get(`/v1/agents/${inst.agent.id}`, installer.auth)).status).toBe('active');
    expect((await c.get(`/v1/marketplace/listings/${l.id}`, other.auth)).statusCode).toBe(404);
  });
});

/** Archive and delete the installed copy (the agents API's own way). */
async function setArchived(agentId: string) {
  const v = ok(await c.get(`/v1/agents/${agentId}`, installer.auth)).version;
  ok(await c.post(`/v1/agents/${agentId}/status`, installer.auth, { status: 'archived', version: v }));
  expect((await c.del(`/v1/agents/${agentId}`, installer.auth)).statusCode).toBe(204);
}
