import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signupUser, uniqueEmail, type SignedUp, type TestApp } from '../helpers/app.js';

/**
 * Tenant isolation is enforced by the database, not by WHERE clauses in the
 * code: every query below "forgets" its WHERE org_id and must still see, change
 * and create only the current tenant's rows.
 */

let t: TestApp;
let a: Org;
let b: Org;

interface Org extends SignedUp {
  apiKeyId: string;
  roleId: string;
}

/** One organization with at least one row in every tenant table. */
async function seedOrg(): Promise<Org> {
  const u = await signupUser(t.app);
  const key = await t.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: u.auth,
    payload: { name: 'ci', scopes: ['*'] },
  });
  expect(key.statusCode).toBe(201);
  // Using the key once creates its api_key_usage row.
  const used = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${key.json().key}` } });
  expect(used.statusCode).toBe(200);
  const inv = await t.app.inject({
    method: 'POST',
    url: '/v1/invitations',
    headers: u.auth,
    payload: { email: uniqueEmail('invitee'), role: 'viewer' },
  });
  expect(inv.statusCode).toBe(201);
  const role = await t.app.inject({
    method: 'POST',
    url: '/v1/roles',
    headers: u.auth,
    payload: { name: 'auditor', permissions: ['audit:read', 'orgs:read'] },
  });
  expect(role.statusCode).toBe(201);
  return { ...u, apiKeyId: key.json().id, roleId: role.json().id };
}

/** Every tenant table and the column that names its tenant. */
const TENANT_TABLES: Array<{ table: string; col: string; shared?: boolean }> = [
  { table: 'organizations', col: 'id' },
  { table: 'memberships', col: 'org_id' },
  { table: 'user_roles', col: 'org_id' },
  { table: 'invitations', col: 'org_id' },
  { table: 'sessions', col: 'org_id' },
  { table: 'refresh_tokens', col: 'org_id' },
  { table: 'api_keys', col: 'org_id' },
  { table: 'audit_logs', col: 'org_id' },
  { table: 'audit_chain_heads', col: 'org_id' },
  // built-in rows (org_id NULL) are shared by every tenant
  { table: 'roles', col: 'org_id', shared: true },
  { table: 'role_permissions', col: 'org_id', shared: true },
];

/**
 * Operational tables (migration 0025, src/ops/metrics): the service's own measurements, written and read only as
 * the owner (platform administrators). Rows carry org_id when a request had a tenant, but no tenant reads them
 * through the app role, which has no privilege on them at all: global tables, not tenant tables under RLS.
 */
const OPERATIONAL_WITH_ORG = ['api_requests', 'error_logs', 'performance_metrics'];

async function ownerCount(table: string, col: string, orgId: string): Promise<number> {
  const r = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${col} = $1`, [orgId]);
  return r.rows[0]!.n;
}

/** B's rows as the owner sees them, to prove a statement in tenant A left them alone. */
async function snapshot(table: string, col: string, orgId: string): Promise<string[]> {
  const r = await t.db.admin.query<{ j: string }>(
    `SELECT to_jsonb(x)::text AS j FROM ${table} x WHERE ${col} = $1 ORDER BY 1`,
    [orgId],
  );
  return r.rows.map((x) => x.j);
}

/** The built-in rows (tenant column NULL) every tenant shares; none may change. */
async function sharedRows(table: string, col: string): Promise<string[]> {
  const r = await t.db.admin.query<{ j: string }>(`SELECT to_jsonb(x)::text AS j FROM ${table} x WHERE ${col} IS NULL ORDER BY 1`);
  return r.rows.map((x) => x.j);
}

beforeAll(async () => {
  t = await createTestApp();
  a = await seedOrg();
  b = await seedOrg();
});
afterAll(async () => t?.close());

describe('tenant reads: a query without WHERE org_id sees only the current tenant', () => {
  it.each(TENANT_TABLES)('SELECT * FROM $table in tenant A returns all of A and none of B', async ({ table, col, shared }) => {
    const rows = await t.db.tenant(a.orgId, (sql) => sql.query<Record<string, unknown>>(`SELECT * FROM ${table}`));
    const own = rows.rows.filter((r) => r[col] === a.orgId);
    const foreign = rows.rows.filter((r) => r[col] !== a.orgId && !(shared && r[col] === null));
    expect(foreign).toEqual([]);
    const expected = await ownerCount(table, col, a.orgId);
    expect(expected).toBeGreaterThan(0);
    expect(own).toHaveLength(expected);
    // B really has rows there: the filter is doing the work.
    expect(await ownerCount(table, col, b.orgId)).toBeGreaterThan(0);
  });

  it('api_key_usage (written only by the auth definer function) is not readable by the app role at all', async () => {
    expect(await ownerCount('api_key_usage', 'org_id', a.orgId)).toBeGreaterThan(0);
    await expect(t.db.tenant(a.orgId, (sql) => sql.query('SELECT * FROM api_key_usage'))).rejects.toMatchObject({ code: '42501' });
  });

  it('a join across tenant tables cannot reach the other tenant either', async () => {
    const r = await t.db.tenant(a.orgId, (sql) =>
      sql.query<{ org_id: string }>(
        `SELECT k.org_id FROM api_keys k JOIN memberships m ON m.user_id = k.user_id JOIN organizations o ON o.id = m.org_id`,
      ),
    );
    expect(r.rows.length).toBeGreaterThan(0);
    expect(new Set(r.rows.map((x) => x.org_id))).toEqual(new Set([a.orgId]));
  });

  it("looking B's rows up by id from tenant A finds nothing", async () => {
    const r = await t.db.tenant(a.orgId, async (sql) => ({
      key: (await sql.query('SELECT id FROM api_keys WHERE id = $1', [b.apiKeyId])).rows,
      role: (await sql.query('SELECT id FROM roles WHERE id = $1', [b.roleId])).rows,
      org: (await sql.query('SELECT id FROM organizations WHERE id = $1', [b.orgId])).rows,
    }));
    expect(r).toEqual({ key: [], role: [], org: [] });
  });
});

describe('tenant writes: UPDATE and DELETE without WHERE touch only the current tenant', () => {
  const UPDATES: Array<{ table: string; col: string; set: string }> = [
    { table: 'organizations', col: 'id', set: `settings = settings || '{"touched": true}'` },
    { table: 'memberships', col: 'org_id', set: `invited_by = invited_by` }, // the trigger bumps version
    { table: 'roles', col: 'org_id', set: `description = 'touched by A'` },
    { table: 'invitations', col: 'org_id', set: `expires_at = expires_at + interval '1 second'` },
    { table: 'sessions', col: 'org_id', set: `device_name = 'touched by A'` },
    { table: 'refresh_tokens', col: 'org_id', set: `expires_at = expires_at + interval '1 second'` },
    { table: 'api_keys', col: 'org_id', set: `name = 'touched by A'` },
    { table: 'audit_chain_heads', col: 'org_id', set: `updated_at = updated_at + interval '1 second'` },
  ];

  it.each(UPDATES)('UPDATE $table without WHERE changes exactly A’s rows and none of B’s', async ({ table, col, set }) => {
    const before = await snapshot(table, col, b.orgId);
    const builtIns = await sharedRows(table, col);
    const aRows = await ownerCount(table, col, a.orgId);
    const r = await t.db.tenant(a.orgId, (sql) => sql.query(`UPDATE ${table} SET ${set}`));
    expect(r.rowCount).toBe(aRows);
    expect(await snapshot(table, col, b.orgId)).toEqual(before);
    expect(await sharedRows(table, col)).toEqual(builtIns);
  });

  it('DELETE role_permissions and user_roles without WHERE removes only A’s rows', async () => {
    const bPerms = await snapshot('role_permissions', 'org_id', b.orgId);
    const bRoles = await snapshot('user_roles', 'org_id', b.orgId);
    const builtIn = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM role_permissions WHERE org_id IS NULL`);
    const aPerms = await ownerCount('role_permissions', 'org_id', a.orgId);
    const aRoles = await ownerCount('user_roles', 'org_id', a.orgId);
    const seen = await t.db.tenant(a.orgId, async (sql) => ({
      perms: (await sql.query('DELETE FROM role_permissions')).rowCount,
      roles: (await sql.query('DELETE FROM user_roles')).rowCount,
    }));
    expect(seen).toEqual({ perms: aPerms, roles: aRoles });
    expect(await ownerCount('role_permissions', 'org_id', a.orgId)).toBe(0);
    expect(await snapshot('role_permissions', 'org_id', b.orgId)).toEqual(bPerms);
    expect(await snapshot('user_roles', 'org_id', b.orgId)).toEqual(bRoles);
    const after = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM role_permissions WHERE org_id IS NULL`);
    expect(after.rows[0]!.n).toBe(builtIn.rows[0]!.n);
    // Restore A's owner role for anything that runs later.
    await t.db.admin.query(
      `INSERT INTO user_roles (org_id, user_id, role_id) SELECT $1, $2, id FROM roles WHERE name = 'owner' AND org_id IS NULL`,
      [a.orgId, a.userId],
    );
  });
});

describe("tenant inserts: a row for another tenant is refused (RLS WITH CHECK, SQLSTATE 42501)", () => {
  const hash = () => randomUUID().replaceAll('-', '');
  const INSERTS: Array<{ name: string; sql: (o: { b: Org; a: Org }) => [string, unknown[]] }> = [
    { name: 'organizations', sql: () => [`INSERT INTO organizations (id, name, slug) VALUES ($1, 'x', $2)`, [randomUUID(), `x-${hash()}`]] },
    { name: 'memberships', sql: ({ a, b }) => [`INSERT INTO memberships (org_id, user_id) VALUES ($1, $2)`, [b.orgId, a.userId]] },
    {
      name: 'user_roles',
      sql: ({ b }) => [
        `INSERT INTO user_roles (org_id, user_id, role_id) SELECT $1, $2, id FROM roles WHERE name = 'viewer' AND org_id IS NULL`,
        [b.orgId, b.userId],
      ],
    },
    {
      name: 'invitations',
      sql: ({ b }) => [
        `INSERT INTO invitations (org_id, email, role_id, token_hash, expires_at)
         SELECT $1, 'x@example.com', id, $2, now() + interval '1 day' FROM roles WHERE name = 'viewer' AND org_id IS NULL`,
        [b.orgId, hash()],
      ],
    },
    { name: 'sessions', sql: ({ a, b }) => [`INSERT INTO sessions (org_id, user_id, expires_at) VALUES ($1, $2, now() + interval '1 day')`, [b.orgId, a.userId]] },
    {
      name: 'refresh_tokens',
      sql: ({ a, b }) => [
        `INSERT INTO refresh_tokens (org_id, session_id, user_id, token_hash, expires_at)
         SELECT $1, id, $2, $3, now() + interval '1 day' FROM sessions LIMIT 1`,
        [b.orgId, a.userId, hash()],
      ],
    },
    {
      name: 'api_keys',
      sql: ({ a, b }) => [`INSERT INTO api_keys (org_id, user_id, name, key_prefix, key_hash) VALUES ($1, $2, 'x', 'ab_xxxxxxxxx', $3)`, [b.orgId, a.userId, hash()]],
    },
    {
      name: 'audit_logs',
      sql: ({ b }) => [
        `INSERT INTO audit_logs (id, org_id, seq, actor_type, action, resource_type, prev_hash, hash, created_at)
         VALUES ($1, $2, 999, 'system', 'forged', 'x', repeat('0', 64), repeat('0', 64), now())`,
        [randomUUID(), b.orgId],
      ],
    },
    { name: 'audit_chain_heads', sql: ({ b }) => [`INSERT INTO audit_chain_heads (org_id) VALUES ($1)`, [b.orgId]] },
    { name: 'roles', sql: ({ b }) => [`INSERT INTO roles (org_id, name) VALUES ($1, 'sneaky')`, [b.orgId]] },
    {
      name: 'role_permissions',
      sql: ({ b }) => [`INSERT INTO role_permissions (role_id, permission_id, org_id) SELECT $1, id, $2 FROM permissions LIMIT 1`, [b.roleId, b.orgId]],
    },
  ];

  it.each(INSERTS)('INSERT INTO $name with org_id = B inside tenant A fails with 42501', async ({ sql: make }) => {
    const [text, params] = make({ a, b });
    await expect(t.db.tenant(a.orgId, (sql) => sql.query(text, params))).rejects.toMatchObject({ code: '42501' });
  });

  it('an UPDATE that moves an own row to another tenant is refused too', async () => {
    await expect(
      t.db.tenant(a.orgId, (sql) => sql.query('UPDATE api_keys SET org_id = $1', [b.orgId])),
    ).rejects.toMatchObject({ code: '42501' });
    expect(await ownerCount('api_keys', 'org_id', a.orgId)).toBeGreaterThan(0);
  });

  it('nothing was written to B by the refused statements', async () => {
    const r = await t.db.admin.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM roles WHERE name = 'sneaky') + (SELECT count(*) FROM audit_logs WHERE action = 'forged')
        + (SELECT count(*) FROM api_keys WHERE key_prefix = 'ab_xxxxxxxxx') AS n`,
    );
    expect(Number(r.rows[0]!.n)).toBe(0);
  });
});

describe('no tenant set: fail closed', () => {
  it.each(TENANT_TABLES)('db.transaction() sees no tenant row of $table', async ({ table, col, shared }) => {
    const r = await t.db.transaction((sql) => sql.query<Record<string, unknown>>(`SELECT * FROM ${table}`));
    // Only the built-in roles (org_id NULL) are visible without a tenant.
    expect(r.rows.filter((x) => !(shared && x[col] === null))).toEqual([]);
  });

  it('db.transaction() cannot insert a tenant row', async () => {
    await expect(
      t.db.transaction((sql) =>
        sql.query(`INSERT INTO api_keys (org_id, user_id, name, key_prefix, key_hash) VALUES ($1, $2, 'x', 'ab_yyyyyyyyy', $3)`, [
          a.orgId,
          a.userId,
          randomUUID(),
        ]),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(
      t.db.transaction((sql) => sql.query(`INSERT INTO roles (org_id, name) VALUES ($1, 'nobody')`, [a.orgId])),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('db.transaction() updates no tenant row', async () => {
    const r = await t.db.transaction((sql) => sql.query(`UPDATE api_keys SET name = 'no tenant'`));
    expect(r.rowCount).toBe(0);
  });

  it('the tenant setting does not leak into the next transaction', async () => {
    await t.db.tenant(a.orgId, (sql) => sql.query('SELECT 1'));
    const r = await t.db.transaction((sql) =>
      sql.query<{ org: string | null; n: number }>(`SELECT app_current_org()::text AS org, (SELECT count(*)::int FROM api_keys) AS n`),
    );
    expect(r.rows[0]).toEqual({ org: null, n: 0 });
  });

  it.each(['not-a-uuid', '', "x' OR true --", `${randomUUID()} `])('db.tenant(%j) throws before touching the database', async (bad) => {
    let called = false;
    await expect(
      (async () =>
        t.db.tenant(bad, async () => {
          called = true;
        }))(),
    ).rejects.toThrow(/not a UUID/);
    expect(called).toBe(false);
  });
});

describe('the catalog: every tenant table is protected by forced RLS', () => {
  it('every public table with org_id has RLS enabled and forced, a policy, and an index leading with org_id', async () => {
    const r = await t.db.admin.query<{ table: string; rls: boolean; forced: boolean; policies: number; indexed: boolean }>(
      `SELECT c.relname AS "table", c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
              (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum) AS indexed
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       ORDER BY 1`,
    );
    const tables = r.rows.map((x) => x.table);
    for (const { table, col } of TENANT_TABLES) if (col === 'org_id') expect(tables).toContain(table);
    expect(tables).toContain('api_key_usage');
    const weak = r.rows.filter((x) => !OPERATIONAL_WITH_ORG.includes(x.table) && (!x.rls || !x.forced || x.policies === 0 || !x.indexed));
    expect(weak).toEqual([]);
  });

  it('operational tables with org_id have no policy because the app role has no privilege on them at all', async () => {
    const r = await t.db.admin.query<{ table: string; priv: boolean }>(
      `SELECT c.relname AS "table", has_table_privilege('agentbase_app', c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER') AS priv
       FROM pg_class c WHERE c.oid = ANY ($1::regclass[]) ORDER BY 1`,
      [OPERATIONAL_WITH_ORG],
    );
    expect(r.rows).toEqual(OPERATIONAL_WITH_ORG.map((table) => ({ table, priv: false })));
    for (const table of OPERATIONAL_WITH_ORG) {
      await expect(t.db.tenant(a.orgId, (sql) => sql.query(`SELECT * FROM ${table}`)), table).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('organizations (tenant key id) has forced RLS and a policy on id', async () => {
    const r = await t.db.admin.query<{ rls: boolean; forced: boolean; qual: string }>(
      `SELECT c.relrowsecurity AS rls, c.relforcerowsecurity AS forced, p.qual
       FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname AND p.schemaname = 'public'
       WHERE c.oid = 'public.organizations'::regclass AND 'agentbase_app' = ANY (p.roles)`,
    );
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0]).toMatchObject({ rls: true, forced: true });
    expect(r.rows[0]!.qual).toMatch(/app_current_org\(\)/);
  });

  it('every policy that applies to the app role is bound to app_current_org()', async () => {
    const r = await t.db.admin.query<{ tablename: string; policyname: string; qual: string | null; with_check: string | null }>(
      `SELECT tablename, policyname, qual, with_check FROM pg_policies
       WHERE schemaname = 'public' AND ('agentbase_app' = ANY (roles) OR 'public' = ANY (roles))`,
    );
    expect(r.rows.length).toBeGreaterThan(0);
    for (const p of r.rows) {
      for (const expr of [p.qual, p.with_check]) {
        if (expr !== null) expect(expr, `${p.tablename}.${p.policyname}`).toMatch(/app_current_org\(\)/);
      }
    }
  });

  it('tables without org_id are the known global ones', async () => {
    const r = await t.db.admin.query<{ table: string }>(
      `SELECT c.relname AS "table" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
         AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped)
       ORDER BY 1`,
    );
    // A new table here must be global on purpose (no tenant data), or get an org_id and RLS.
    // platform_*: the operator's staff and their audit chain; the app role reads none of them.
    // connection_pool_stats, system_metrics: the service's own measurements (0025), owner only like OPERATIONAL_WITH_ORG.
    expect(r.rows.map((x) => x.table)).toEqual(
      ['connection_pool_stats', 'matview_refreshes', 'mfa_devices', 'mfa_recovery_codes', 'organizations', 'permissions', 'platform_admins', 'platform_audit', 'platform_audit_head', 'schema_migrations', 'system_metrics', 'user_credentials', 'users'].sort(),
    );
  });

  it('no materialized view is readable by the app role: they have no RLS, tenants read them through filtering views', async () => {
    const r = await t.db.admin.query<{ name: string; readable: boolean }>(
      `SELECT c.relname AS name, has_table_privilege('agentbase_app', c.oid, 'SELECT') AS readable
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'm'`,
    );
    expect(r.rows.length).toBeGreaterThan(0);
    expect(r.rows.filter((x) => x.readable)).toEqual([]);
  });

  it('the app role owns nothing, is not a superuser and cannot bypass RLS', async () => {
    const owned = await t.db.admin.query<{ relname: string }>(
      `SELECT relname FROM pg_class WHERE relowner = 'agentbase_app'::regrole`,
    );
    expect(owned.rows).toEqual([]);
    const role = await t.db.admin.query(`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'agentbase_app'`);
    expect(role.rows).toEqual([{ rolsuper: false, rolbypassrls: false }]);
  });

  it('the app role has no privilege on audit_logs partitions, so RLS on the parent cannot be sidestepped', async () => {
    const parts = await t.db.admin.query<{ name: string; priv: boolean }>(
      `SELECT c.relname AS name,
              has_table_privilege('agentbase_app', c.oid, 'SELECT,INSERT,UPDATE,DELETE') AS priv
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'audit_logs'::regclass`,
    );
    expect(parts.rows.length).toBeGreaterThan(0);
    expect(parts.rows.filter((p) => p.priv)).toEqual([]);
    const name = parts.rows[0]!.name;
    await expect(t.db.tenant(a.orgId, (sql) => sql.query(`SELECT * FROM ${name}`))).rejects.toMatchObject({ code: '42501' });
  });
});

describe('audit_logs is append-only', () => {
  it('the app role cannot UPDATE, DELETE or TRUNCATE audit_logs (42501)', async () => {
    for (const stmt of [`UPDATE audit_logs SET action = 'x'`, `DELETE FROM audit_logs`, `TRUNCATE audit_logs`]) {
      await expect(t.db.tenant(a.orgId, (sql) => sql.query(stmt)), stmt).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('even the owner cannot TRUNCATE it: the statement trigger refuses', async () => {
    const before = await ownerCount('audit_logs', 'org_id', a.orgId);
    await expect(t.db.admin.query(`TRUNCATE audit_logs`)).rejects.toMatchObject({
      code: '42501',
      message: expect.stringMatching(/append-only/),
    });
    expect(await ownerCount('audit_logs', 'org_id', a.orgId)).toBe(before);
  });

  it('even the owner cannot UPDATE or DELETE rows: the trigger refuses', async () => {
    const before = await ownerCount('audit_logs', 'org_id', a.orgId);
    await expect(
      t.db.admin.query(`UPDATE audit_logs SET action = 'rewritten' WHERE org_id = $1`, [a.orgId]),
    ).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/append-only/) });
    await expect(
      t.db.admin.query(`DELETE FROM audit_logs WHERE org_id = $1`, [a.orgId]),
    ).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/append-only/) });
    expect(await ownerCount('audit_logs', 'org_id', a.orgId)).toBe(before);
    const rewritten = await t.db.admin.query(`SELECT 1 FROM audit_logs WHERE action = 'rewritten'`);
    expect(rewritten.rows).toEqual([]);
  });
});
