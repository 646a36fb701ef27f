import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, client, joinAs, ok, signupBuilder, type Auth } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let owner: SignedUp;
let other: SignedUp;
let member: { userId: string; auth: Auth };
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  other = await signupUser(t.app, { organizationName: 'Other Org' });
  member = await joinAs(t, owner, 'member');
  c = client(t);
});
afterAll(async () => t?.close());

const trip = (title = 'Lisbon and Porto in May') => ({
  kind: 'travel',
  title,
  travel: {
    destinations: [{ name: 'Lisbon', country: 'PT' }],
    startDate: '2027-05-01',
    endDate: '2027-05-08',
    agentResults: { flights: { prompt: 'secret prompt' } },
  },
});
const newPlan = async (title?: string) => ok(await c.post('/v1/plans', owner.auth, trip(title)), 201);
const share = async (planId: string, body: Record<string, unknown> = { shareType: 'link' }, auth: Auth = owner.auth) =>
  ok(await c.post(`/v1/plans/${planId}/shares`, auth, body), 201);
const open = (ref: string, o: { password?: string; addr?: string; auth?: Auth } = {}) => t.app.inject({
  method: 'GET', url: `/v1/shared/${ref}`, remoteAddress: o.addr ?? '127.0.0.1',
  headers: { ...(o.password !== undefined ? { 'x-share-password': o.password } : {}), ...(o.auth ?? {}) },
});
const code = (res: LightMyRequestResponse) => `${res.statusCode} ${errorOf(res).code}`;
let slugN = 0;
const slug = () => `trip-${process.pid}-${++slugN}`;

describe('plan shares: create, open, list, revoke', () => {
  it('creates a link share whose token is shown once and opens the plan content only', async () => {
    const p = await newPlan();
    const s = await share(p.id);
    expect(s.token).toMatch(/^abs_[A-Za-z0-9_-]{43}$/);
    expect(s).toMatchObject({ url: `/v1/shared/${s.token}`, publicUrl: null, shareType: 'link', permissions: ['read'], hasPassword: false, accessCount: 0, planId: p.id });
    expect(s.tokenPrefix).toBe(s.token.slice(0, 12));
    expect(JSON.stringify(s)).not.toMatch(/hash/i);
    const stored = await t.db.admin.query<{ share_token_hash: string }>('SELECT share_token_hash FROM plan_shares WHERE id = $1', [s.id]);
    expect(stored.rows[0]!.share_token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.rows[0]!.share_token_hash).not.toContain(s.token.slice(4));

    const v = ok(await open(s.token));
    expect(v).toEqual({
      plan: { id: p.id, kind: 'travel', title: 'Lisbon and Porto in May', version: 1 },
      share: { type: 'link', permissions: ['read'], expiresAt: null },
      document: expect.objectContaining({ kind: 'travel', plan: expect.objectContaining({ title: 'Lisbon and Porto in May' }) }),
    });
    const text = JSON.stringify(v);
    for (const k of ['costs', 'activity', 'userId', 'email', 'agentResults', 'agentExecutionSummary', 'secret prompt', owner.userId, owner.orgId, s.id]) {
      expect(text).not.toContain(k);
    }
    expect(v.document.travel).toMatchObject({ startDate: '2027-05-01', destinations: [{ name: 'Lisbon', country: 'PT' }] });

    const list = ok(await c.get(`/v1/plans/${p.id}/shares`, owner.auth));
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ id: s.id, tokenPrefix: s.tokenPrefix, accessCount: 1, hasPassword: false, revokedAt: null, isActive: true });
    expect(list.data[0].lastAccessedAt).not.toBeNull();
    expect(JSON.stringify(list)).not.toContain(s.token);
    expect(JSON.stringify(list)).not.toMatch(/hash"|token"/i);

    const audit = await auditRows(t, owner.orgId, s.id);
    expect(audit.map((a) => a.action)).toEqual(['plan.share.created']);
    expect(audit[0]!.new_values).toMatchObject({ planId: p.id, shareType: 'link', prefix: s.tokenPrefix, locked: false });
    expect(JSON.stringify(audit)).not.toContain(s.token);
  });

  it('opens a public share by its slug and by its token, and shows later versions', async () => {
    const p = await newPlan();
    const sl = slug();
    const s = await share(p.id, { shareType: 'public', publicSlug: sl });
    expect(s).toMatchObject({ isPublic: true, publicSlug: sl, publicUrl: `/v1/shared/${sl}` });
    ok(await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 1, title: 'Lisbon only' }));
    expect(ok(await open(sl)).plan).toEqual({ id: p.id, kind: 'travel', title: 'Lisbon only', version: 2 });
    expect(ok(await open(s.token)).plan.version).toBe(2);
    const taken = await c.post(`/v1/plans/${p.id}/shares`, owner.auth, { shareType: 'public', publicSlug: sl });
    expect(code(taken)).toBe('409 conflict');
  });

  it('pins a version: the share shows that version after the plan moves on', async () => {
    const p = await newPlan('First title');
    ok(await c.patch(`/v1/plans/${p.id}`, owner.auth, { version: 1, title: 'Second title' }));
    const s = await share(p.id, { shareType: 'link', version: 1 });
    expect(s.planVersion).toBe(1);
    const v = ok(await open(s.token));
    expect(v.plan).toEqual({ id: p.id, kind: 'travel', title: 'First title', version: 1 });
    expect(v.document.plan.title).toBe('First title');
  });

  it('revokes: the link then answers 404 like an unknown one; revoking again is 404; both are audited once', async () => {
    const p = await newPlan();
    const s = await share(p.id);
    expect((await c.del(`/v1/plans/${p.id}/shares/${s.id}`, owner.auth)).statusCode).toBe(204);
    expect(code(await open(s.token))).toBe('404 not_found');
    expect(code(await c.del(`/v1/plans/${p.id}/shares/${s.id}`, owner.auth))).toBe('404 not_found');
    const list = ok(await c.get(`/v1/plans/${p.id}/shares`, owner.auth));
    expect(list.data[0]).toMatchObject({ isActive: false, accessCount: 0 });
    expect(list.data[0].revokedAt).not.toBeNull();
    expect((await auditRows(t, owner.orgId, s.id)).map((a) => a.action)).toEqual(['plan.share.created', 'plan.share.revoked']);
    const unknown = await open(`abs_${'A'.repeat(43)}`);
    expect(code(unknown)).toBe('404 not_found');
    expect(errorOf(unknown).message).toBe(errorOf(await open(s.token)).message);
    expect(code(await open('no-such-slug'))).toBe('404 not_found');
    expect(code(await open('Not A Share!'))).toBe('404 not_found');
  });

  it('answers 404 once the plan is deleted', async () => {
    const p = await newPlan();
    const s = await share(p.id);
    expect((await c.del(`/v1/plans/${p.id}`, owner.auth)).statusCode).toBe(204);
    expect(code(await open(s.token))).toBe('404 not_found');
  });
});

describe('plan shares: limits', () => {
  it('answers 410 share_expired after expiresAt', async () => {
    const p = await newPlan();
    const s = await share(p.id, { shareType: 'link', expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    ok(await open(s.token));
    await t.db.admin.query(`UPDATE plan_shares SET expires_at = now() - interval '1 second' WHERE id = $1`, [s.id]);
    expect(code(await open(s.token))).toBe('410 share_expired');
  });

  it('answers 410 share_exhausted once maxAccessCount opens were made', async () => {
    const p = await newPlan();
    const s = await share(p.id, { shareType: 'link', maxAccessCount: 2 });
    ok(await open(s.token));
    ok(await open(s.token));
    expect(code(await open(s.token))).toBe('410 share_exhausted');
    const list = ok(await c.get(`/v1/plans/${p.id}/shares`, owner.auth));
    expect(list.data[0]).toMatchObject({ accessCount: 2, maxAccessCount: 2 });
  });
});

describe('plan shares: passwords', () => {
  it('needs the password in X-Share-Password, refuses a wrong one and never shows it', async () => {
    const p = await newPlan();
    const s = await share(p.id, { shareType: 'link', password: 'open sesame' });
    expect(s.hasPassword).toBe(true);
    expect(JSON.stringify(s)).not.toContain('open sesame');
    const stored = await t.db.admin.query<{ password_hash: string }>('SELECT password_hash FROM plan_shares WHERE id = $1', [s.id]);
    expect(stored.rows[0]!.password_hash).toMatch(/^\$argon2id\$/);
    expect(code(await open(s.token))).toBe('401 share_password_required');
    const wrong = await open(s.token, { password: 'open barley' });
    expect(code(wrong)).toBe('401 invalid_credentials');
    expect(errorOf(wrong).message).not.toMatch(/token/i);
    ok(await open(s.token, { password: 'open sesame' }));
    const list = ok(await c.get(`/v1/plans/${p.id}/shares`, owner.auth));
    expect(list.data[0]).toMatchObject({ hasPassword: true, accessCount: 1 });
    expect(JSON.stringify(list)).not.toContain('argon2');
    expect(JSON.stringify(await auditRows(t, owner.orgId, s.id))).not.toContain('open sesame');
  });

  it('limits wrong passwords per address (5 per 15 minutes) with 429 and Retry-After; other addresses go on', async () => {
    const p = await newPlan();
    const s = await share(p.id, { shareType: 'link', password: 'open sesame' });
    for (let i = 0; i < 5; i++) expect(code(await open(s.token, { password: `guess ${i}`, addr: '10.1.0.1' }))).toBe('401 invalid_credentials');
    const limited = await open(s.token, { password: 'open sesame', addr: '10.1.0.1' });
    expect(code(limited)).toBe('429 rate_limited');
    const retry = Number(limited.headers['retry-after']);
    expect(retry).toBeGreaterThan(800);
    expect(retry).toBeLessThanOrEqual(900);
    ok(await open(s.token, { password: 'open sesame', addr: '10.1.0.2' }));
    // a missing password is not a guess
    expect(code(await open(s.token, { addr: '10.1.0.3' }))).toBe('401 share_password_required');
    const f = await t.db.admin.query<{ client_addr: string; failures: number }>(
      'SELECT host(client_addr) AS client_addr, failures FROM plan_share_failures WHERE share_id = $1', [s.id]);
    expect(f.rows).toEqual([{ client_addr: '10.1.0.1', failures: 5 }]);
  });

  it('limits wrong passwords per link (10 per 15 minutes) across addresses; a window that ended starts again', async () => {
    const p = await newPlan();
    const s = await share(p.id, { shareType: 'link', password: 'open sesame' });
    for (let i = 0; i < 10; i++) expect(code(await open(s.token, { password: `guess ${i}`, addr: `10.2.0.${i % 3}` }))).toBe('401 invalid_credentials');
    const limited = await open(s.token, { password: 'open sesame', addr: '10.2.0.99' });
    expect(code(limited)).toBe('429 rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const row = await t.db.admin.query<{ n: number }>('SELECT failed_password_attempts AS n FROM plan_shares WHERE id = $1', [s.id]);
    expect(row.rows[0]!.n).toBe(10);
    // 16 minutes later the window has ended
    await t.db.admin.query(`UPDATE plan_shares SET failed_password_window_start = now() - interval '16 minutes' WHERE id = $1`, [s.id]);
    await t.db.admin.query(`UPDATE plan_share_failures SET window_start = now() - interval '16 minutes' WHERE share_id = $1`, [s.id]);
    ok(await open(s.token, { password: 'open sesame', addr: '10.2.0.99' }));
    expect(code(await open(s.token, { password: 'nope', addr: '10.2.0.0' }))).toBe('401 invalid_credentials');
    const after = await t.db.admin.query<{ n: number }>('SELECT failed_password_attempts AS n FROM plan_shares WHERE id = $1', [s.id]);
    expect(after.rows[0]!.n).toBe(1);
  });
});

describe('plan shares: private', () => {
  it('opens only for the member it names: 401 without login, 404 for anyone else', async () => {
    const p = await newPlan();
    const s = await share(p.id, { shareType: 'private', sharedWithUserId: member.userId });
    expect(s).toMatchObject({ shareType: 'private', sharedWithUserId: member.userId, isPublic: false });
    expect(code(await open(s.token))).toBe('401 unauthenticated');
    expect(code(await open(s.token, { auth: owner.auth }))).toBe('404 not_found');
    expect(code(await open(s.token, { auth: other.auth }))).toBe('404 not_found');
    expect(ok(await open(s.token, { auth: member.auth })).plan.id).toBe(p.id);
  });

  it('refuses a private share for someone outside the organization, or without anyone', async () => {
    const p = await newPlan();
    const r1 = await c.post(`/v1/plans/${p.id}/shares`, owner.auth, { shareType: 'private', sharedWithUserId: other.userId });
    expect(code(r1)).toBe('400 validation_failed');
    expect(errorOf(r1).message).toContain('sharedWithUserId');
    expect(code(await c.post(`/v1/plans/${p.id}/shares`, owner.auth, { shareType: 'private' }))).toBe('400 validation_failed');
  });
});

describe('plan shares: comment and edit permissions', () => {
  const comment = (ref: string, body: unknown, o: { password?: string } = {}) => t.app.inject({
    method: 'POST', url: `/v1/shared/${ref}/comments`, payload: body as object,
    headers: o.password !== undefined ? { 'x-share-password': o.password } : {},
  });
  const edit = (ref: string, body: unknown) => t.app.inject({ method: 'PATCH', url: `/v1/shared/${ref}`, payload: body as object });

  it('takes comments through a share with the comment permission, without counting an access', async () => {
    const p = await newPlan();
    const readOnly = await share(p.id);
    expect(code(await comment(readOnly.token, { authorName: 'Ana', body: 'Nice' }))).toBe('403 forbidden');
    const s = await share(p.id, { shareType: 'link', permissions: ['comment'], maxAccessCount: 1, password: 'open sesame' });
    expect(s.permissions).toEqual(['read', 'comment']);
    expect(code(await comment(s.token, { authorName: 'Ana', body: 'Nice' }))).toBe('401 share_password_required');
    const made = ok(await comment(s.token, { authorName: 'Ana', body: 'Add a day in Sintra?' }, { password: 'open sesame' }), 201);
    expect(made).toMatchObject({ planId: p.id, planVersion: 1, shareId: s.id, authorName: 'Ana', body: 'Add a day in Sintra?' });
    ok(await open(s.token, { password: 'open sesame' })); // the one allowed view is still there
    const list = ok(await c.get(`/v1/plans/${p.id}/comments`, member.auth));
    expect(list.data.map((x: { body: string }) => x.body)).toEqual(['Add a day in Sintra?']);
    expect((await auditRows(t, owner.orgId, made.id)).map((a) => a.action)).toEqual(['plan.comment.created']);
    expect(code(await c.get(`/v1/plans/${p.id}/comments`, other.auth))).toBe('404 not_found');
  });

  it('changes the plan through a share with the edit permission, as the next version audited with the share', async () => {
    const p = await newPlan();
    const readOnly = await share(p.id, { shareType: 'link', permissions: ['read', 'comment'] });
    expect(code(await edit(readOnly.token, { version: 1, title: 'Hijack' }))).toBe('403 forbidden');
    const s = await share(p.id, { shareType: 'link', permissions: ['edit'] });
    const v = ok(await edit(s.token, { version: 1, title: 'Lisbon and Sintra', travel: { endDate: '2027-05-09' } }));
    expect(v.plan).toEqual({ id: p.id, kind: 'travel', title: 'Lisbon and Sintra', version: 2 });
    expect(v.document.travel.endDate).toBe('2027-05-09');
    expect(JSON.stringify(v)).not.toMatch(/costs|activity|userId/);
    expect(code(await edit(s.token, { version: 1, title: 'stale' }))).toBe('409 version_conflict');
    expect(code(await edit(s.token, { title: 'no version' }))).toBe('400 validation_failed');
    const audit = await auditRows(t, owner.orgId, p.id);
    expect(audit.at(-1)).toMatchObject({ action: 'plan.updated', new_values: { version: 2, shareId: s.id } });
    const version = ok(await c.get(`/v1/plans/${p.id}/versions/2`, owner.auth));
    expect(version.createdByUserId).toBe(owner.userId);
    const pinned = await share(p.id, { shareType: 'link', permissions: ['edit'], version: 1 });
    expect(code(await edit(pinned.token, { version: 2, title: 'x' }))).toBe('409 conflict');
  });
});

describe('plan shares: bad input and other tenants', () => {
  const count = async () => (await t.db.admin.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM plan_shares) + (SELECT count(*) FROM plan_comments) + (SELECT count(*) FROM audit_logs)
       + (SELECT count(*) FROM plan_versions) AS n`)).rows[0]!.n;
  let planId: string;
  beforeAll(async () => {
    planId = (await newPlan()).id;
  });

  it.each([
    ['no shareType', {}],
    ['unknown shareType', { shareType: 'secret' }],
    ['unknown permission', { shareType: 'link', permissions: ['admin'] }],
    ['no permissions', { shareType: 'link', permissions: [] }],
    ['unknown field', { shareType: 'link', colour: 'red' }],
    ['short password', { shareType: 'link', password: 'abc' }],
    ['expiry in the past', { shareType: 'link', expiresAt: '2020-01-01T00:00:00Z' }],
    ['expiry not a date', { shareType: 'link', expiresAt: 'tomorrow' }],
    ['zero accesses', { shareType: 'link', maxAccessCount: 0 }],
    ['public without slug', { shareType: 'public' }],
    ['bad slug', { shareType: 'public', publicSlug: 'Not_A_Slug' }],
    ['slug on a link', { shareType: 'link', publicSlug: 'a-link-slug' }],
    ['user on a link', { shareType: 'link', sharedWithUserId: '00000000-0000-4000-8000-000000000000' }],
    ['private for nobody known', { shareType: 'private', sharedWithUserId: '00000000-0000-4000-8000-000000000000' }],
    ['version that does not exist', { shareType: 'link', version: 9 }],
  ])('refuses %s with 400 and writes nothing', async (_name, body) => {
    const before = await count();
    const res = await c.post(`/v1/plans/${planId}/shares`, owner.auth, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(['validation_failed', 'bad_request']).toContain(errorOf(res).code);
    expect(await count()).toBe(before);
  });

  it('refuses bad comments, edits, ids and cursors with 4xx and writes nothing', async () => {
    const s = await share(planId, { shareType: 'link', permissions: ['comment', 'edit'] });
    const before = await count();
    const bad = [
      await t.app.inject({ method: 'POST', url: `/v1/shared/${s.token}/comments`, payload: { authorName: ' ', body: 'x' } }),
      await t.app.inject({ method: 'POST', url: `/v1/shared/${s.token}/comments`, payload: { authorName: 'A', body: '' } }),
      await t.app.inject({ method: 'POST', url: `/v1/shared/${s.token}/comments`, payload: { authorName: 'A', body: 'x'.repeat(10_001) } }),
      await t.app.inject({ method: 'PATCH', url: `/v1/shared/${s.token}`, payload: { version: 1, travel: { startDate: 'soon' } } }),
      await t.app.inject({ method: 'PATCH', url: `/v1/shared/${s.token}`, payload: { version: 1, campaign: { theme: 'x' } } }),
      await t.app.inject({ method: 'PATCH', url: `/v1/shared/${s.token}`, payload: { version: 1, owner: 'me' } }),
      await c.del(`/v1/plans/${planId}/shares/not-a-uuid`, owner.auth),
      await c.get(`/v1/plans/${planId}/shares?cursor=zzz`, owner.auth),
      await c.get(`/v1/plans/${planId}/comments?limit=0`, owner.auth),
      await c.post('/v1/plans/00000000-0000-4000-8000-000000000000/shares', owner.auth, { shareType: 'link' }),
    ];
    expect(bad.map((r) => r.statusCode)).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 400, 404]);
    expect(await count()).toBe(before);
  });

  it('shows another organization none of the shares and lets it neither create nor revoke one', async () => {
    const s = await share(planId);
    const theirs = ok(await c.post('/v1/plans', other.auth, trip('Theirs')), 201);
    const before = await count();
    expect(code(await c.get(`/v1/plans/${planId}/shares`, other.auth))).toBe('404 not_found');
    expect(code(await c.del(`/v1/plans/${planId}/shares/${s.id}`, other.auth))).toBe('404 not_found');
    expect(code(await c.post(`/v1/plans/${planId}/shares`, other.auth, { shareType: 'link' }))).toBe('404 not_found');
    // nor reach this organization's share through a plan of its own
    expect(code(await c.del(`/v1/plans/${theirs.id}/shares/${s.id}`, other.auth))).toBe('404 not_found');
    expect(await count()).toBe(before);
    ok(await open(s.token));
  });

  it('needs plans:write to share and a login to list', async () => {
    const viewer = await joinAs(t, owner, 'viewer');
    expect(code(await c.post(`/v1/plans/${planId}/shares`, viewer.auth, { shareType: 'link' }))).toBe('403 forbidden');
    expect(ok(await c.get(`/v1/plans/${planId}/shares`, viewer.auth)).data.length).toBeGreaterThan(0);
    expect((await t.app.inject({ method: 'GET', url: `/v1/plans/${planId}/shares` })).statusCode).toBe(401);
  });
});
