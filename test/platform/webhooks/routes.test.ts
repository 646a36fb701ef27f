import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../../src/jobs/index.js';
import { auditRows, client, joinAs, ok, type Auth } from '../../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../../helpers/app.js';
import { until } from '../../helpers/until.js';
import { startReceiver, type Receiver } from './receiver.js';

let t: TestApp;
let owner: SignedUp;
let other: SignedUp;
let member: { userId: string; auth: Auth };
let recv: Receiver;
let c: ReturnType<typeof client>;

beforeAll(async () => {
  t = await createTestApp({ AGENTBASE_WEBHOOKS_ALLOW_PRIVATE: 'true' });
  owner = await signupUser(t.app);
  other = await signupUser(t.app, { organizationName: 'Other Org' });
  member = await joinAs(t, owner, 'member');
  recv = await startReceiver();
  c = client(t);
});
afterAll(async () => {
  await recv?.close();
  await t?.close();
});

const create = async (body: Record<string, unknown> = {}, auth: Auth = owner.auth) =>
  ok(await c.post('/v1/webhooks', auth, { url: recv.url(), events: ['execution.*'], ...body }), 201);
const count = async () => (await t.db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM webhooks')).rows[0]!.n;
const code = (res: Awaited<ReturnType<typeof c.get>>) => `${res.statusCode} ${errorOf(res).code}`;

describe('webhook endpoints: CRUD', () => {
  it('creates, lists, reads, changes and deletes an endpoint, auditing each change without the secret', async () => {
    const w = await create({ description: 'ops', events: ['execution.completed', 'plan.*', 'execution.completed'] });
    expect(w).toMatchObject({
      url: recv.url(), description: 'ops', events: ['execution.completed', 'plan.*'], isActive: true, disabledReason: null,
      totalDeliveries: 0, version: 1, createdByUserId: owner.userId, previousSecretExpiresAt: null,
    });
    expect(w.secret).toMatch(/^whsec_/);
    const list = ok(await c.get('/v1/webhooks', owner.auth));
    expect(list.data.map((x: { id: string }) => x.id)).toContain(w.id);
    expect(JSON.stringify(list)).not.toContain('whsec_');
    expect(ok(await c.get(`/v1/webhooks/${w.id}`, owner.auth))).not.toHaveProperty('secret');

    const changed = ok(await c.patch(`/v1/webhooks/${w.id}`, owner.auth, { events: ['*'], description: null, version: 1 }));
    expect(changed).toMatchObject({ events: ['*'], description: null, version: 2 });
    const stale = await c.patch(`/v1/webhooks/${w.id}`, owner.auth, { events: ['plan.*'], version: 1 });
    expect(code(stale)).toBe('409 version_conflict');
    const off = ok(await c.patch(`/v1/webhooks/${w.id}`, owner.auth, { isActive: false }));
    expect(off).toMatchObject({ isActive: false, disabledReason: 'manual' });
    ok(await c.post(`/v1/webhooks/${w.id}/rotate-secret`, owner.auth));

    expect((await c.del(`/v1/webhooks/${w.id}`, owner.auth)).statusCode).toBe(204);
    expect(code(await c.get(`/v1/webhooks/${w.id}`, owner.auth))).toBe('404 not_found');
    expect(code(await c.del(`/v1/webhooks/${w.id}`, owner.auth))).toBe('404 not_found');
    expect(ok(await c.get('/v1/webhooks', owner.auth)).data.map((x: { id: string }) => x.id)).not.toContain(w.id);

    const audit = await auditRows(t, owner.orgId);
    const mine = audit.filter((a) => a.resource_id === w.id).map((a) => a.action);
    expect(mine).toEqual(expect.arrayContaining(['webhook.created', 'webhook.updated', 'webhook.secret_rotated', 'webhook.deleted']));
    expect(mine.filter((a) => a === 'webhook.updated')).toHaveLength(2);
    expect(JSON.stringify(audit.filter((a) => a.resource_id === w.id))).not.toContain(w.secret.slice(6));
  });

  it('pages the list', async () => {
    const org = await signupUser(t.app);
    for (let i = 0; i < 3; i++) await create({}, org.auth);
    const p1 = ok(await c.get('/v1/webhooks?limit=2', org.auth));
    expect(p1.data).toHaveLength(2);
    const p2 = ok(await c.get(`/v1/webhooks?limit=2&cursor=${p1.nextCursor}`, org.auth));
    expect(p2.data).toHaveLength(1);
    expect(p2.nextCursor).toBeNull();
    expect(new Set([...p1.data, ...p2.data].map((x: { id: string }) => x.id)).size).toBe(3);
  });
});

describe('webhook endpoints: bad input writes nothing', () => {
  it.each([
    ['no url', { events: ['*'] }],
    ['no events', { url: 'https://example.com/h' }],
    ['empty events', { url: 'https://example.com/h', events: [] }],
    ['an unknown event type', { url: 'https://example.com/h', events: ['execution.exploded'] }],
    ['an unknown pattern', { url: 'https://example.com/h', events: ['nothing.*'] }],
    ['a half pattern', { url: 'https://example.com/h', events: ['execution*'] }],
    ['an unknown field', { url: 'https://example.com/h', events: ['*'], secret: 'whsec_x' }],
    ['a long description', { url: 'https://example.com/h', events: ['*'], description: 'x'.repeat(501) }],
  ])('%s → 400 validation_failed', async (_what, body) => {
    const before = await count();
    const res = await c.post('/v1/webhooks', owner.auth, body);
    expect(code(res)).toBe('400 validation_failed');
    expect(await count()).toBe(before);
  });

  it.each([
    ['not a URL', 'example.com/hook'],
    ['ftp', 'ftp://example.com/hook'],
    ['credentials', 'https://user:pw@example.com/hook'],
    ['a fragment', 'https://example.com/hook#x'],
  ])('a url that is %s → 400 bad_request naming url', async (_what, url) => {
    const before = await count();
    const res = await c.post('/v1/webhooks', owner.auth, { url, events: ['*'] });
    expect(code(res)).toBe('400 bad_request');
    expect(errorOf(res).details).toMatchObject({ field: 'url' });
    expect(await count()).toBe(before);
  });

  it('refuses bad ids, empty and bad patches, and unknown deliveries or events', async () => {
    const w = await create();
    expect(code(await c.get('/v1/webhooks/not-a-uuid', owner.auth))).toBe('400 validation_failed');
    expect(code(await c.patch(`/v1/webhooks/${w.id}`, owner.auth, {}))).toBe('400 validation_failed');
    expect(code(await c.patch(`/v1/webhooks/${w.id}`, owner.auth, { version: 1 }))).toBe('400 validation_failed');
    expect(code(await c.patch(`/v1/webhooks/${w.id}`, owner.auth, { events: ['bogus'] }))).toBe('400 validation_failed');
    expect(code(await c.patch(`/v1/webhooks/${w.id}`, owner.auth, { url: 'gopher://x' }))).toBe('400 bad_request');
    expect(code(await c.get(`/v1/webhooks/${w.id}/deliveries?status=maybe`, owner.auth))).toBe('400 validation_failed');
    expect(code(await c.get(`/v1/webhooks/${w.id}/deliveries?cursor=zzz`, owner.auth))).toBe('400 bad_request');
    const unknown = '0190f5a0-0000-7000-8000-0000000000ff';
    expect(code(await c.post(`/v1/webhooks/${w.id}/deliveries/${unknown}/redeliver`, owner.auth))).toBe('404 not_found');
    expect(code(await c.post(`/v1/webhooks/${w.id}/events/${unknown}/redeliver`, owner.auth))).toBe('404 not_found');
    expect(code(await c.post(`/v1/webhooks/${w.id}/events/00000000-0000-4000-8000-000000000000/redeliver`, owner.auth))).toBe('404 not_found');
    expect(ok(await c.get(`/v1/webhooks/${w.id}`, owner.auth)).version).toBe(1);
    const jobs = await t.db.admin.query(`SELECT 1 FROM background_jobs WHERE task = 'webhook.deliver' AND payload->>'webhookId' = $1`, [w.id]);
    expect(jobs.rows).toHaveLength(0);
  });
});

describe('webhook endpoints: tenants and permissions', () => {
  it('another organization sees none of them and can change none (404)', async () => {
    const w = await create();
    ok(await c.post(`/v1/webhooks/${w.id}/test`, owner.auth), 202);
    expect(ok(await c.get('/v1/webhooks', other.auth)).data).toEqual([]);
    for (const res of [
      await c.get(`/v1/webhooks/${w.id}`, other.auth),
      await c.patch(`/v1/webhooks/${w.id}`, other.auth, { isActive: false }),
      await c.del(`/v1/webhooks/${w.id}`, other.auth),
      await c.post(`/v1/webhooks/${w.id}/rotate-secret`, other.auth),
      await c.post(`/v1/webhooks/${w.id}/test`, other.auth),
      await c.get(`/v1/webhooks/${w.id}/deliveries`, other.auth),
    ]) expect(code(res)).toBe('404 not_found');
    const ev = await t.db.admin.query<{ id: string }>(`SELECT id FROM webhook_events WHERE org_id = $1 LIMIT 1`, [owner.orgId]);
    expect(code(await c.post(`/v1/webhooks/${w.id}/events/${ev.rows[0]!.id}/redeliver`, other.auth))).toBe('404 not_found');
    // nor redeliver another org's event through an endpoint of its own
    const mine = await create({}, other.auth);
    expect(code(await c.post(`/v1/webhooks/${mine.id}/events/${ev.rows[0]!.id}/redeliver`, other.auth))).toBe('404 not_found');
    expect(ok(await c.get(`/v1/webhooks/${w.id}`, owner.auth))).toMatchObject({ isActive: true, version: 1 });
  });

  it('needs webhooks:read / webhooks:write, which members lack and admins hold', async () => {
    const w = await create();
    expect(code(await c.get('/v1/webhooks', member.auth))).toBe('403 forbidden');
    expect(code(await c.get('/v1/webhooks/event-types', member.auth))).toBe('403 forbidden');
    expect(code(await c.post('/v1/webhooks', member.auth, { url: recv.url(), events: ['*'] }))).toBe('403 forbidden');
    expect(code(await c.post(`/v1/webhooks/${w.id}/test`, member.auth))).toBe('403 forbidden');
    const admin = await joinAs(t, owner, 'admin');
    ok(await c.get('/v1/webhooks', admin.auth));
    await create({}, admin.auth);
  });
});

describe('outbound safety without AGENTBASE_WEBHOOKS_ALLOW_PRIVATE', () => {
  let s: TestApp;
  let o: SignedUp;
  let worker: Worker;
  beforeAll(async () => {
    s = await createTestApp();
    o = await signupUser(s.app);
    worker = new Worker({ db: s.db, handlers: s.service.jobHandlers, pollIntervalMs: 20, prefetch: 0 });
    worker.start();
  });
  afterAll(async () => {
    await worker?.stop({ timeoutMs: 5000 });
    await s?.close();
  });

  it.each(['127.0.0.1', '10.1.2.3', '169.254.169.254', '[::1]', '192.168.1.1', '[::ffff:127.0.0.1]'])(
    'refuses a literal %s at create time', async (host) => {
      const res = await client(s).post('/v1/webhooks', o.auth, { url: `http://${host}:${recv.port}/hook`, events: ['*'] });
      expect(code(res)).toBe('400 bad_request');
      expect(errorOf(res).message).toContain('AGENTBASE_WEBHOOKS_ALLOW_PRIVATE');
    },
  );

  it('refuses at delivery a name that resolves to a loopback address (checked against the resolved address)', async () => {
    const w = ok(await client(s).post('/v1/webhooks', o.auth, { url: `http://localhost:${recv.port}/by-name`, events: ['*'] }), 201);
    ok(await client(s).post(`/v1/webhooks/${w.id}/test`, o.auth), 202);
    const d = await until(async () => ok(await client(s).get(`/v1/webhooks/${w.id}/deliveries`, o.auth)).data[0], 'the refused attempt');
    ok(await client(s).patch(`/v1/webhooks/${w.id}`, o.auth, { isActive: false }));
    expect(d).toMatchObject({ status: 'failed', responseStatusCode: null, attemptNumber: 1 });
    expect(d.error).toMatch(/loopback/);
    expect(recv.received.filter((r) => r.path === '/by-name')).toHaveLength(0);
  });
});
