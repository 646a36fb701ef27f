import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  grantPlatformAdmin, isPlatformAdmin, listPlatformAdmins, requirePlatformAdmin, revokePlatformAdmin, verifyPlatformAudit,
} from '../../../src/platform/index.js';
import { client } from '../../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type TestApp } from '../../helpers/app.js';

/** Platform administrators: the grant functions the CLI runs, the check, the staff-route hook and the platform audit chain. */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const platformRows = async () =>
  (await t.db.admin.query<{ seq: string; action: string; actor: string; resource_id: string; details: Record<string, unknown> }>(
    'SELECT seq, action, actor, resource_id, details FROM platform_audit ORDER BY seq',
  )).rows;

describe('grant, revoke, list', () => {
  it('grants by email (case-insensitive), idempotently, with one audit row', async () => {
    const u = await signupUser(t.app);
    expect(await isPlatformAdmin(t.db, u.userId)).toBe(false);
    const g = await grantPlatformAdmin(t.db, { email: u.email.toUpperCase(), by: 'alice', note: 'on call' });
    expect(g).toEqual({ userId: u.userId, email: u.email, granted: true });
    expect(await isPlatformAdmin(t.db, u.userId)).toBe(true);
    expect((await grantPlatformAdmin(t.db, { email: u.email, by: 'bob' })).granted).toBe(false);
    const list = await listPlatformAdmins(t.db);
    expect(list).toEqual([expect.objectContaining({ userId: u.userId, email: u.email, grantedBy: 'alice', note: 'on call' })]);
    const rows = await platformRows();
    expect(rows.map((r) => [r.action, r.actor, r.resource_id])).toEqual([['platform_admin.granted', 'cli:alice', u.userId]]);
    expect(rows[0]!.details).toEqual({ email: u.email, note: 'on call' });

    await revokePlatformAdmin(t.db, { email: u.email, by: 'carol' });
    expect(await isPlatformAdmin(t.db, u.userId)).toBe(false);
    expect(await listPlatformAdmins(t.db)).toEqual([]);
    expect((await platformRows()).map((r) => r.action)).toEqual(['platform_admin.granted', 'platform_admin.revoked']);
    expect(await verifyPlatformAudit(t.db)).toBeUndefined();
  });

  it('an unknown email, a bad email and revoking a non-admin are refused, with nothing written', async () => {
    const before = (await platformRows()).length;
    await expect(grantPlatformAdmin(t.db, { email: 'nobody@example.com', by: 'x' })).rejects.toMatchObject({ status: 404, message: 'user with email nobody@example.com does not exist' });
    await expect(grantPlatformAdmin(t.db, { email: 'not an email', by: 'x' })).rejects.toMatchObject({ status: 400 });
    const u = await signupUser(t.app);
    await expect(revokePlatformAdmin(t.db, { email: u.email, by: 'x' })).rejects.toMatchObject({ status: 404, message: `${u.email} is not a platform administrator` });
    expect((await platformRows()).length).toBe(before);
  });

  it('platform_audit is append-only, for the owner too', async () => {
    await expect(t.db.admin.query(`UPDATE platform_audit SET actor = 'forged'`)).rejects.toThrow(/append-only/);
    await expect(t.db.admin.query('DELETE FROM platform_audit')).rejects.toThrow(/append-only/);
    expect(await verifyPlatformAudit(t.db)).toBeUndefined();
  });

  it('the verifier names the first row whose hash does not hold', async () => {
    // Break the chain the only way the trigger allows: disable it (as the owner, like an attacker with the database).
    await t.db.admin.query('ALTER TABLE platform_audit DISABLE TRIGGER platform_audit_append_only');
    try {
      await t.db.admin.query(`UPDATE platform_audit SET actor = 'cli:mallory' WHERE seq = 1`);
      expect(await verifyPlatformAudit(t.db)).toBe(1);
      await t.db.admin.query(`UPDATE platform_audit SET actor = 'cli:alice' WHERE seq = 1`);
      expect(await verifyPlatformAudit(t.db)).toBeUndefined();
    } finally {
      await t.db.admin.query('ALTER TABLE platform_audit ENABLE TRIGGER platform_audit_append_only');
    }
  });
});

describe('requirePlatformAdmin: a hook later ops endpoints can use', () => {
  it('answers 403 platform_admin_required to everyone but a platform admin, org owners included', async () => {
    // A staff route registered the way an ops endpoint would be, on the real app's authentication.
    const owner = await signupUser(t.app);
    const staff = await signupUser(t.app);
    await grantPlatformAdmin(t.db, { email: staff.email, by: 'test' });
    const app = Fastify();
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (req) => {
      const id = req.headers['x-user'];
      (req as unknown as { principal: unknown }).principal = id ? { kind: 'user', userId: id, orgId: owner.orgId, sessionId: null, apiKeyId: null, scopes: null } : null;
    });
    app.get('/ops', { onRequest: requirePlatformAdmin(t.db) }, async () => ({ ok: true }));
    app.setErrorHandler((err: { status?: number; code?: string }, _req, reply) => reply.status(err.status ?? 500).send({ code: err.code }));
    expect((await app.inject({ url: '/ops', headers: { 'x-user': staff.userId } })).json()).toEqual({ ok: true });
    const denied = await app.inject({ url: '/ops', headers: { 'x-user': owner.userId } });
    expect([denied.statusCode, denied.json().code]).toEqual([403, 'platform_admin_required']);
    await app.close();
  });

  it('on the real app: the admin queue is 403 for an org owner and 200 for a platform admin', async () => {
    const c = client(t);
    const owner = await signupUser(t.app);
    const res = await c.get('/v1/admin/marketplace/listings', owner.auth);
    expect([res.statusCode, errorOf(res).code]).toEqual([403, 'platform_admin_required']);
    await grantPlatformAdmin(t.db, { email: owner.email, by: 'test' });
    expect((await c.get('/v1/admin/marketplace/listings', owner.auth)).statusCode).toBe(200);
    await revokePlatformAdmin(t.db, { email: owner.email, by: 'test' });
    expect((await c.get('/v1/admin/marketplace/listings', owner.auth)).statusCode).toBe(403);
  });
});
