import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../../src/jobs/index.js';
import { client, ok, type Auth } from '../../agents/fixtures.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../../helpers/app.js';
import { until } from '../../helpers/until.js';
import { startReceiver, verifyStandardWebhook, type Received, type Receiver } from './receiver.js';

let t: TestApp;
let owner: SignedUp;
let recv: Receiver;
let worker: Worker;
let c: ReturnType<typeof client>;
let n = 0;

beforeAll(async () => {
  t = await createTestApp({ AGENTBASE_WEBHOOKS_ALLOW_PRIVATE: 'true', AGENTBASE_WEBHOOK_RETRY_SCHEDULE: '0,50ms,50ms,50ms' });
  owner = await signupUser(t.app);
  recv = await startReceiver();
  c = client(t);
  worker = new Worker({ db: t.db, handlers: t.service.jobHandlers, pollIntervalMs: 20, prefetch: 0, concurrency: 5 });
  worker.start();
});
afterAll(async () => {
  await worker?.stop({ timeoutMs: 5000 });
  await recv?.close();
  await t?.close();
});

/** An endpoint on its own path of the receiver, so each test reads only its requests. */
async function hook(events: string[] = ['*'], auth: Auth = owner.auth) {
  const path = `/hook-${++n}`;
  const w = ok(await c.post('/v1/webhooks', auth, { url: recv.url(path), events }), 201);
  return { id: w.id as string, secret: w.secret as string, path, got: (): Received[] => recv.received.filter((r) => r.path === path) };
}
const deliveries = async (id: string) => ok(await c.get(`/v1/webhooks/${id}/deliveries`, owner.auth)).data as Array<Record<string, unknown>>;

describe('webhook delivery', () => {
  it('delivers a signed Standard Webhooks request that an independent verifier accepts', async () => {
    const h = await hook();
    expect(h.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const key = Buffer.from(h.secret.slice(6), 'base64');
    expect(key.length).toBeGreaterThanOrEqual(24);
    expect(key.length).toBeLessThanOrEqual(64);
    const { eventId } = ok(await c.post(`/v1/webhooks/${h.id}/test`, owner.auth), 202);
    const [r] = await until(() => (h.got().length ? h.got() : null), 'the test event');
    expect(r!.headers['webhook-id']).toBe(eventId);
    expect(r!.headers['content-type']).toBe('application/json');
    expect(String(r!.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyStandardWebhook(h.secret, r!.headers, r!.body)).toBe(true);
    expect(verifyStandardWebhook(h.secret, r!.headers, r!.body.replace('test', 'tEst'))).toBe(false);
    expect(r!.json).toEqual({ type: 'webhook.test', timestamp: expect.any(String), data: { webhookId: h.id, message: expect.any(String) } });
    // the secret is never shown again, nor stored in plain text
    const got = ok(await c.get(`/v1/webhooks/${h.id}`, owner.auth));
    expect(JSON.stringify(got)).not.toContain(h.secret.slice(6));
    expect(got).not.toHaveProperty('secret');
    const stored = await t.db.admin.query<{ secret: string }>('SELECT secret FROM webhooks WHERE id = $1', [h.id]);
    expect(stored.rows[0]!.secret).not.toContain(h.secret.slice(6));

    const d = await until(async () => (await deliveries(h.id))[0], 'the delivery row');
    expect(d).toMatchObject({ eventId, eventType: 'webhook.test', status: 'success', responseStatusCode: 200, responseBody: 'ok', attemptNumber: 1, trigger: 'test' });
    expect(typeof d.durationMs).toBe('number');
    expect(ok(await c.get(`/v1/webhooks/${h.id}`, owner.auth))).toMatchObject({ totalDeliveries: 1, successfulDeliveries: 1, lastDeliveryStatus: 'success' });
  });

  it('retries after 500s on the schedule and succeeds, with one webhook-id throughout', async () => {
    const h = await hook();
    recv.respond = (r, _i) => (r.path === h.path && h.got().length <= 2 ? 500 : 200);
    ok(await c.post(`/v1/webhooks/${h.id}/test`, owner.auth), 202);
    await until(() => h.got().length >= 3, 'three attempts');
    recv.respond = () => 200;
    expect(new Set(h.got().map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of h.got()) expect(verifyStandardWebhook(h.secret, r.headers, r.body)).toBe(true);
    const rows = await until(async () => {
      const d = await deliveries(h.id);
      return d.length === 3 ? d : null;
    }, 'three delivery rows');
    expect(rows.map((d) => [d.attemptNumber, d.status, d.responseStatusCode])).toEqual([[3, 'success', 200], [2, 'failed', 500], [1, 'failed', 500]]);
    expect(rows[1]!.nextRetryAt).not.toBeNull();
    expect(rows[1]!.error).toContain('500');
    expect(ok(await c.get(`/v1/webhooks/${h.id}`, owner.auth))).toMatchObject({ totalDeliveries: 3, failedDeliveries: 2, successfulDeliveries: 1, failingSince: null, isActive: true });
    // filters
    expect((ok(await c.get(`/v1/webhooks/${h.id}/deliveries?status=failed`, owner.auth)).data as unknown[]).length).toBe(2);
  });

  it('stops after the last attempt of the schedule', async () => {
    const h = await hook();
    recv.respond = (r) => (r.path === h.path ? 503 : 200);
    ok(await c.post(`/v1/webhooks/${h.id}/test`, owner.auth), 202);
    const rows = await until(async () => {
      const d = await deliveries(h.id);
      return d.length === 4 ? d : null;
    }, 'four attempts');
    recv.respond = () => 200;
    expect(rows[0]).toMatchObject({ attemptNumber: 4, status: 'failed', nextRetryAt: null });
    const jobs = await t.db.admin.query(`SELECT 1 FROM background_jobs WHERE task = 'webhook.deliver' AND status = 'queued' AND payload->>'webhookId' = $1`, [h.id]);
    expect(jobs.rows).toHaveLength(0);
  });

  it('disables an endpoint that answers 410, tells the admins, and audits it', async () => {
    const h = await hook();
    recv.respond = (r) => (r.path === h.path ? 410 : 200);
    ok(await c.post(`/v1/webhooks/${h.id}/test`, owner.auth), 202);
    const w = await until(async () => {
      const x = ok(await c.get(`/v1/webhooks/${h.id}`, owner.auth));
      return x.isActive ? null : x;
    }, 'the endpoint disabled');
    recv.respond = () => 200;
    expect(w.disabledReason).toBe('gone');
    expect(h.got()).toHaveLength(1);
    const rows = await deliveries(h.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'failed', responseStatusCode: 410, nextRetryAt: null });
    const notes = ok(await c.get('/v1/notifications', owner.auth)).data as Array<{ kind: string; resourceId: string }>;
    expect(notes.some((x) => x.kind === 'webhook.disabled' && x.resourceId === h.id)).toBe(true);
    const audit = await t.db.admin.query(`SELECT actor_type FROM audit_logs WHERE action = 'webhook.disabled' AND resource_id = $1`, [h.id]);
    expect(audit.rows).toHaveLength(1);
    // events are no longer sent to it; enabling it again clears the reason
    const enabled = ok(await c.patch(`/v1/webhooks/${h.id}`, owner.auth, { isActive: true }));
    expect(enabled).toMatchObject({ isActive: true, disabledReason: null });
  });

  it('disables an endpoint whose attempts have all failed for 5 days, and tells the admins', async () => {
    const h = await hook();
    // It has been failing for six days (as if every attempt since had failed); one more failure decides.
    await t.db.admin.query(`UPDATE webhooks SET failing_since = now() - interval '6 days' WHERE id = $1`, [h.id]);
    recv.respond = (r) => (r.path === h.path ? 500 : 200);
    ok(await c.post(`/v1/webhooks/${h.id}/test`, owner.auth), 202);
    const w = await until(async () => {
      const x = ok(await c.get(`/v1/webhooks/${h.id}`, owner.auth));
      return x.isActive ? null : x;
    }, 'the endpoint disabled');
    recv.respond = () => 200;
    expect(w.disabledReason).toBe('failing');
    const rows = await deliveries(h.id);
    expect(rows[0]).toMatchObject({ status: 'failed', responseStatusCode: 500, nextRetryAt: null });
    const notes = ok(await c.get('/v1/notifications', owner.auth)).data as Array<{ kind: string; resourceId: string; data: { reason: string } }>;
    expect(notes.find((x) => x.kind === 'webhook.disabled' && x.resourceId === h.id)?.data.reason).toBe('failing');
  });

  it('does not follow redirects', async () => {
    const h = await hook();
    const elsewhere = `/elsewhere-${n}`;
    recv.respond = (r) => (r.path === h.path ? (res) => { res.writeHead(307, { location: recv.url(elsewhere) }); res.end(); } : 200);
    ok(await c.post(`/v1/webhooks/${h.id}/test`, owner.auth), 202);
    const d = await until(async () => (await deliveries(h.id)).at(-1), 'the first attempt');
    ok(await c.patch(`/v1/webhooks/${h.id}`, owner.auth, { isActive: false })); // stop the retries
    recv.respond = () => 200;
    expect(d).toMatchObject({ attemptNumber: 1, status: 'failed', responseStatusCode: 307 });
    expect(d.error).toContain('redirects are not followed');
    expect(recv.received.filter((r) => r.path === elsewhere)).toHaveLength(0);
  });

  it('signs with both secrets for 24 h after a rotation', async () => {
    const h = await hook();
    const rotated = ok(await c.post(`/v1/webhooks/${h.id}/rotate-secret`, owner.auth));
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(h.secret);
    expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    ok(await c.post(`/v1/webhooks/${h.id}/test`, owner.auth), 202);
    const [r] = await until(() => (h.got().length ? h.got() : null), 'the test event');
    expect(String(r!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyStandardWebhook(h.secret, r!.headers, r!.body)).toBe(true);
    expect(verifyStandardWebhook(rotated.secret, r!.headers, r!.body)).toBe(true);
    // a second rotation within the overlap would drop a secret receivers may still use
    expect(ok(await c.post(`/v1/webhooks/${h.id}/rotate-secret`, owner.auth), 409).error.code).toBe('conflict');
    const audit = await t.db.admin.query<{ new_values: unknown }>(`SELECT new_values FROM audit_logs WHERE action = 'webhook.secret_rotated' AND resource_id = $1`, [h.id]);
    expect(audit.rows).toHaveLength(1);
    expect(JSON.stringify(audit.rows[0])).not.toContain(rotated.secret.slice(6));
  });

  it('redelivers a delivery, and an event, by hand with the same webhook-id', async () => {
    const h = await hook();
    const { eventId } = ok(await c.post(`/v1/webhooks/${h.id}/test`, owner.auth), 202);
    const d = await until(async () => (await deliveries(h.id))[0], 'the first delivery');
    ok(await c.post(`/v1/webhooks/${h.id}/deliveries/${d.id}/redeliver`, owner.auth), 202);
    await until(() => h.got().length >= 2, 'the redelivery');
    ok(await c.post(`/v1/webhooks/${h.id}/events/${eventId}/redeliver`, owner.auth), 202);
    await until(() => h.got().length >= 3, 'the second redelivery');
    expect(h.got().map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId, eventId]);
    const rows = await until(async () => {
      const x = await deliveries(h.id);
      return x.length === 3 ? x : null;
    }, 'three rows');
    expect(rows.map((x) => x.trigger).sort()).toEqual(['manual', 'manual', 'test']);
    const audit = await t.db.admin.query(`SELECT 1 FROM audit_logs WHERE action = 'webhook.redelivered' AND resource_id = $1`, [h.id]);
    expect(audit.rows).toHaveLength(2);
  });

  it('sends nothing for an event type the endpoint does not subscribe to, and nothing to a disabled one', async () => {
    const sub = await hook(['plan.*']);
    const off = await hook(['*']);
    ok(await c.patch(`/v1/webhooks/${off.id}`, owner.auth, { isActive: false }));
    const before = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_events WHERE org_id = $1`, [owner.orgId]);
    // an execution.completed event: neither endpoint takes it, so no outbox row is written
    ok(await c.post('/v1/ingest/batch', owner.auth, { executions: [{ clientId: `x-${n}`, status: 'completed' }] }));
    const after = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_events WHERE org_id = $1`, [owner.orgId]);
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    expect(sub.got()).toHaveLength(0);
    expect(off.got()).toHaveLength(0);
  });
});
