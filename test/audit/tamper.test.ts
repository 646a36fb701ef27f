import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAllChains, verifyChain, type ChainReport } from '../../src/audit/index.js';
import { AUDIT_COLUMNS, type AuditRow } from '../../src/audit/audit-repo.js';
import { chainHash } from '../../src/audit/chain.js';
import { runCli } from '../../src/cli/main.js';
import type { AdminSql } from '../../src/db/index.js';
import { createTestApp, signupUser, TEST_SECRET, type SignedUp, type TestApp } from '../helpers/app.js';
import { driver } from '../helpers/db.js';

/**
 * The audit tamper test. Someone with owner access to the database rewrites
 * history behind the service's back; the verifier (HTTP and CLI) must notice
 * and name the first bad row. Each case gets its own organization.
 */

const ROWS = 7; // signup writes 2, then 5 API keys

let t: TestApp;
let control: SignedUp;
beforeAll(async () => {
  t = await createTestApp();
  control = await chainOf();
});
afterAll(async () => t?.close());

async function chainOf(): Promise<SignedUp> {
  const u = await signupUser(t.app);
  for (let i = 0; i < ROWS - 2; i++) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: u.auth, payload: { name: `k${i}`, scopes: ['*'] } });
    expect(res.statusCode).toBe(201);
  }
  return u;
}

/** Runs as the owner with triggers off (replica mode), the way an attacker with owner access would. */
function tamper(fn: (sql: AdminSql) => Promise<unknown>): Promise<void> {
  return t.db.admin.transaction(async (sql) => {
    await sql.query(`SET LOCAL session_replication_role = replica`);
    await fn(sql);
  });
}

async function rowAt(orgId: string, seq: number): Promise<AuditRow> {
  const r = await t.db.admin.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_logs WHERE org_id = $1 AND seq = $2`, [orgId, seq]);
  return r.rows[0]!;
}

async function httpVerify(u: SignedUp): Promise<ChainReport> {
  const res = await t.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: u.auth });
  expect(res.statusCode).toBe(200);
  return res.json() as ChainReport;
}

const COPY = `INSERT INTO audit_logs (id, org_id, seq, actor_type, user_id, api_key_id, session_id, agent_id, action, resource_type,
  resource_id, old_values, new_values, ip_address, user_agent, request_id, prev_hash, hash, created_at)
  SELECT $3, org_id, $4, actor_type, user_id, api_key_id, session_id, agent_id, action, resource_type,
  resource_id, old_values, new_values, ip_address, user_agent, request_id, coalesce($5, prev_hash), coalesce($6, hash), created_at
  FROM audit_logs WHERE org_id = $1 AND seq = $2`;

interface Case {
  name: string;
  /** the first bad seq the verifier must name */
  seq: number;
  reasons: string[];
  run(orgId: string): Promise<void>;
}

const CASES: Case[] = [
  {
    name: "(a) edit a row's new_values",
    seq: 4,
    reasons: ['hash_mismatch'],
    run: (org) => tamper((sql) => sql.query(`UPDATE audit_logs SET new_values = new_values || '{"name": "innocent"}' WHERE org_id = $1 AND seq = 4`, [org])),
  },
  {
    name: "(a') edit a row's action",
    seq: 5,
    reasons: ['hash_mismatch'],
    run: (org) => tamper((sql) => sql.query(`UPDATE audit_logs SET action = 'api_key.viewed' WHERE org_id = $1 AND seq = 5`, [org])),
  },
  {
    name: '(b) delete a middle row',
    seq: 4,
    reasons: ['seq_gap', 'prev_hash_mismatch'],
    run: (org) => tamper((sql) => sql.query(`DELETE FROM audit_logs WHERE org_id = $1 AND seq = 4`, [org])),
  },
  {
    name: '(c) insert a forged copy of a row with a new id',
    seq: 4,
    reasons: ['seq_duplicate', 'hash_mismatch'],
    run: (org) => tamper((sql) => sql.query(COPY, [org, 4, randomUUID(), 4, null, null])),
  },
  {
    name: '(c\') insert a forged row in the middle with a new seq (later rows renumbered)',
    seq: 4,
    reasons: ['prev_hash_mismatch', 'hash_mismatch'],
    run: (org) =>
      tamper(async (sql) => {
        await sql.query(`UPDATE audit_logs SET seq = seq + 1 WHERE org_id = $1 AND seq >= 4`, [org]);
        await sql.query(COPY, [org, 3, randomUUID(), 4, null, null]);
        await sql.query(`UPDATE audit_chain_heads SET seq = seq + 1 WHERE org_id = $1`, [org]);
      }),
  },
  {
    name: "(d) swap two rows' seq (reorder)",
    seq: 3,
    reasons: ['prev_hash_mismatch', 'hash_mismatch'],
    run: (org) =>
      tamper((sql) => sql.query(`UPDATE audit_logs SET seq = CASE seq WHEN 3 THEN 4 ELSE 3 END WHERE org_id = $1 AND seq IN (3, 4)`, [org])),
  },
  {
    name: '(e) delete the last row',
    seq: ROWS,
    reasons: ['head_mismatch'],
    run: (org) => tamper((sql) => sql.query(`DELETE FROM audit_logs WHERE org_id = $1 AND seq = $2`, [org, ROWS])),
  },
  {
    name: '(f) alter the chain head',
    seq: ROWS + 1,
    reasons: ['head_mismatch'],
    run: (org) => tamper((sql) => sql.query(`UPDATE audit_chain_heads SET last_hash = repeat('f', 64) WHERE org_id = $1`, [org])),
  },
];

/**
 * A forged row appended after the last one, with a correctly computed hash, is
 * invisible to the walk (it stops at the head) until the next real append.
 * Needs the second verify.ts fix from the bug list.
 */
const FORGED_APPEND: Case = {
  name: "(c'') append a forged row after the last one, with a correctly computed hash",
  seq: ROWS + 1,
  reasons: ['head_mismatch'],
  run: async (org) => {
    const last = await rowAt(org, ROWS);
    const { prevHash: _p, hash: _h, ...content } = last;
    const forged = { ...content, id: randomUUID(), seq: ROWS + 1, action: 'api_key.revoked' };
    const hash = chainHash(last.hash, forged);
    await tamper(async (sql) => {
      await sql.query(COPY, [org, ROWS, forged.id, forged.seq, last.hash, hash]);
      await sql.query(`UPDATE audit_logs SET action = $3 WHERE org_id = $1 AND seq = $2`, [org, forged.seq, forged.action]);
    });
  },
};

function expectBreak(r: ChainReport, orgId: string, c: Case): void {
  expect(r.orgId).toBe(orgId);
  expect(r.ok).toBe(false);
  expect(r.firstBreak).not.toBeNull();
  expect(r.firstBreak!.seq).toBe(c.seq);
  expect(c.reasons).toContain(r.firstBreak!.reason);
  // rows before the bad one were checked (a duplicate is caught right after its twin)
  expect(r.rowsChecked).toBeGreaterThanOrEqual(c.seq - 1);
  expect(r.rowsChecked).toBeLessThanOrEqual(c.seq);
}

describe('an untouched chain verifies', () => {
  it('the triggers really block the owner, so tampering needs replica mode', async () => {
    await expect(t.db.admin.query(`DELETE FROM audit_logs WHERE org_id = $1`, [control.orgId])).rejects.toMatchObject({ code: '42501' });
  });

  it('an organization with no audit rows yet is ok with 0 rows', async () => {
    const r = await verifyChain(t.db, randomUUID());
    expect(r).toMatchObject({ ok: true, rowsChecked: 0, lastSeq: 0, firstBreak: null });
  });

  it(`a ${ROWS}-row chain is ok over HTTP and in-process`, async () => {
    const expected = { orgId: control.orgId, ok: true, rowsChecked: ROWS, lastSeq: ROWS, firstBreak: null };
    expect(await httpVerify(control)).toEqual(expected);
    expect(await verifyChain(t.db, control.orgId)).toEqual(expected);
  });
});

describe('tampering is detected: GET /v1/audit/verify and verifyChain name the first bad row', () => {
  const tampered: string[] = [];

  async function detects(c: Case, track = true): Promise<void> {
    const u = await chainOf();
    expect((await httpVerify(u)).ok).toBe(true);
    await c.run(u.orgId);
    if (track) tampered.push(u.orgId);
    expectBreak(await httpVerify(u), u.orgId, c);
    expectBreak(await verifyChain(t.db, u.orgId), u.orgId, c);
  }

  it.each(CASES)('$name', (c) => detects(c));

  it('verifyAllChains reports every tampered organization and keeps the intact ones ok', async () => {
    const reports = await verifyAllChains(t.db);
    const byOrg = new Map(reports.map((r) => [r.orgId, r]));
    expect(byOrg.get(control.orgId)).toMatchObject({ ok: true, rowsChecked: ROWS });
    expect(tampered.length).toBe(CASES.length);
    for (const id of tampered) expect(byOrg.get(id)?.ok, id).toBe(false);
  });

  it(FORGED_APPEND.name, () => detects(FORGED_APPEND, false));
});

describe.runIf(driver === 'postgres')('tampering is detected: agentbase audit verify (CLI)', () => {
  async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runCli(args, {
      env: { DATABASE_URL: t.url, AGENTBASE_SECRET: TEST_SECRET },
      out: (s) => (out += s),
      err: (s) => (err += s),
    });
    return { code, out, err };
  }

  it('exits 0 for an intact chain', async () => {
    const r = await cli(['audit', 'verify', '--org', control.orgId]);
    expect(r.out).toContain(`ok    org ${control.orgId}: ${ROWS} rows, chain intact`);
    expect(r).toMatchObject({ code: 0, err: '' });
  });

  async function cliDetects(c: Case): Promise<void> {
    const u = await chainOf();
    await c.run(u.orgId);
    const r = await cli(['audit', 'verify', '--org', u.orgId]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`^BROKEN org ${u.orgId}: first bad row seq ${c.seq}\\b.*: (${c.reasons.join('|')}): `));
    const json = await cli(['audit', 'verify', '--org', u.orgId, '--json']);
    expect(json.code).toBe(1);
    const [report] = JSON.parse(json.out) as ChainReport[];
    expectBreak(report!, u.orgId, c);
  }

  it.each(CASES)('$name → exit 1 naming the first bad seq', cliDetects);

  it(`${FORGED_APPEND.name} → exit 1 naming the first bad seq`, () => cliDetects(FORGED_APPEND));

  it('without --org it checks every organization, exits 1, and still reports the intact ones ok', async () => {
    const r = await cli(['audit', 'verify']);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`ok    org ${control.orgId}: ${ROWS} rows, chain intact`);
    expect(r.out).toMatch(/^BROKEN org /m);
  });
});
