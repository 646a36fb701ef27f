import { type Sql } from '../../db/index.js';

/** One entry of the organization's product/service catalog (seed 001 services), as the API shows it. */
export interface ServiceRow {
  id: string;
  name: string;
  category: string;
  description: string;
  targetAudience: unknown[];
  keyBenefits: unknown[];
  marketMentions: number;
  competitors: unknown[];
  /** campaigns with status 'active' that promote it, counted when read (seed 001 active_campaigns) */
  activeCampaigns: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ServiceFields {
  name: string;
  category: string;
  description: string;
  targetAudience: unknown[];
  keyBenefits: unknown[];
  marketMentions: number;
  competitors: unknown[];
}

const CATALOG = `s.id, s.name, s.category, s.description, s.target_audience AS "targetAudience", s.key_benefits AS "keyBenefits",
  s.market_mentions AS "marketMentions", s.competitors, s.version, s.created_at AS "createdAt", s.updated_at AS "updatedAt"`;
const COLUMNS = `${CATALOG},
  (SELECT count(*)::int FROM campaigns c JOIN plans p ON p.org_id = c.org_id AND p.id = c.plan_id
   WHERE c.org_id = s.org_id AND c.service_id = s.id AND c.status = 'active' AND p.deleted_at IS NULL) AS "activeCampaigns"`;

/** A catalogue entry without its live count: what the query cache keeps (seed 001: cache the service catalogue). */
export type CatalogRow = Omit<ServiceRow, 'activeCampaigns'>;

export async function insertService(sql: Sql, orgId: string, id: string, f: ServiceFields, at: Date): Promise<ServiceRow> {
  await sql.query(
    `INSERT INTO services (id, org_id, name, category, description, target_audience, key_benefits, market_mentions, competitors, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9::jsonb, $10, $10)`,
    [id, orgId, f.name, f.category, f.description, JSON.stringify(f.targetAudience), JSON.stringify(f.keyBenefits),
      f.marketMentions, JSON.stringify(f.competitors), at.toISOString()],
  );
  return (await getService(sql, orgId, id))!;
}

export async function getCatalogEntry(sql: Sql, orgId: string, id: string): Promise<CatalogRow | undefined> {
  const r = await sql.query<CatalogRow>(`SELECT ${CATALOG} FROM services s WHERE s.org_id = $1 AND s.id = $2 AND s.deleted_at IS NULL`, [orgId, id]);
  return r.rows[0];
}

/** Campaigns with status 'active' (of plans not deleted) promoting each service; a service without any is absent. */
export async function activeCampaignCounts(sql: Sql, orgId: string, ids: readonly string[]): Promise<Map<string, number>> {
  if (!ids.length) return new Map();
  const r = await sql.query<{ id: string; n: number }>(
    `SELECT c.service_id AS id, count(*)::int AS n FROM campaigns c JOIN plans p ON p.org_id = c.org_id AND p.id = c.plan_id
     WHERE c.org_id = $1 AND c.service_id = ANY($2::uuid[]) AND c.status = 'active' AND p.deleted_at IS NULL
     GROUP BY c.service_id`,
    [orgId, ids],
  );
  return new Map(r.rows.map((x) => [x.id, x.n]));
}

export async function getService(sql: Sql, orgId: string, id: string): Promise<ServiceRow | undefined> {
  const r = await sql.query<ServiceRow>(`SELECT ${COLUMNS} FROM services s WHERE s.org_id = $1 AND s.id = $2 AND s.deleted_at IS NULL`, [orgId, id]);
  return r.rows[0];
}

/** Locks a live service for a change or a delete. */
export async function lockService(sql: Sql, orgId: string, id: string): Promise<ServiceRow | undefined> {
  const r = await sql.query<ServiceRow>(
    `SELECT ${COLUMNS} FROM services s WHERE s.org_id = $1 AND s.id = $2 AND s.deleted_at IS NULL FOR UPDATE OF s`,
    [orgId, id],
  );
  return r.rows[0];
}

export async function updateService(sql: Sql, orgId: string, id: string, f: ServiceFields, version: number, at: Date): Promise<void> {
  await sql.query(
    `UPDATE services SET name = $3, category = $4, description = $5, target_audience = $6::jsonb, key_benefits = $7::jsonb,
       market_mentions = $8, competitors = $9::jsonb, version = $10, updated_at = $11
     WHERE org_id = $1 AND id = $2`,
    [orgId, id, f.name, f.category, f.description, JSON.stringify(f.targetAudience), JSON.stringify(f.keyBenefits),
      f.marketMentions, JSON.stringify(f.competitors), version, at.toISOString()],
  );
}

/** How many live campaigns (of plans not deleted) name the service, whatever their status. */
export async function campaignsNaming(sql: Sql, orgId: string, id: string): Promise<number> {
  const r = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM campaigns c JOIN plans p ON p.org_id = c.org_id AND p.id = c.plan_id
     WHERE c.org_id = $1 AND c.service_id = $2 AND p.deleted_at IS NULL`,
    [orgId, id],
  );
  return r.rows[0]!.n;
}

export async function softDeleteService(sql: Sql, orgId: string, id: string, at: Date): Promise<void> {
  await sql.query(`UPDATE services SET deleted_at = $3, version = version + 1, updated_at = $3 WHERE org_id = $1 AND id = $2`, [orgId, id, at.toISOString()]);
}

export interface ServiceFilter {
  category?: string | undefined;
  /** names starting with this, compared case-insensitively */
  q?: string | undefined;
  after?: { name: string; id: string } | undefined;
  limit: number;
}

const likePrefix = (s: string) => `${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** By name (then id), along idx_services_name. */
export async function listCatalog(sql: Sql, orgId: string, f: ServiceFilter): Promise<CatalogRow[]> {
  const r = await sql.query<CatalogRow>(
    `SELECT ${CATALOG} FROM services s
     WHERE s.org_id = $1 AND s.deleted_at IS NULL
       AND ($2::text IS NULL OR s.category = $2)
       AND ($3::text IS NULL OR lower(s.name) LIKE lower($3))
       AND ($4::text IS NULL OR (s.name, s.id) > ($4::text, $5::uuid))
     ORDER BY s.name, s.id LIMIT $6`,
    [orgId, f.category ?? null, f.q === undefined ? null : likePrefix(f.q), f.after?.name ?? null, f.after?.id ?? null, f.limit],
  );
  return r.rows;
}

/** Whether a live service of the organization has each id (the ids not found are returned). */
export async function missingServices(sql: Sql, orgId: string, ids: readonly string[]): Promise<string[]> {
  const wanted = [...new Set(ids.map((i) => i.toLowerCase()))];
  if (!wanted.length) return [];
  const r = await sql.query<{ id: string }>(
    `SELECT id FROM services WHERE org_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL`,
    [orgId, wanted],
  );
  const found = new Set(r.rows.map((x) => x.id));
  return wanted.filter((i) => !found.has(i));
}
