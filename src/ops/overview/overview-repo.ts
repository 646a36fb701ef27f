import type { Sql } from '../../db/index.js';

/** This database's size on disk (pg_database_size: a stat of its files, no table scan). */
export async function databaseSize(sql: Sql): Promise<{ name: string; sizeBytes: number }> {
  const r = await sql.query<{ name: string; sizeBytes: number }>(
    `SELECT current_database()::text AS name, pg_database_size(current_database()) AS "sizeBytes"`,
  );
  return r.rows[0]!;
}
