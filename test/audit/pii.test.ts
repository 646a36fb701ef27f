import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/index.js';
import { chainHash } from '../../src/audit/chain.js';
import { createTestApp, signupUser, uniqueEmail, type SignedUp, type TestApp } from '../helpers/app.js';

/**
 * Personal data stays out of the hash chain (migration 0028): the chained row
 * keeps a digest, audit_pii keeps the data. Rows written before 0028 (the
 * person in the chained content, no digest) still verify.
 */

let t: TestApp;
let u: SignedUp;
beforeAll(async () => {
  t = await createTestApp();
  u = await signupUser(t.app);
});
afterAll(async () => t?.close());

describe('personal data and the audit chain', () => {
  it('keeps the actor, IP, user agent and emails out of the chained row and shows them to readers', async () => {
    const email = uniqueEmail('invitee');
    const inv = await t.app.inject({
      method: 'POST', url: '/v1/invitations', headers: { ...u.auth, 'user-agent': 'pii-test/1.0' }, payload: { email, role: 'viewer' },
    });
    expect(inv.statusCode).toBe(201);
    const chained = await t.db.admin.query<{ user_id: string | null; ip: string | null; user_agent: string | null; session_id: string | null; nv: string; pii_digest: string | null }>(
      `SELECT user_id, host(ip_address) AS ip, user_agent, session_id, new_values::text AS nv, pii_digest FROM audit_logs
       WHERE org_id = $1 AND action = 'invitation.created'`,
      [u.orgId],
    );
    expect(chained.rows).toHaveLength(1);
    const row = chained.rows[0]!;
    expect(row).toMatchObject({ user_id: null, ip: null, user_agent: null, session_id: null });
    expect(row.pii_digest).toMatch(/^[0-9a-f]{64}$/);
    expect(row.nv).not.toContain(email);
    expect(row.nv).not.toContain(u.userId);
    expect(row.nv).toContain('[personal]');

    const list = await t.app.inject({ method: 'GET', url: '/v1/audit?action=invitation.created', headers: u.auth });
    expect(list.json().data[0]).toMatchObject({ userId: u.userId, userAgent: 'pii-test/1.0', ipAddress: '127.0.0.1', newValues: { email } });
    const filtered = await t.app.inject({ method: 'GET', url: `/v1/audit?userId=${u.userId}`, headers: u.auth });
    expect(filtered.json().data.length).toBeGreaterThan(1);
    expect(await verifyChain(t.db, u.orgId)).toMatchObject({ ok: true });
  });

  it('reports personal data changed beside the row, and verifies once it is erased', async () => {
    const victim = await t.db.admin.query<{ audit_id: string; seq: number }>(
      `SELECT p.audit_id, a.seq::int AS seq FROM audit_pii p JOIN audit_logs a ON a.id = p.audit_id WHERE p.org_id = $1 ORDER BY a.seq LIMIT 1`,
      [u.orgId],
    );
    const { audit_id: id, seq } = victim.rows[0]!;
    await t.db.admin.query(`UPDATE audit_pii SET data = jsonb_set(data, '{ipAddress}', '"10.9.9.9"') WHERE audit_id = $1`, [id]);
    const r = await verifyChain(t.db, u.orgId);
    expect(r).toMatchObject({ ok: false, firstBreak: { seq, reason: 'pii_mismatch' } });
    await t.db.admin.query(`DELETE FROM audit_pii WHERE audit_id = $1`, [id]);
    expect(await verifyChain(t.db, u.orgId)).toMatchObject({ ok: true, firstBreak: null });
  });

  it('still verifies a row written before 0028, with the person inside the chained content', async () => {
    // Append one row the way the pre-0028 writer did, as the owner (appending is allowed; only changes are not).
    await t.db.admin.transaction(async (sql) => {
      const head = await sql.query<{ seq: string; last_hash: string }>(
        `UPDATE audit_chain_heads SET seq = seq + 1 WHERE org_id = $1 RETURNING seq::text, last_hash`, [u.orgId],
      );
      const { seq, last_hash: prev } = head.rows[0]!;
      const content = {
        id: randomUUID(), orgId: u.orgId, seq: Number(seq), actorType: 'user', userId: u.userId, apiKeyId: null, sessionId: null,
        agentId: null, action: 'legacy.row', resourceType: 'user', resourceId: u.userId, oldValues: null,
        newValues: { email: u.email }, ipAddress: '192.0.2.1', userAgent: 'old-writer/0.1', requestId: null, createdAt: new Date(),
      };
      const hash = chainHash(prev, content);
      await sql.query(
        `INSERT INTO audit_logs (id, org_id, seq, actor_type, user_id, action, resource_type, resource_id, new_values, ip_address, user_agent, prev_hash, hash, created_at)
         VALUES ($1, $2, $3, 'user', $4::uuid, 'legacy.row', 'user', $5, $6::jsonb, '192.0.2.1', 'old-writer/0.1', $7, $8, $9)`,
        [content.id, u.orgId, content.seq, u.userId, u.userId, JSON.stringify(content.newValues), prev, hash, content.createdAt.toISOString()],
      );
      await sql.query(`UPDATE audit_chain_heads SET last_hash = $2 WHERE org_id = $1`, [u.orgId, hash]);
    });
    expect(await verifyChain(t.db, u.orgId)).toMatchObject({ ok: true, firstBreak: null });
    // and the next row (new format) chains on from it
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: u.auth, payload: { name: 'after-legacy', scopes: ['*'] } });
    expect(res.statusCode).toBe(201);
    expect(await verifyChain(t.db, u.orgId)).toMatchObject({ ok: true, firstBreak: null });
  });
});
