import type { Sql } from '../../db/index.js';
import { quoteIdent } from './catalog-repo.js';

/**
 * Columns that hold a secret or what stands for one (a hash an attacker could
 * test guesses against, a sealed value, a token): never exported. Found by
 * name so a later migration's `*_hash`, `*_ciphertext`, `*secret`, `*_token`
 * is left out without touching this file; test/ops/backup-export.test.ts
 * fails on any new column whose name merely looks sensitive until it is
 * classified.
 */
export const SECRET_COLUMN = /(^|_)(hash|ciphertext|secret|token)$/;
/** Integrity hashes of the audit chain: not secrets, and the export's reader may want to verify the chain. */
const NOT_SECRET = new Set(['audit_logs.hash', 'audit_logs.prev_hash', 'audit_chain_heads.last_hash']);

export const isSecretColumn = (table: string, column: string): boolean => SECRET_COLUMN.test(column) && !NOT_SECRET.has(`${table}.${column}`);

export async function columnsOf(sql: Sql, table: string): Promise<string[]> {
  const r = await sql.query<{ c: string }>(
    `SELECT a.attname::text AS c FROM pg_attribute a
      WHERE a.attrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [table],
  );
  return r.rows.map((x) => x.c);
}

export async function organizationExists(sql: Sql, orgId: string): Promise<boolean> {
  const r = await sql.query(`SELECT 1 FROM organizations WHERE id = $1`, [orgId]);
  return r.rows.length > 0;
}

/** Which rows of a table are the organization's, or undefined for a table that is nobody's (global). */
export function orgFilter(table: string, hasOrgId: boolean): string | undefined {
  if (table === 'organizations') return 'id = $1';
  // users are global; an organization's are its members
  if (table === 'users') return 'id IN (SELECT user_id FROM memberships WHERE org_id = $1)';
  return hasOrgId ? 'org_id = $1' : undefined;
}

/** Opens a cursor over the rows as JSON text, secret columns removed; read it with fetchRows. */
export async function openRowCursor(sql: Sql, table: string, filter: string, orgId: string, excluded: string[], primaryKey: string[]): Promise<void> {
  const order = primaryKey.length ? ` ORDER BY ${primaryKey.map((c) => `t.${quoteIdent(c)}`).join(', ')}` : '';
  await sql.query(
    `DECLARE export_rows NO SCROLL CURSOR FOR SELECT (to_jsonb(t) - $2::text[])::text AS j FROM ${quoteIdent(table)} t WHERE ${filter}${order}`,
    [orgId, excluded],
  );
}

export async function fetchRows(sql: Sql, n: number): Promise<string[]> {
  return (await sql.query<{ j: string }>(`FETCH ${Math.trunc(n)} FROM export_rows`)).rows.map((x) => x.j);
}

export async function closeRowCursor(sql: Sql): Promise<void> {
  await sql.query(`CLOSE export_rows`);
}
