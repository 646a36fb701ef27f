import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyIn } from '../../src/notifications/index.js';
import { joinAs } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { createKey, bearer } from '../helpers/identity.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let colleague: { userId: string; auth: { authorization: string } };

const get = (url: string, auth = a.auth) => t.app.inject({ method: 'GET', url, headers: auth });
const post = (url: string, auth = a.auth) => t.app.inject({ method: 'POST', url, headers: auth });
const titles = (res: { json(): { data: Array<{ title: string }> } }) => res.json().data.map((n) => n.title);

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  colleague = await joinAs(t, a, 'viewer');
  // Created the way modules create them: inside a tenant transaction, one row per recipient.
  const base = Date.now() - 60_000;
  for (let i = 1; i <= 5; i++) {
    await t.db.tenant(a.orgId, (sql) => notifyIn(sql, a.orgId, [
      { userId: a.userId, kind: 'workflow.approval', title: `n${i}`, body: `body ${i}`, data: { i }, resourceType: 'workflow_execution', resourceId: '00000000-0000-4000-8000-00000000000' + i },
      { userId: colleague.userId, kind: 'workflow.approval', title: `colleague n${i}` },
    ], new Date(base + i * 1000)));
  }
  await t.db.tenant(b.orgId, (sql) => notifyIn(sql, b.orgId, [{ userId: b.userId, kind: 'workflow.failed', title: 'other org' }]));
});
afterAll(async () => t?.close());

describe('GET /v1/notifications', () => {
  it("lists the caller's own, newest first, and pages with the cursor", async () => {
    const res = await get('/v1/notifications');
    expect(res.statusCode, res.body).toBe(200);
    expect(titles(res)).toEqual(['n5', 'n4', 'n3', 'n2', 'n1']);
    expect(res.json().data[0]).toMatchObject({
      kind: 'workflow.approval', body: 'body 5', data: { i: 5 }, resourceType: 'workflow_execution', readAt: null, createdAt: expect.any(String),
    });
    const seen: string[] = [];
    let url = '/v1/notifications?limit=2';
    for (;;) {
      const page = await get(url);
      seen.push(...titles(page));
      if (!page.json().nextCursor) break;
      url = `/v1/notifications?limit=2&cursor=${page.json().nextCursor}`;
    }
    expect(seen).toEqual(['n5', 'n4', 'n3', 'n2', 'n1']);
    expect(titles(await get('/v1/notifications', colleague.auth))).toEqual(['colleague n5', 'colleague n4', 'colleague n3', 'colleague n2', 'colleague n1']);
    expect(titles(await get('/v1/notifications', b.auth))).toEqual(['other org']);
  });

  it('marks one read (only the owner may), then all; unread=true lists what is left', async () => {
    const [n5, n4] = (await get('/v1/notifications')).json().data;
    expect((await post(`/v1/notifications/${n5.id}/read`, colleague.auth)).statusCode).toBe(404);
    expect((await post(`/v1/notifications/${n5.id}/read`, b.auth)).statusCode).toBe(404);
    const read = await post(`/v1/notifications/${n5.id}/read`);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toMatchObject({ id: n5.id, readAt: expect.any(String) });
    // Reading again keeps the first read time.
    expect((await post(`/v1/notifications/${n5.id}/read`)).json().readAt).toBe(read.json().readAt);
    expect(titles(await get('/v1/notifications?unread=true'))).toEqual(['n4', 'n3', 'n2', 'n1']);
    expect(titles(await get('/v1/notifications?unread=false'))).toHaveLength(5);
    const page = await get('/v1/notifications?unread=true&limit=3');
    expect(titles(await get(`/v1/notifications?unread=true&limit=3&cursor=${page.json().nextCursor}`))).toEqual(['n1']);

    const all = await post('/v1/notifications/read-all');
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({ updated: 4 });
    expect((await post('/v1/notifications/read-all')).json()).toEqual({ updated: 0 });
    expect(titles(await get('/v1/notifications?unread=true'))).toEqual([]);
    expect((await get('/v1/notifications')).json().data.find((n: { id: string }) => n.id === n4.id).readAt).not.toBeNull();
    // Nobody else's changed.
    expect(titles(await get('/v1/notifications?unread=true', colleague.auth))).toHaveLength(5);
  });

  it('refuses API keys (403), whatever their scopes: notifications are a signed-in user\'s', async () => {
    await t.db.tenant(a.orgId, (sql) => notifyIn(sql, a.orgId, [{ userId: a.userId, kind: 'workflow.failed', title: 'fresh' }]));
    for (const scopes of [['agents:read'], ['*']]) {
      const key = bearer((await createKey(t.app, a.auth, { name: `bot ${scopes[0]}`, scopes })).key);
      const n5 = (await get('/v1/notifications')).json().data[0];
      for (const res of [
        await get('/v1/notifications', key),
        await get('/v1/notifications?limit=0', key), // refused before the query is read
        await post(`/v1/notifications/${n5.id}/read`, key),
        await post('/v1/notifications/read-all', key),
      ]) {
        expect(res.statusCode, res.body).toBe(403);
        expect(errorOf(res)).toMatchObject({ code: 'forbidden', message: 'notifications are read by a signed-in user, not with an API key' });
      }
    }
    // Nothing was marked read by the refused calls.
    expect(titles(await get('/v1/notifications?unread=true'))).toEqual(['fresh']);
  });
});

describe('bad input', () => {
  it.each(['unread=yes', 'limit=0', 'limit=101', 'cursor=nope', 'other=1'])('GET ?%s → 400', async (qs) => {
    const res = await get(`/v1/notifications?${qs}`);
    expect(res.statusCode, res.body).toBe(400);
    expect(['validation_failed', 'bad_request']).toContain(errorOf(res).code);
  });

  it('400 for a malformed id, 404 for an unknown one, 401 without a token', async () => {
    expect((await post('/v1/notifications/not-a-uuid/read')).statusCode).toBe(400);
    expect((await post('/v1/notifications/00000000-0000-4000-8000-000000000000/read')).statusCode).toBe(404);
    for (const [method, url] of [['GET', '/v1/notifications'], ['POST', '/v1/notifications/read-all'], ['POST', '/v1/notifications/00000000-0000-4000-8000-000000000000/read']]) {
      const res = await t.app.inject({ method: method as 'GET', url });
      expect(res.statusCode).toBe(401);
    }
  });
});
