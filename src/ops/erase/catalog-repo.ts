import type { Sql } from '../../db/index.js';
import { ident } from '../sql-ident.js';

export { ident };

// The erasure finds what to delete from the database's own catalog, so a table
// added by a later migration is covered without a list to keep up to date.

/** Tables (partitioned parents, not their partitions) with an org_id column. */
export async function tenantTables(sql: Sql): Promise<string[]> {
  const r = await sql.query<{ t: string }>(
    `SELECT c.relname AS t FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
     ORDER BY c.relname`,
  );
  return r.rows.map((x) => x.t);
}

/** Every table (partitioned parents, not their partitions). */
export async function allTables(sql: Sql): Promise<string[]> {
  const r = await sql.query<{ t: string }>(
    `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
  );
  return r.rows.map((x) => x.t);
}

export interface UserColumn {
  table: string;
  column: string;
  nullable: boolean;
  /** 'c' cascade, 'n' set null, 'a'/'r' no action/restrict, null: no foreign key (partitioned tables keep none) */
  onDelete: string | null;
}

/**
 * Columns that name a user: foreign keys to users(id), and uuid columns named
 * like one (user_id, *_user_id, *_by) where the table could not carry a
 * foreign key (partitioned tables, ledgers).
 */
export async function userColumns(sql: Sql): Promise<UserColumn[]> {
  const r = await sql.query<UserColumn>(
    `WITH fks AS (
       SELECT con.conrelid, a.attname, con.confdeltype::text AS deltype
       FROM pg_constraint con
       JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
       WHERE con.contype = 'f' AND con.confrelid = 'users'::regclass AND array_length(con.conkey, 1) = 1
     )
     SELECT c.relname AS "table", a.attname AS "column", NOT a.attnotnull AS nullable, fks.deltype AS "onDelete"
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     LEFT JOIN fks ON fks.conrelid = c.oid AND fks.attname = a.attname
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'users'
       AND (fks.deltype IS NOT NULL
         OR (a.atttypid = 'uuid'::regtype AND (a.attname = 'user_id' OR a.attname LIKE '%\\_user\\_id' OR a.attname LIKE '%\\_by')))
     ORDER BY 1, 2`,
  );
  return r.rows;
}

export async function count(sql: Sql, table: string, where: string, params: unknown[]): Promise<number> {
  const r = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ident(table)} WHERE ${where}`, params);
  return r.rows[0]?.n ?? 0;
}

export async function deleteWhere(sql: Sql, table: string, where: string, params: unknown[]): Promise<number> {
  const r = await sql.query(`DELETE FROM ${ident(table)} x WHERE ${where}`, params);
  return r.rowCount;
}

export async function nullWhere(sql: Sql, table: string, column: string, userId: string): Promise<number> {
  const c = ident(column);
  const r = await sql.query(`UPDATE ${ident(table)} SET ${c} = NULL WHERE ${c} = $1`, [userId]);
  return r.rowCount;
}
