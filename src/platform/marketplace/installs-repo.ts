import type { Sql } from '../../db/index.js';

/** The organization's installs (tenant transactions only). */
export interface InstallRow {
  id: string;
  listingId: string;
  installedBy: string | null;
  clonedAgentId: string | null;
  agentVersion: string;
  priceCents: number | null;
  installedAt: Date;
  uninstalledAt: Date | null;
}

const COLUMNS = `id, listing_id AS "listingId", installed_by AS "installedBy", cloned_agent_id AS "clonedAgentId",
  agent_version AS "agentVersion", price_cents AS "priceCents", installed_at AS "installedAt", uninstalled_at AS "uninstalledAt"`;

/** This organization's install of a listing, row-locked (a re-install decides on it). */
export async function lockInstall(sql: Sql, listingId: string): Promise<InstallRow | undefined> {
  const r = await sql.query<InstallRow>(`SELECT ${COLUMNS} FROM marketplace_installs WHERE listing_id = $1 FOR UPDATE`, [listingId]);
  return r.rows[0];
}

export async function findInstall(sql: Sql, listingId: string): Promise<InstallRow | undefined> {
  const r = await sql.query<InstallRow>(`SELECT ${COLUMNS} FROM marketplace_installs WHERE listing_id = $1`, [listingId]);
  return r.rows[0];
}

/** A first install; the table's trigger counts it on the listing. */
export async function insertInstall(
  sql: Sql, orgId: string, i: { id: string; listingId: string; installedBy: string | null; clonedAgentId: string; agentVersion: string; priceCents: number | null },
): Promise<InstallRow> {
  const r = await sql.query<InstallRow>(
    `INSERT INTO marketplace_installs (id, org_id, listing_id, installed_by, cloned_agent_id, agent_version, price_cents)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [i.id, orgId, i.listingId, i.installedBy, i.clonedAgentId, i.agentVersion, i.priceCents],
  );
  return r.rows[0]!;
}

/** A re-install after the earlier copy was deleted: the same row points at the new copy (not counted again). */
export async function reinstall(
  sql: Sql, id: string, i: { installedBy: string | null; clonedAgentId: string; agentVersion: string; priceCents: number | null },
): Promise<InstallRow> {
  const r = await sql.query<InstallRow>(
    `UPDATE marketplace_installs SET installed_by = $2, cloned_agent_id = $3, agent_version = $4, price_cents = $5,
       installed_at = now(), uninstalled_at = NULL
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, i.installedBy, i.clonedAgentId, i.agentVersion, i.priceCents],
  );
  return r.rows[0]!;
}

export async function listInstalls(sql: Sql, before: { installedAt: string; id: string } | undefined, limit: number): Promise<InstallRow[]> {
  const params: unknown[] = [limit];
  let keyset = '';
  if (before) {
    params.push(before.installedAt, before.id);
    keyset = 'WHERE (installed_at, id) < ($2::timestamptz, $3::uuid)';
  }
  const r = await sql.query<InstallRow>(
    `SELECT ${COLUMNS} FROM marketplace_installs ${keyset} ORDER BY installed_at DESC, id DESC LIMIT $1`,
    params,
  );
  return r.rows;
}
