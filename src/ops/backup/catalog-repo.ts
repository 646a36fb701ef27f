import type { Sql } from '../../db/index.js';

/**
 * The SQL backup, restore and export need. Tables are found in the catalog
 * (the schema the migrations ran in), never from a hand list, so a table a
 * later migration adds is covered without touching this file. Identifiers
 * come from the catalog and are quoted; values are parameters.
 */

export interface TableInfo {
  name: string;
  partitioned: boolean;
  hasOrgId: boolean;
  /** primary key columns in key order (empty when the table has none) */
  primaryKey: string[];
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Settings under which a row's text form is the same on every server and session. */
export async function deterministicSession(sql: Sql): Promise<void> {
  await sql.query(
    `SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true),
            set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '1', true),
            set_config('bytea_output', 'hex', true), set_config('row_security', 'off', true)`,
  );
}

export async function currentSchema(sql: Sql): Promise<string> {
  const r = await sql.query<{ s: string }>(`SELECT current_schema() AS s`);
  return r.rows[0]!.s;
}

/** The schema's ordinary and partitioned tables (a partitioned table stands for its partitions), without extensions' tables. */
export async function listTables(sql: Sql): Promise<TableInfo[]> {
  const r = await sql.query<{ name: string; partitioned: boolean; has_org_id: boolean; pk: string[] | null }>(
    `SELECT c.relname AS name, c.relkind = 'p' AS partitioned,
            EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND a.attnum > 0 AND NOT a.attisdropped) AS has_org_id,
            (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM pg_constraint con
               CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
              WHERE con.conrelid = c.oid AND con.contype = 'p') AS pk
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY c.relname`,
  );
  return r.rows.map((x) => ({ name: x.name, partitioned: x.partitioned, hasOrgId: x.has_org_id, primaryKey: x.pk ?? [] }));
}

export interface TableStats {
  rows: number;
  /**
   * The sum over rows of the first 60 bits of md5(row as text), as a decimal.
   * A sum needs no sort and no memory per row, and does not depend on the
   * order rows are read in, so a restored table (whose physical order differs)
   * has the same figure exactly when it has the same rows.
   */
  checksum: string;
}

export async function tableStats(sql: Sql, table: string): Promise<TableStats> {
  const r = await sql.query<{ n: number; s: string }>(
    `SELECT count(*)::bigint AS n, coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint), 0)::text AS s FROM ${quoteIdent(table)} t`,
  );
  return { rows: Number(r.rows[0]!.n), checksum: r.rows[0]!.s };
}

export async function tableHasRows(sql: Sql, table: string): Promise<boolean> {
  const r = await sql.query(`SELECT 1 FROM ${quoteIdent(table)} LIMIT 1`);
  return r.rows.length > 0;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

export async function appliedMigrations(sql: Sql): Promise<AppliedMigration[]> {
  const exists = await sql.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!exists.rows[0]!.t) return [];
  const r = await sql.query<AppliedMigration>(`SELECT version, name, trim(checksum) AS checksum FROM schema_migrations ORDER BY version`);
  return r.rows.map((m) => ({ version: Number(m.version), name: m.name, checksum: m.checksum }));
}

export interface ServerFacts {
  serverVersion: string;
  serverVersionNum: number;
  database: string;
  currentUser: string;
  /** who owns schema_migrations: the role that ran the migrations */
  owner: string | null;
}

export async function serverFacts(sql: Sql): Promise<ServerFacts> {
  const r = await sql.query<{ v: string; num: string; db: string; usr: string; owner: string | null }>(
    `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS num,
            current_database() AS db, current_user AS usr,
            (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('schema_migrations')) AS owner`,
  );
  const x = r.rows[0]!;
  return { serverVersion: x.v, serverVersionNum: Number(x.num), database: x.db, currentUser: x.usr, owner: x.owner };
}

export async function roleExists(sql: Sql, role: string): Promise<boolean> {
  const r = await sql.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role]);
  return r.rows.length > 0;
}

/** The cluster-wide roles the grants in a dump name; made as migration 0001 makes them (tolerating a concurrent creator). */
export async function ensureServiceRoles(sql: Sql, roles: readonly string[]): Promise<string[]> {
  const made: string[] = [];
  for (const role of roles) {
    if (await roleExists(sql, role)) continue;
    await sql.query(`DO $$ BEGIN CREATE ROLE ${quoteIdent(role)} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
    made.push(role);
  }
  return made;
}

/** Roles that own the schema's objects or hold grants on them (PUBLIC aside): what a restore needs to exist. */
export async function rolesNamed(sql: Sql): Promise<string[]> {
  const r = await sql.query<{ role: string }>(
    `WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = current_schema()),
     owners AS (
       SELECT relowner AS r FROM pg_class WHERE relnamespace IN (SELECT oid FROM ns)
       UNION SELECT proowner FROM pg_proc WHERE pronamespace IN (SELECT oid FROM ns)
       UNION SELECT typowner FROM pg_type WHERE typnamespace IN (SELECT oid FROM ns)
     ),
     grantees AS (
       SELECT (aclexplode(relacl)).grantee AS r FROM pg_class WHERE relnamespace IN (SELECT oid FROM ns) AND relacl IS NOT NULL
       UNION SELECT (aclexplode(proacl)).grantee FROM pg_proc WHERE pronamespace IN (SELECT oid FROM ns) AND proacl IS NOT NULL
       UNION SELECT (aclexplode(nspacl)).grantee FROM pg_namespace WHERE oid IN (SELECT oid FROM ns) AND nspacl IS NOT NULL
     )
     SELECT DISTINCT rolname AS role FROM pg_roles WHERE oid IN (SELECT r FROM owners UNION SELECT r FROM grantees)
      ORDER BY 1`,
  );
  return r.rows.map((x) => x.role);
}

/** So the restoring role may hand objects to the service roles (as migration 0001 does for the migrating role). */
export async function grantServiceRolesToCurrentUser(sql: Sql, roles: readonly string[]): Promise<void> {
  for (const role of roles) {
    await sql.query(
      `DO $$ BEGIN EXECUTE format('GRANT %I TO %I', ${literal(role)}, current_user);
       EXCEPTION WHEN duplicate_object OR unique_violation OR invalid_grant_operation OR insufficient_privilege THEN NULL; END $$`,
    );
  }
}

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export interface Occupancy {
  migrations: number;
  tablesWithRows: string[];
}

/** Whether a database already holds agentbase data: any migration applied, or any row in any of the schema's tables. */
export async function occupancy(sql: Sql): Promise<Occupancy> {
  const migrations = (await appliedMigrations(sql)).length;
  const tablesWithRows: string[] = [];
  for (const t of await listTables(sql)) if (t.name !== 'schema_migrations' && (await tableHasRows(sql, t.name))) tablesWithRows.push(t.name);
  return { migrations, tablesWithRows };
}

/**
 * SQL that empties the schema and makes it again as it was (owner and
 * grants), for a forced restore: run in the restore's own transaction, so a
 * failed restore leaves the old contents in place.
 */
export async function recreateSchemaScript(sql: Sql): Promise<string> {
  const r = await sql.query<{ name: string; owner: string; grants: Array<{ grantee: string | null; privilege: string }> | null }>(
    `SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner,
            (SELECT json_agg(json_build_object('grantee', CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, 'privilege', a.privilege_type))
               FROM aclexplode(n.nspacl) a) AS grants
       FROM pg_namespace n WHERE n.nspname = current_schema()`,
  );
  const s = r.rows[0]!;
  const schema = quoteIdent(s.name);
  const lines = [`DROP SCHEMA ${schema} CASCADE;`, `CREATE SCHEMA ${schema};`, `ALTER SCHEMA ${schema} OWNER TO ${quoteIdent(s.owner)};`];
  for (const g of s.grants ?? []) {
    lines.push(`GRANT ${g.privilege === 'CREATE' ? 'CREATE' : 'USAGE'} ON SCHEMA ${schema} TO ${g.grantee === null ? 'PUBLIC' : quoteIdent(g.grantee)};`);
  }
  return `${lines.join('\n')}\n`;
}
