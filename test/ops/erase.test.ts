import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../src/identity/index.js';
import { createTestApp, errorOf, PASSWORD, signupUser, uniqueEmail, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

type Auth = { authorization: string };
const inject = (method: 'GET' | 'POST' | 'DELETE' | 'PUT', url: string, headers: Auth | Record<string, string>, payload?: object) =>
  t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
async function ok(method: 'GET' | 'POST' | 'DELETE' | 'PUT', url: string, headers: Auth, payload?: object, status = [200, 201]) {
  const res = await inject(method, url, headers, payload);
  expect(status, `${method} ${url}: ${res.body}`).toContain(res.statusCode);
  return res.json();
}

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

/** Rows in most corners of an organization: keys, invitations, agents, runs, memories, plans and share links. */
async function seedOrg(u: SignedUp, tag: string): Promise<void> {
  const key = await ok('POST', '/v1/api-keys', u.auth, { name: `ci-${tag}`, scopes: ['*'] });
  await ok('GET', '/v1/me', { authorization: `Bearer ${key.key}` });
  await ok('POST', '/v1/invitations', u.auth, { email: uniqueEmail(`inv-${tag}`), role: 'viewer' });
  await ok('POST', '/v1/agents', u.auth, { name: `bot-${tag}` });
  const e = `exec-${tag}`;
  const ingested = await ok('POST', '/v1/ingest/batch', u.auth, {
    executions: [{ clientId: e, agentSlug: `bot-${tag}`, status: 'completed', startedAt: ago(60_000), input: { q: `trip of ${u.email}` } }],
    spans: [{ clientId: `span-${tag}`, executionClientId: e, kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai', promptTokens: 10, completionTokens: 10, startedAt: ago(50_000) }],
    decisions: [{ clientId: `dec-${tag}`, executionClientId: e, decidedAt: ago(40_000), decisionType: 'idea_generation', reasoningChain: [{ step: 1 }], confidence: 0.8 }],
    messages: [{ clientId: `msg-${tag}`, executionClientId: e, messageType: 'request', messageData: { hello: 1 }, sentAt: ago(30_000), priority: 3 }],
  });
  expect(ingested, JSON.stringify(ingested)).toMatchObject({ accepted: 4, rejected: 0 });
  await ok('POST', `/v1/agents/bot-${tag}/memories`, u.auth, { content: `likes jazz (${tag})` });
  const plan = await ok('POST', '/v1/plans', u.auth, { kind: 'generic', title: `Plan ${tag}` });
  await ok('POST', `/v1/plans/${plan.id}/shares`, u.auth, { shareType: 'link' });
}

/** Every table, every text-like column (text, varchar, uuid, jsonb, inet, arrays) cast to text: where a needle still appears. */
async function scan(needles: string[], except: (table: string) => boolean = () => false): Promise<string[]> {
  const cols = await t.db.admin.query<{ tbl: string; col: string }>(
    `SELECT c.relname AS tbl, a.attname AS col FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     JOIN pg_type ty ON ty.oid = a.atttypid
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ty.typcategory IN ('S', 'U', 'A', 'I')
     ORDER BY 1, 2`,
  );
  expect(cols.rows.length).toBeGreaterThan(300);
  const hits: string[] = [];
  for (const { tbl, col } of cols.rows) {
    if (except(tbl)) continue;
    for (const needle of needles) {
      const r = await t.db.admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${tbl}" WHERE strpos(lower("${col}"::text), $1) > 0`,
        [needle.toLowerCase()],
      );
      if (r.rows[0]!.n > 0) hits.push(`${tbl}.${col} (${r.rows[0]!.n})`);
    }
  }
  return hits;
}

/** Row counts of every org_id table for one organization, as the owner sees them. */
async function orgFootprint(orgId: string): Promise<Record<string, number>> {
  const tables = await t.db.admin.query<{ t: string }>(
    `SELECT c.relname AS t FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id'
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relnamespace = current_schema()::regnamespace ORDER BY 1`,
  );
  const out: Record<string, number> = {};
  for (const { t: table } of tables.rows) {
    const r = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}" WHERE org_id = $1`, [orgId]);
    if (r.rows[0]!.n > 0) out[table] = r.rows[0]!.n;
  }
  return out;
}

async function enableMfa(u: SignedUp): Promise<string> {
  const e = await ok('POST', '/v1/me/mfa/totp', u.auth, { name: 'Phone' });
  await ok('POST', '/v1/me/mfa/totp/confirm', u.auth, { deviceId: e.deviceId, code: totpCode(e.secret) });
  return e.secret;
}
// The confirming step's code is used up; the next step's is accepted (one step of drift).
const nextCode = (secret: string) => authenticator.clone({ epoch: Date.now() + 30_000 }).generate(secret);

async function invite(owner: SignedUp, who: SignedUp, role: string): Promise<void> {
  const inv = await ok('POST', '/v1/invitations', owner.auth, { email: who.email, role });
  await ok('POST', '/v1/auth/invitations/accept', who.auth, { token: inv.token, password: PASSWORD });
}

const platformRecords = (action: string) =>
  t.db.admin.query<{ actor: string; actor_user_id: string | null; resource_id: string | null; subject_org_id: string | null; details: Record<string, unknown> }>(
    `SELECT actor, actor_user_id, resource_id, subject_org_id, details FROM platform_audit WHERE action = $1 ORDER BY seq`,
    [action],
  ).then((r) => r.rows);

describe('DELETE /v1/org', () => {
  let a: SignedUp;
  let b: SignedUp;
  let member: SignedUp;
  let slug: string;

  beforeAll(async () => {
    a = await signupUser(t.app, { organizationName: 'Erase Me Travel' });
    b = await signupUser(t.app, { organizationName: 'Survivor Travel' });
    member = await signupUser(t.app, { organizationName: 'Member Home' });
    await invite(a, member, 'admin');
    await seedOrg(a, 'a');
    await seedOrg(b, 'b');
    slug = (await ok('GET', '/v1/org', a.auth)).slug;
  });

  it('is refused for an API key, a non-owner, without confirmation or password, and asks for the second factor', async () => {
    const key = await ok('POST', '/v1/api-keys', a.auth, { name: 'owner-key', scopes: ['*'] });
    const byKey = await inject('DELETE', '/v1/org', { authorization: `Bearer ${key.key}` }, { confirm: slug, password: PASSWORD });
    expect([byKey.statusCode, errorOf(byKey).code]).toEqual([403, 'forbidden']);

    // an admin of the organization (not its owner) switches to it and tries
    const memberLogin = await inject('POST', '/v1/auth/login', {}, { email: member.email, password: PASSWORD, organizationId: a.orgId });
    expect(memberLogin.statusCode, memberLogin.body).toBe(200);
    const asAdmin = { authorization: `Bearer ${memberLogin.json().tokens.accessToken}` };
    const byAdmin = await inject('DELETE', '/v1/org', asAdmin, { confirm: slug, password: PASSWORD });
    expect([byAdmin.statusCode, errorOf(byAdmin).code]).toEqual([403, 'forbidden']);

    const none = await inject('DELETE', '/v1/org', a.auth);
    expect([none.statusCode, errorOf(none).code]).toEqual([400, 'confirmation_required']);
    expect(errorOf(none).message).toContain(slug);
    const wrong = await inject('DELETE', '/v1/org', a.auth, { confirm: 'survivor-travel', password: PASSWORD });
    expect([wrong.statusCode, errorOf(wrong).code]).toEqual([400, 'confirmation_required']);
    const noPassword = await inject('DELETE', '/v1/org', a.auth, { confirm: slug });
    expect([noPassword.statusCode, errorOf(noPassword).code]).toEqual([400, 'confirmation_required']);
    const badPassword = await inject('DELETE', '/v1/org', a.auth, { confirm: slug, password: 'not the password' });
    expect([badPassword.statusCode, errorOf(badPassword).code]).toEqual([401, 'invalid_credentials']);
    const badBody = await inject('DELETE', '/v1/org', a.auth, { confirm: slug, password: PASSWORD, extra: 1 });
    expect([badBody.statusCode, errorOf(badBody).code]).toEqual([400, 'validation_failed']);

    const secret = await enableMfa(a);
    const noCode = await inject('DELETE', '/v1/org', a.auth, { confirm: slug, password: PASSWORD });
    expect([noCode.statusCode, errorOf(noCode).code]).toEqual([401, 'mfa_required']);
    a = { ...a, secret } as SignedUp & { secret: string };

    // nothing was erased by the refusals
    expect((await ok('GET', '/v1/org', a.auth)).id).toBe(a.orgId);
    expect(await platformRecords('organization.erased')).toEqual([]);
  });

  it('erases every row of the organization in every table; the other organization is untouched and its chain verifies', async () => {
    const bBefore = await orgFootprint(b.orgId);
    const aBefore = await orgFootprint(a.orgId);
    for (const table of ['executions', 'spans', 'agent_decisions', 'agent_communications', 'agent_memories', 'plan_shares', 'audit_logs', 'audit_pii', 'api_keys']) {
      expect(aBefore[table] ?? 0, table).toBeGreaterThan(0);
    }
    const secret = (a as SignedUp & { secret: string }).secret;
    const res = await inject('DELETE', '/v1/org', a.auth, { confirm: slug, password: PASSWORD, mfaCode: nextCode(secret) });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.organizationId).toBe(a.orgId);
    expect(body.usersErased).toBe(1); // the owner belonged to no other organization; the admin member did
    expect(body.tables.executions).toBe(aBefore.executions);
    expect(body.tables.audit_logs).toBe(aBefore.audit_logs);

    // the organization's id, and its owner's id and email, are nowhere but in the platform's record of the erasure
    expect(await scan([a.orgId, a.userId, a.email], (tbl) => tbl === 'platform_audit')).toEqual([]);
    expect(await orgFootprint(a.orgId)).toEqual({});
    // the admin member keeps their account and their own organization
    expect(await scan([member.email])).not.toEqual([]);
    expect((await ok('GET', '/v1/me', member.auth)).user.email).toBe(member.email);

    // the token of the erased owner is dead
    const after = await inject('GET', '/v1/me', a.auth);
    expect(after.statusCode).toBe(401);

    expect(await orgFootprint(b.orgId)).toEqual(bBefore);
    const verify = await ok('GET', '/v1/audit/verify', b.auth);
    expect(verify).toMatchObject({ ok: true, firstBreak: null });
    expect(verify.rowsChecked).toBeGreaterThan(3);

    // the fact of the erasure stays, without names or emails; the platform chain still verifies
    const records = await platformRecords('organization.erased');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ resource_id: a.orgId, subject_org_id: a.orgId, actor: 'owner', actor_user_id: null });
    expect(records[0]!.details).toMatchObject({ usersErased: 1, tables: { executions: aBefore.executions } });
    expect(JSON.stringify(records[0])).not.toContain(a.email);
    expect(JSON.stringify(records[0])).not.toContain(a.userId);
    const broken = await t.db.admin.query<{ seq: string | null }>(`SELECT platform_audit_first_break()::text AS seq`);
    expect(broken.rows[0]!.seq).toBeNull();
  });
});

describe('DELETE /v1/users/{id}', () => {
  let u: SignedUp;
  let owner: SignedUp;

  beforeAll(async () => {
    u = await signupUser(t.app, { organizationName: 'Solo Org', fullName: 'Una Erasable' });
    owner = await signupUser(t.app, { organizationName: 'Team Org' });
    await seedOrg(u, 'u');
    await seedOrg(owner, 'team');
    await invite(owner, u, 'member');
    // u acts inside the team organization: audit rows with u as the actor in a chain that continues
    const login = await inject('POST', '/v1/auth/login', {}, { email: u.email, password: PASSWORD, organizationId: owner.orgId });
    expect(login.statusCode, login.body).toBe(200);
    const inTeam = { authorization: `Bearer ${login.json().tokens.accessToken}` };
    await ok('POST', '/v1/agents', inTeam, { name: 'made-by-u' });
    await ok('POST', '/v1/agents/made-by-u/memories', inTeam, { content: `u's email is ${u.email}` });
    await ok('POST', '/v1/api-keys', inTeam, { name: 'u-key', scopes: ['agents:read'] });
  });

  it('is refused for someone else, an API key, without confirmation, and for an only owner with members', async () => {
    const other = await inject('DELETE', `/v1/users/${u.userId}`, owner.auth, { confirm: u.email, password: PASSWORD });
    expect([other.statusCode, errorOf(other).code]).toEqual([403, 'forbidden']);
    const key = await ok('POST', '/v1/api-keys', u.auth, { name: 'self-key', scopes: ['*'] });
    const byKey = await inject('DELETE', `/v1/users/${u.userId}`, { authorization: `Bearer ${key.key}` }, { confirm: u.email, password: PASSWORD });
    expect([byKey.statusCode, errorOf(byKey).code]).toEqual([403, 'forbidden']);
    const none = await inject('DELETE', `/v1/users/${u.userId}`, u.auth);
    expect([none.statusCode, errorOf(none).code]).toEqual([400, 'confirmation_required']);
    const wrong = await inject('DELETE', `/v1/users/${u.userId}`, u.auth, { confirm: owner.email, password: PASSWORD });
    expect([wrong.statusCode, errorOf(wrong).code]).toEqual([400, 'confirmation_required']);
    const badId = await inject('DELETE', '/v1/users/not-a-uuid', u.auth, { confirm: u.email, password: PASSWORD });
    expect([badId.statusCode, errorOf(badId).code]).toEqual([400, 'validation_failed']);
    // the team's only owner cannot leave its members without one
    const stuck = await inject('DELETE', `/v1/users/${owner.userId}`, owner.auth, { confirm: owner.email, password: PASSWORD });
    expect([stuck.statusCode, errorOf(stuck).code]).toEqual([409, 'conflict']);
    expect(errorOf(stuck).details).toEqual({ organizationIds: [owner.orgId] });
    expect(await platformRecords('user.erased')).toEqual([]);
  });

  it("removes the person's account and every mention of them; the team keeps its data and its chain verifies", async () => {
    const teamBefore = await orgFootprint(owner.orgId);
    const auditBefore = await ok('GET', '/v1/audit?limit=100', owner.auth);
    const mine = auditBefore.data.filter((r: { userId: string | null }) => r.userId === u.userId);
    expect(mine.length).toBeGreaterThan(2);
    // the person is in the displayed log, never in the chained columns
    const chained = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_logs WHERE user_id = $1`, [u.userId]);
    expect(chained.rows[0]!.n).toBe(0);

    const res = await inject('DELETE', `/v1/users/${u.userId}`, u.auth, { confirm: u.email.toUpperCase(), password: PASSWORD });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().organizationsErased).toBe(1);

    expect(await scan([u.userId, u.email, 'Una Erasable'])).toEqual([]);
    // the organization only u belonged to went with u; the platform keeps the fact of that erasure only
    expect(await orgFootprint(u.orgId)).toEqual({});
    expect(await scan([u.orgId], (tbl) => tbl === 'platform_audit')).toEqual([]);

    const teamAfter = await orgFootprint(owner.orgId);
    // the team lost only u's membership, roles, session, key, memory and audit details; the agent u made stays
    expect(teamAfter.agents).toBe(teamBefore.agents);
    expect(teamAfter.audit_logs).toBe(teamBefore.audit_logs);
    expect(teamAfter.memberships).toBe(teamBefore.memberships! - 1);
    expect(teamAfter.executions).toBe(teamBefore.executions);
    expect(await ok('GET', '/v1/audit/verify', owner.auth)).toMatchObject({ ok: true, firstBreak: null });
    const auditAfter = await ok('GET', '/v1/audit?limit=100', owner.auth);
    expect(auditAfter.data).toHaveLength(auditBefore.data.length);
    expect(auditAfter.data.filter((r: { userId: string | null }) => r.userId === u.userId)).toEqual([]);

    const records = await platformRecords('user.erased');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ actor: 'self', actor_user_id: null, subject_org_id: null });
    expect(records[0]!.details).toMatchObject({ organizationsErased: 1 });
    expect((await inject('GET', '/v1/me', u.auth)).statusCode).toBe(401);
  });
});
