import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintain } from '../../src/server.js';
import { createTestApp, errorOf, PASSWORD, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app, { organizationName: 'Short Memory' });
  b = await signupUser(t.app, { organizationName: 'Long Memory' });
});
afterAll(async () => t?.close());

type Auth = { authorization: string };
const get = (auth: Auth) => t.app.inject({ method: 'GET', url: '/v1/org/retention', headers: auth });
const put = (auth: Auth, policies: Record<string, number | null>) =>
  t.app.inject({ method: 'PUT', url: '/v1/org/retention', headers: auth, payload: { policies } });
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const DAY = 86_400_000;

interface View {
  category: string;
  days: number | null;
  configured: boolean;
  platformDays: number | null;
  minDays: number;
  maxDays: number;
}
const byCategory = (data: View[]) => Object.fromEntries(data.map((v) => [v.category, v]));

describe('GET and PUT /v1/org/retention', () => {
  it("lists every category with the platform's bounds", async () => {
    const res = await get(a.auth);
    expect(res.statusCode).toBe(200);
    const v = byCategory(res.json().data);
    expect(Object.keys(v).sort()).toEqual(['audit', 'decisions', 'executions', 'memories', 'messages', 'notifications', 'spans', 'webhook_deliveries']);
    expect(v.executions).toMatchObject({ days: 365, configured: false, platformDays: 365, maxDays: 365, minDays: 1 });
    expect(v.decisions).toMatchObject({ platformDays: 91, maxDays: 91 });
    expect(v.audit).toMatchObject({ minDays: 365, maxDays: 2555 });
    expect(v.memories).toMatchObject({ days: null, platformDays: null, maxDays: 36500 });
  });

  it('refuses a period beyond the platform bound or under the audit minimum, naming the bound, and writes nothing', async () => {
    const long = await put(a.auth, { spans: 7, executions: 400 });
    expect(long.statusCode).toBe(400);
    expect(errorOf(long).code).toBe('retention_out_of_bounds');
    expect(errorOf(long).message).toContain('365 days');
    expect(errorOf(long).details).toEqual({ category: 'executions', days: 400, maxDays: 365 });
    const short = await put(a.auth, { audit: 30 });
    expect([short.statusCode, errorOf(short).code]).toEqual([400, 'retention_out_of_bounds']);
    expect(errorOf(short).message).toContain('minimum of 365 days');
    const unknown = await put(a.auth, { everything: 3 });
    expect([unknown.statusCode, errorOf(unknown).code]).toEqual([400, 'bad_request']);
    const zero = await put(a.auth, { spans: 0 });
    expect([zero.statusCode, errorOf(zero).code]).toEqual([400, 'validation_failed']);
    const empty = await put(a.auth, {});
    expect([empty.statusCode, errorOf(empty).code]).toEqual([400, 'validation_failed']);
    // the valid spans: 7 of the first request was not applied either
    expect(byCategory((await get(a.auth)).json().data).spans).toMatchObject({ configured: false, days: 183 });
  });

  it('needs orgs:write to change; another organization sees only its own policies', async () => {
    const inv = await t.app.inject({ method: 'POST', url: '/v1/invitations', headers: a.auth, payload: { email: `viewer-${Date.now()}@example.com`, role: 'admin' } });
    expect(inv.statusCode).toBe(201);
    const joined = await t.app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', payload: { token: inv.json().token, password: PASSWORD } });
    expect(joined.statusCode, joined.body).toBe(201);
    const admin = { authorization: `Bearer ${joined.json().tokens.accessToken}` };
    const refused = await put(admin, { executions: 30 });
    expect([refused.statusCode, errorOf(refused).code]).toEqual([403, 'forbidden']);
    expect((await get(admin)).statusCode).toBe(200);

    const set = await put(a.auth, { executions: 10, spans: 10, decisions: 10, messages: 10, memories: 10, audit: 400 });
    expect(set.statusCode, set.body).toBe(200);
    expect(byCategory(set.json().data).executions).toMatchObject({ days: 10, configured: true });
    expect(byCategory((await get(b.auth)).json().data).executions).toMatchObject({ days: 365, configured: false });
    // null goes back to the platform period
    const reset = await put(a.auth, { audit: null });
    expect(byCategory(reset.json().data).audit).toMatchObject({ configured: false, days: 2555 });
  });
});

/** The same old and new rows in an organization: an execution with a span, a decision and a message, and a memory. */
async function seed(u: SignedUp, tag: string): Promise<void> {
  const agent = await t.app.inject({ method: 'POST', url: '/v1/agents', headers: u.auth, payload: { name: `bot-${tag}` } });
  expect(agent.statusCode).toBe(201);
  for (const age of ['old', 'new']) {
    const e = `exec-${tag}-${age}`;
    const res = await t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: u.auth, payload: {
        executions: [{ clientId: e, agentSlug: `bot-${tag}`, status: 'completed', startedAt: ago(60_000), input: { age } }],
        spans: [{ clientId: `span-${tag}-${age}`, executionClientId: e, kind: 'tool_call', name: 'search', toolName: 'search', startedAt: ago(50_000) }],
        decisions: [{ clientId: `dec-${tag}-${age}`, executionClientId: e, decidedAt: ago(40_000), decisionType: 'idea_generation', reasoningChain: [{ step: 1 }], confidence: 0.5 }],
        messages: [{ clientId: `msg-${tag}-${age}`, executionClientId: e, messageType: 'request', messageData: { age }, sentAt: ago(30_000), priority: 3 }],
      },
    });
    expect(res.json()).toMatchObject({ accepted: 4, rejected: 0 });
    const m = await t.app.inject({ method: 'POST', url: `/v1/agents/bot-${tag}/memories`, headers: u.auth, payload: { content: `remember ${age} ${tag}` } });
    expect(m.statusCode, m.body).toBe(201);
  }
  // Backdate the "old" rows by 20 days (the previous month's partitions exist).
  const then = ago(20 * DAY);
  await t.db.admin.transaction(async (sql) => {
    const old = `SELECT id FROM executions WHERE org_id = $1 AND input->>'age' = 'old'`;
    await sql.query(`UPDATE spans SET started_at = $2 WHERE org_id = $1 AND execution_id IN (${old})`, [u.orgId, then]);
    await sql.query(`UPDATE agent_decisions SET decided_at = $2 WHERE org_id = $1 AND execution_id IN (${old})`, [u.orgId, then]);
    await sql.query(`UPDATE agent_communications SET created_at = $2 WHERE org_id = $1 AND execution_id IN (${old})`, [u.orgId, then]);
    await sql.query(`UPDATE agent_memories SET created_at = $2 WHERE org_id = $1 AND content LIKE 'remember old%'`, [u.orgId, then]);
    await sql.query(`UPDATE executions SET created_at = $2, started_at = $2 WHERE org_id = $1 AND input->>'age' = 'old'`, [u.orgId, then]);
  });
}

const TABLES = ['executions', 'spans', 'agent_decisions', 'agent_communications', 'agent_memories'];
async function counts(orgId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) {
    const r = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE org_id = $1`, [orgId]);
    out[table] = r.rows[0]!.n;
  }
  return out;
}
const stats = (orgId: string) =>
  t.db.admin.query<{ n: string }>(`SELECT coalesce(sum(executions), 0)::text AS n FROM execution_stats_daily WHERE org_id = $1`, [orgId]).then((r) => Number(r.rows[0]!.n));

describe('maintain() enforces retention', () => {
  it("deletes an organization's rows older than its period; another organization's identical rows stay", async () => {
    await seed(a, 'a');
    await seed(b, 'b');
    const all = { executions: 2, spans: 2, agent_decisions: 2, agent_communications: 2, agent_memories: 2 };
    expect(await counts(a.orgId)).toEqual(all);
    expect(await counts(b.orgId)).toEqual(all);
    const statsBefore = await stats(a.orgId);
    expect(statsBefore).toBe(2);

    const r = await maintain(t.db, new Date(), { retention: { ...t.config.retention, batchSize: 1, maxBatches: 100 } });
    expect(r.retentionDeleted).toBe(5);
    expect(r.retentionUnfinished).toBe(0);
    expect(await counts(a.orgId)).toEqual({ executions: 1, spans: 1, agent_decisions: 1, agent_communications: 1, agent_memories: 1 });
    expect(await counts(b.orgId)).toEqual(all);
    // what is left is the new row
    const left = await t.db.admin.query<{ age: string }>(`SELECT input->>'age' AS age FROM executions WHERE org_id = $1`, [a.orgId]);
    expect(left.rows).toEqual([{ age: 'new' }]);
    // the daily aggregates keep the history the detail rows no longer hold
    expect(await stats(a.orgId)).toBe(statsBefore);
  });

  it('deletes in bounded batches and leaves the rest to the next run', async () => {
    await t.db.admin.query(`UPDATE executions SET created_at = $2, started_at = $2 WHERE org_id = $1`, [b.orgId, ago(20 * DAY)]);
    expect((await put(b.auth, { executions: 10 })).statusCode).toBe(200);
    const first = await maintain(t.db, new Date(), { retention: { ...t.config.retention, batchSize: 1, maxBatches: 1 } });
    expect(first).toMatchObject({ retentionDeleted: 1, retentionUnfinished: 1 });
    expect((await counts(b.orgId)).executions).toBe(1);
    const second = await maintain(t.db, new Date(), { retention: { ...t.config.retention, batchSize: 1, maxBatches: 1 } });
    expect(second).toMatchObject({ retentionDeleted: 1 });
    expect((await counts(b.orgId)).executions).toBe(0);
    expect((await counts(b.orgId)).spans).toBe(2);
  });

  it("deletes audit rows' personal details past the platform's audit retention, for every organization", async () => {
    const ids = ['00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000a002'];
    for (const [i, id] of ids.entries()) {
      await t.db.admin.query(
        `INSERT INTO audit_pii (audit_id, org_id, user_id, salt, data, created_at) VALUES ($1, $2, $3, repeat('0', 32), '{}', $4)`,
        [id, b.orgId, b.userId, ago((i === 0 ? 2600 : 2500) * DAY)],
      );
    }
    const r = await maintain(t.db, new Date(), { retention: t.config.retention });
    expect(r.retentionDeleted).toBe(1);
    const left = await t.db.admin.query<{ id: string }>(`SELECT audit_id AS id FROM audit_pii WHERE audit_id = ANY($1::uuid[])`, [ids]);
    expect(left.rows).toEqual([{ id: ids[1] }]);
  });
});
