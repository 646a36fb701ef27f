import type { Sql } from '../../db/index.js';

/**
 * Positions in a list are dense: the live tasks of a list hold exactly
 * 0..n-1 (the deferred unique constraint idx_tasks_list_position proves no
 * two share one at commit). Every change of positions in a list — a create
 * into it, a move in or out, a delete — first locks the list's row, and a
 * change touching two lists locks both in id order, so changes of one list
 * queue behind each other and two moves in opposite directions cannot
 * deadlock. Shifting neighbours does not move their version: version guards
 * what a PATCH edits, and a move elsewhere in the list is not an edit of them.
 */

/** Locks live lists in id order; returns the ids found (a missing or deleted one is absent). */
export async function lockLists(sql: Sql, orgId: string, ids: readonly string[]): Promise<Set<string>> {
  const unique = [...new Set(ids)].sort();
  if (!unique.length) return new Set();
  const r = await sql.query<{ id: string }>(
    `SELECT id FROM lists WHERE org_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL ORDER BY id FOR UPDATE`,
    [orgId, unique],
  );
  return new Set(r.rows.map((x) => x.id));
}

/** How many live tasks the list holds (call with the list locked). */
export async function listLength(sql: Sql, orgId: string, listId: string): Promise<number> {
  const r = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM tasks WHERE org_id = $1 AND list_id = $2 AND deleted_at IS NULL`,
    [orgId, listId],
  );
  return r.rows[0]!.n;
}

/** Makes room at `position`: every task at or after it moves one down. */
export async function openGap(sql: Sql, orgId: string, listId: string, position: number): Promise<void> {
  await sql.query(
    `UPDATE tasks SET position_in_list = position_in_list + 1
     WHERE org_id = $1 AND list_id = $2 AND position_in_list >= $3`,
    [orgId, listId, position],
  );
}

/** Closes the hole a task left at `position`: every task after it moves one up. */
export async function closeGap(sql: Sql, orgId: string, listId: string, position: number): Promise<void> {
  await sql.query(
    `UPDATE tasks SET position_in_list = position_in_list - 1
     WHERE org_id = $1 AND list_id = $2 AND position_in_list > $3`,
    [orgId, listId, position],
  );
}

/** Within one list, from `from` to `to`: the tasks between shift by one towards `from`. */
export async function shiftWithin(sql: Sql, orgId: string, listId: string, from: number, to: number): Promise<void> {
  if (from === to) return;
  const [lo, hi, delta] = to < from ? [to, from - 1, 1] : [from + 1, to, -1];
  await sql.query(
    `UPDATE tasks SET position_in_list = position_in_list + $5
     WHERE org_id = $1 AND list_id = $2 AND position_in_list BETWEEN $3 AND $4`,
    [orgId, listId, lo, hi, delta],
  );
}

/** Where a requested position lands: past the end means last. */
export const clampPosition = (requested: number | undefined, length: number): number =>
  requested === undefined ? length : Math.min(requested, length);
