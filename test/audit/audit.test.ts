import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRow as StoredAuditRow } from '../../src/audit/index.js';
import { createTestApp, errorOf, PASSWORD, signupUser, uniqueEmail, type SignedUp, type TestApp } from '../helpers/app.js';

/** Every state-changing request writes its audit rows in the same transaction; nothing else does. */

/** An audit row as the API returns it: the repository's row with its timestamp as JSON text. */
type AuditRow = Omit<StoredAuditRow, 'createdAt'> & { createdAt: string };

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

async function auditCount(orgId: string): Promise<number> {
  const r = await t.db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_logs WHERE org_id = $1', [orgId]);
  return r.rows[0]!.n;
}

async function listAll(u: SignedUp, query = ''): Promise<AuditRow[]> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/audit?limit=100${query}`, headers: u.auth });
  expect(res.statusCode).toBe(200);
  return res.json().data as AuditRow[];
}

function createKey(u: SignedUp | { authorization: string }, payload: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const auth = 'auth' in u ? u.auth : u;
  return t.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: { ...auth, ...headers },
    payload: { name: 'ci', scopes: ['*'], ...payload },
  });
}

describe('what a state-changing request writes', () => {
  it('signup writes organization.created and user.signed_up, chained from seq 1', async () => {
    const u = await signupUser(t.app);
    const rows = await listAll(u);
    expect(rows.map((r) => [r.seq, r.action])).toEqual([
      [2, 'user.signed_up'],
      [1, 'organization.created'],
    ]);
    expect(rows[1]!.prevHash).toBe('0'.repeat(64));
    expect(rows[0]!.prevHash).toBe(rows[1]!.hash);
    expect(JSON.stringify(rows)).not.toContain(PASSWORD);
  });

  it('POST /v1/api-keys writes exactly one api_key.created row carrying the request context', async () => {
    const u = await signupUser(t.app);
    const signupRows = await listAll(u);
    const before = await auditCount(u.orgId);
    const res = await createKey(u, {}, { 'x-request-id': 'audit-req-0001', 'user-agent': 'audit-test/1.0' });
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-request-id']).toBe('audit-req-0001');
    expect(await auditCount(u.orgId)).toBe(before + 1);
    const [row] = await listAll(u, '&action=api_key.created');
    expect(row).toMatchObject({
      orgId: u.orgId,
      seq: before + 1,
      actorType: 'user',
      userId: u.userId,
      apiKeyId: null,
      sessionId: signupRows[0]!.sessionId,
      resourceType: 'api_key',
      resourceId: res.json().id,
      requestId: res.headers['x-request-id'],
      ipAddress: '127.0.0.1',
      userAgent: 'audit-test/1.0',
      oldValues: null,
    });
    expect(row!.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(row!.newValues).toMatchObject({ id: res.json().id, name: 'ci', scopes: ['*'] });
    // The secret is returned once and never stored in the log.
    const text = JSON.stringify(row);
    expect(text).not.toContain(res.json().key);
    expect(text).not.toMatch(/keyHash|key_hash/);
  });

  it('a request made with an API key is attributed to that key', async () => {
    const u = await signupUser(t.app);
    const first = await createKey(u);
    const res = await createKey({ authorization: `Bearer ${first.json().key}` }, { name: 'from-key', scopes: ['audit:read'] });
    expect(res.statusCode).toBe(201);
    const rows = await listAll(u, '&action=api_key.created');
    expect(rows[0]).toMatchObject({
      actorType: 'api_key',
      apiKeyId: first.json().id,
      userId: u.userId,
      sessionId: null,
      resourceId: res.json().id,
      requestId: res.headers['x-request-id'],
    });
  });

  it('DELETE /v1/api-keys/:id writes api_key.revoked with old and new values; revoking again writes nothing', async () => {
    const u = await signupUser(t.app);
    const key = await createKey(u);
    const del = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${key.json().id}`, headers: u.auth });
    expect(del.statusCode).toBe(200);
    const [row] = await listAll(u, '&action=api_key.revoked');
    expect(row).toMatchObject({ resourceId: key.json().id, oldValues: { revokedAt: null }, newValues: { revokedAt: expect.any(String) } });
    const count = await auditCount(u.orgId);
    const again = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${key.json().id}`, headers: u.auth });
    expect(again.statusCode).toBe(200);
    expect(await auditCount(u.orgId)).toBe(count);
  });

  it('secrets in old and new values are redacted at any depth', async () => {
    const u = await signupUser(t.app);
    const org = await t.app.inject({ method: 'GET', url: '/v1/org', headers: u.auth });
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/v1/org',
      headers: u.auth,
      payload: {
        version: org.json().version,
        settings: { webhookSecret: 'ws-value-1', apiToken: 'tok-value-2', nested: { password: 'pw-value-3', region: 'eu' }, list: [{ privateKey: 'pk-value-4' }] },
      },
    });
    expect(res.statusCode).toBe(200);
    const [row] = await listAll(u, '&action=organization.updated');
    expect(row!.newValues).toMatchObject({
      settings: { webhookSecret: '[redacted]', apiToken: '[redacted]', nested: { password: '[redacted]', region: 'eu' }, list: [{ privateKey: '[redacted]' }] },
    });
    expect(row!.oldValues).toMatchObject({ settings: {} });
    const text = JSON.stringify(row);
    for (const s of ['ws-value-1', 'tok-value-2', 'pw-value-3', 'pk-value-4']) expect(text).not.toContain(s);
    // The organization itself keeps what was sent: only the log is redacted.
    const now = await t.app.inject({ method: 'GET', url: '/v1/org', headers: u.auth });
    expect(now.json().settings.webhookSecret).toBe('ws-value-1');
  });
});

describe('a failed request writes no audit row', () => {
  it('400: unknown scope on POST /v1/api-keys leaves no key and no row', async () => {
    const u = await signupUser(t.app);
    const before = await auditCount(u.orgId);
    const res = await createKey(u, { scopes: ['nope:nope'] });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('bad_request');
    expect(await auditCount(u.orgId)).toBe(before);
    const keys = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: u.auth });
    expect(keys.json().data).toEqual([]);
  });

  it('409: a stale version on PATCH /v1/org changes nothing and writes no row', async () => {
    const u = await signupUser(t.app);
    const before = await auditCount(u.orgId);
    const res = await t.app.inject({ method: 'PATCH', url: '/v1/org', headers: u.auth, payload: { version: 99, name: 'Renamed' } });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('version_conflict');
    expect(await auditCount(u.orgId)).toBe(before);
    const org = await t.app.inject({ method: 'GET', url: '/v1/org', headers: u.auth });
    expect(org.json().name).toBe('Acme Travel');
  });

  it('409: a duplicate role name rolls back the role insert and its audit row together', async () => {
    const u = await signupUser(t.app);
    const ok = await t.app.inject({ method: 'POST', url: '/v1/roles', headers: u.auth, payload: { name: 'ops', permissions: ['orgs:read'] } });
    expect(ok.statusCode).toBe(201);
    const before = await auditCount(u.orgId);
    const dup = await t.app.inject({ method: 'POST', url: '/v1/roles', headers: u.auth, payload: { name: 'ops', permissions: ['orgs:read'] } });
    expect(dup.statusCode).toBe(409);
    expect(errorOf(dup).code).toBe('conflict');
    expect(await auditCount(u.orgId)).toBe(before);
    expect((await listAll(u, '&action=role.created')).length).toBe(1);
  });

  it('403: a forbidden request writes no row', async () => {
    const u = await signupUser(t.app);
    const key = await createKey(u, { scopes: ['audit:read'] });
    const before = await auditCount(u.orgId);
    const res = await createKey({ authorization: `Bearer ${key.json().key}` });
    expect(res.statusCode).toBe(403);
    expect(await auditCount(u.orgId)).toBe(before);
  });
});

describe('GET /v1/audit: filters and pagination', () => {
  let owner: SignedUp;
  let memberId: string;
  let memberAuth: { authorization: string };
  let all: AuditRow[];

  beforeAll(async () => {
    owner = await signupUser(t.app);
    const inv = await t.app.inject({ method: 'POST', url: '/v1/invitations', headers: owner.auth, payload: { email: uniqueEmail('m'), role: 'member' } });
    expect(inv.statusCode).toBe(201);
    const acc = await t.app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', payload: { token: inv.json().token, password: PASSWORD } });
    expect(acc.statusCode).toBe(201);
    memberId = acc.json().userId;
    memberAuth = { authorization: `Bearer ${acc.json().tokens.accessToken}` };
    for (let i = 0; i < 3; i++) expect((await createKey(owner, { name: `owner-${i}` })).statusCode).toBe(201);
    for (let i = 0; i < 2; i++) expect((await createKey(memberAuth, { name: `member-${i}`, scopes: ['agents:read'] })).statusCode).toBe(201);
    all = await listAll(owner);
  });

  it('lists newest first with no gaps in seq', async () => {
    expect(all.length).toBe(9); // 2 signup + invitation + join + 5 keys
    expect(all.map((r) => r.seq)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('filters by action, resourceType and userId', async () => {
    const created = await listAll(owner, '&action=api_key.created');
    expect(created.map((r) => r.seq)).toEqual(all.filter((r) => r.action === 'api_key.created').map((r) => r.seq));
    expect(created).toHaveLength(5);
    const inv = await listAll(owner, '&resourceType=invitation');
    expect(inv.map((r) => r.action)).toEqual(['invitation.created']);
    const byMember = await listAll(owner, `&userId=${memberId}`);
    expect(byMember.map((r) => r.action).sort()).toEqual(['api_key.created', 'api_key.created', 'member.joined']);
    expect(byMember.every((r) => r.userId === memberId)).toBe(true);
    expect(await listAll(owner, `&userId=${randomUUID()}`)).toEqual([]);
    const combined = await listAll(owner, `&userId=${memberId}&action=member.joined`);
    expect(combined.map((r) => r.resourceId)).toEqual([memberId]);
  });

  it('filters by from (inclusive) and to (exclusive)', async () => {
    const asc = [...all].reverse();
    const from = asc[2]!.createdAt;
    const to = asc[6]!.createdAt;
    const expected = all.filter((r) => r.createdAt >= from && r.createdAt < to).map((r) => r.id);
    const got = await listAll(owner, `&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    expect(got.map((r) => r.id)).toEqual(expected);
    expect(got.length).toBeGreaterThan(0);
    expect(await listAll(owner, `&from=${encodeURIComponent('2999-01-01T00:00:00Z')}`)).toEqual([]);
    expect(await listAll(owner, `&to=${encodeURIComponent('2000-01-01T00:00:00+02:00')}`)).toEqual([]);
  });

  it('pages with limit=2 across every row without duplicates or gaps', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await t.app.inject({ method: 'GET', url, headers: owner.auth });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { data: AuditRow[]; nextCursor: string | null };
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data.map((r) => r.seq));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor && pages < 20);
    expect(pages).toBe(5);
    expect(seen).toEqual(all.map((r) => r.seq));
  });

  it('pages combine with a filter', async () => {
    const first = await t.app.inject({ method: 'GET', url: '/v1/audit?limit=2&action=api_key.created', headers: owner.auth });
    const second = await t.app.inject({
      method: 'GET',
      url: `/v1/audit?limit=2&action=api_key.created&cursor=${first.json().nextCursor}`,
      headers: owner.auth,
    });
    const seqs = [...first.json().data, ...second.json().data].map((r: AuditRow) => r.seq);
    expect(seqs).toEqual(all.filter((r) => r.action === 'api_key.created').slice(0, 4).map((r) => r.seq));
  });

  it('another organization sees none of these rows', async () => {
    const other = await signupUser(t.app);
    const rows = await listAll(other);
    expect(rows.every((r) => r.orgId === other.orgId)).toBe(true);
    expect(rows).toHaveLength(2);
  });

  it.each([
    ['userId=not-a-uuid', 'validation_failed'],
    ['limit=101', 'validation_failed'],
    ['limit=0', 'validation_failed'],
    ['from=yesterday', 'validation_failed'],
    ['from=2024-01-02T00:00:00Z&to=2024-01-01T00:00:00Z', 'bad_request'],
    ['from=2024-01-01T00:00:00Z&to=2024-01-01T00:00:00Z', 'bad_request'],
    ['cursor=not-a-cursor', 'bad_request'],
    ['unknown=1', 'validation_failed'],
  ])('GET /v1/audit?%s → 400 %s', async (q, code) => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/audit?${q}`, headers: owner.auth });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe(code);
  });

  it('needs audit:read: an API key without it gets 403', async () => {
    const key = await createKey(owner, { scopes: ['orgs:read'] });
    const res = await t.app.inject({ method: 'GET', url: '/v1/audit', headers: { authorization: `Bearer ${key.json().key}` } });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('forbidden');
    const anon = await t.app.inject({ method: 'GET', url: '/v1/audit/verify' });
    expect(anon.statusCode).toBe(401);
  });
});

describe('concurrent writers never fork the chain', () => {
  it('30 concurrent POST /v1/api-keys produce seq 1..N with no duplicates and a verified chain', async () => {
    const u = await signupUser(t.app);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => createKey(u, { name: `c-${i}` })));
    expect(results.map((r) => r.statusCode)).toEqual(Array(30).fill(201));
    const total = await auditCount(u.orgId);
    expect(total).toBe(32);
    const seqs = await t.db.admin.query<{ seq: number }>('SELECT seq FROM audit_logs WHERE org_id = $1 ORDER BY seq', [u.orgId]);
    expect(seqs.rows.map((r) => r.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const head = await t.db.admin.query('SELECT seq FROM audit_chain_heads WHERE org_id = $1', [u.orgId]);
    expect(head.rows).toEqual([{ seq: total }]);
    const verify = await t.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: u.auth });
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toEqual({ orgId: u.orgId, ok: true, rowsChecked: total, lastSeq: total, firstBreak: null });
  });
});
