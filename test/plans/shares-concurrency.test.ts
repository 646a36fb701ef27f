import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, ok, signupBuilder } from '../agents/fixtures.js';
import { createTestApp, errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { openShare } from '../../src/plans/shares/share-open-service.js';

let t: TestApp;
let owner: SignedUp;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
});
afterAll(async () => t?.close());

async function limitedShare(max: number, extra: Record<string, unknown> = {}) {
  const c = client(t);
  const p = ok(await c.post('/v1/plans', owner.auth, { kind: 'generic', title: 'Offsite', planData: { agenda: ['talks'] } }), 201);
  return ok(await c.post(`/v1/plans/${p.id}/shares`, owner.auth, { shareType: 'link', maxAccessCount: max, ...extra }), 201);
}

describe('plan shares under concurrency', () => {
  it('lets exactly maxAccessCount of 50 parallel opens through; the others get 410 share_exhausted', async () => {
    const s = await limitedShare(5);
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      t.app.inject({ method: 'GET', url: `/v1/shared/${s.token}`, remoteAddress: `10.9.0.${i}` })));
    const statuses = all.map((r) => r.statusCode);
    expect(statuses.filter((x) => x === 200)).toHaveLength(5);
    expect(statuses.filter((x) => x === 410)).toHaveLength(45);
    expect(new Set(all.filter((r) => r.statusCode === 410).map((r) => errorOf(r).code))).toEqual(new Set(['share_exhausted']));
    const row = await t.db.admin.query<{ n: number }>('SELECT access_count AS n FROM plan_shares WHERE id = $1', [s.id]);
    expect(row.rows[0]!.n).toBe(5);
  });

  it('holds the limit through the service function too (openShare, what the bench times)', async () => {
    const s = await limitedShare(3);
    const all = await Promise.allSettled(Array.from({ length: 20 }, () => openShare({ db: t.db }, s.token, { clientAddr: '10.9.1.1' })));
    expect(all.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
  });

  it('counts every wrong password of a parallel burst', async () => {
    const s = await limitedShare(100, { password: 'open sesame' });
    const all = await Promise.all(Array.from({ length: 4 }, (_, i) => t.app.inject({
      method: 'GET', url: `/v1/shared/${s.token}`, remoteAddress: '10.9.2.1', headers: { 'x-share-password': `guess ${i}` },
    })));
    expect(all.map((r) => r.statusCode)).toEqual([401, 401, 401, 401]);
    const f = await t.db.admin.query<{ failures: number }>('SELECT failures FROM plan_share_failures WHERE share_id = $1', [s.id]);
    expect(f.rows[0]!.failures).toBe(4);
    const row = await t.db.admin.query<{ n: number }>('SELECT failed_password_attempts AS n FROM plan_shares WHERE id = $1', [s.id]);
    expect(row.rows[0]!.n).toBe(4);
  });
});
