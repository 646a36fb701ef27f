import type { Sql } from '../../db/index.js';

/**
 * The organization's own listings, under its RLS (tenant transactions only).
 * Browsing other organizations' listings is catalog-repo.ts.
 */

export const LISTING_STATUSES = ['draft', 'pending_review', 'approved', 'rejected', 'suspended'] as const;
export type ListingStatus = (typeof LISTING_STATUSES)[number];
export const PRICING_MODELS = ['free', 'one_time', 'subscription', 'usage_based'] as const;
export type PricingModel = (typeof PRICING_MODELS)[number];

/** The fields a publisher sets. */
export interface ListingFields {
  slug: string;
  title: string;
  shortDescription: string;
  longDescription: string | null;
  category: string;
  tags: string[];
  iconUrl: string | null;
  screenshots: string[];
  demoVideoUrl: string | null;
  pricingModel: PricingModel;
  priceCents: number | null;
}

/** What the listing publishes of the agent: set from an agent version, never by the caller directly. */
export interface ListingSource {
  agentId: string;
  agentVersionId: string;
  agentVersion: string;
  config: Record<string, unknown>;
  strippedSecrets: string[];
  toolSummary: Array<{ name: string; description: string | null; toolType: string }>;
}

export interface ListingRow extends ListingFields, ListingSource {
  id: string;
  priceUsd: number | null;
  installCount: number;
  ratingAverage: number;
  ratingCount: number;
  status: ListingStatus;
  reviewNotes: string | null;
  submittedAt: Date | null;
  reviewedAt: Date | null;
  isFeatured: boolean;
  featuredAt: Date | null;
  publishedAt: Date | null;
  version: number;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, slug, title, short_description AS "shortDescription", long_description AS "longDescription", category, tags,
  icon_url AS "iconUrl", screenshots, demo_video_url AS "demoVideoUrl", pricing_model AS "pricingModel",
  price_cents AS "priceCents", price_usd::float8 AS "priceUsd", agent_id AS "agentId", agent_version_id AS "agentVersionId",
  agent_version AS "agentVersion", config, stripped_secrets AS "strippedSecrets", tool_summary AS "toolSummary",
  install_count AS "installCount", rating_average::float8 AS "ratingAverage", rating_count AS "ratingCount", status,
  review_notes AS "reviewNotes", submitted_at AS "submittedAt", reviewed_at AS "reviewedAt", is_featured AS "isFeatured",
  featured_at AS "featuredAt", published_at AS "publishedAt", version, created_by AS "createdBy", created_at AS "createdAt",
  updated_at AS "updatedAt"`;

// Allow-list from API field to column: the only identifiers that reach the SQL text.
const FIELD_COLUMNS: Record<keyof ListingFields | keyof ListingSource, { col: string; json?: true }> = {
  slug: { col: 'slug' },
  title: { col: 'title' },
  shortDescription: { col: 'short_description' },
  longDescription: { col: 'long_description' },
  category: { col: 'category' },
  tags: { col: 'tags' },
  iconUrl: { col: 'icon_url' },
  screenshots: { col: 'screenshots' },
  demoVideoUrl: { col: 'demo_video_url' },
  pricingModel: { col: 'pricing_model' },
  priceCents: { col: 'price_cents' },
  agentId: { col: 'agent_id' },
  agentVersionId: { col: 'agent_version_id' },
  agentVersion: { col: 'agent_version' },
  config: { col: 'config', json: true },
  strippedSecrets: { col: 'stripped_secrets', json: true },
  toolSummary: { col: 'tool_summary', json: true },
};
type Field = keyof typeof FIELD_COLUMNS;
const param = (k: Field, v: unknown): unknown => (FIELD_COLUMNS[k].json ? JSON.stringify(v) : v);

export async function insertListing(
  sql: Sql, orgId: string, id: string, createdBy: string | null, f: ListingFields & ListingSource,
): Promise<ListingRow> {
  const keys = Object.keys(FIELD_COLUMNS) as Field[];
  const r = await sql.query<ListingRow>(
    `INSERT INTO marketplace_listings (id, org_id, created_by, ${keys.map((k) => FIELD_COLUMNS[k].col).join(', ')})
     VALUES ($1, $2, $3, ${keys.map((_k, i) => `$${i + 4}`).join(', ')}) RETURNING ${COLUMNS}`,
    [id, orgId, createdBy, ...keys.map((k) => param(k, f[k]))],
  );
  return r.rows[0]!;
}

export async function getListing(sql: Sql, id: string, lock = false): Promise<ListingRow | undefined> {
  const r = await sql.query<ListingRow>(
    `SELECT ${COLUMNS} FROM marketplace_listings WHERE id = $1 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return r.rows[0];
}

export async function listListings(
  sql: Sql, f: { status?: ListingStatus; before?: { createdAt: string; id: string }; limit: number },
): Promise<ListingRow[]> {
  const params: unknown[] = [f.limit];
  const where = ['deleted_at IS NULL'];
  if (f.status) {
    params.push(f.status);
    where.push(`status = $${params.length}`);
  }
  if (f.before) {
    params.push(f.before.createdAt, f.before.id);
    where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  const r = await sql.query<ListingRow>(
    `SELECT ${COLUMNS} FROM marketplace_listings WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $1`,
    params,
  );
  return r.rows;
}

/**
 * A publisher's change, with the status it moves to; bumps the optimistic
 * lock. `expected` is the version the caller read (a stale one matches nothing).
 */
export async function updateListing(
  sql: Sql, id: string, expected: number, patch: Partial<ListingFields & ListingSource>, status: ListingStatus, submitted: boolean,
): Promise<ListingRow | undefined> {
  const keys = (Object.keys(patch) as Field[]).filter((k) => k in FIELD_COLUMNS && patch[k] !== undefined);
  const params: unknown[] = [id, expected, status];
  const sets = keys.map((k) => {
    params.push(param(k, patch[k]));
    return `${FIELD_COLUMNS[k].col} = $${params.length}`;
  });
  const r = await sql.query<ListingRow>(
    `UPDATE marketplace_listings SET ${[...sets, 'status = $3', ...(submitted ? ['submitted_at = now()'] : [])].join(', ')},
       version = version + 1, updated_at = now()
     WHERE id = $1 AND version = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    params,
  );
  return r.rows[0];
}

/** A platform admin's decision (run in the publisher's tenant). */
export async function setReview(
  sql: Sql, id: string, status: 'approved' | 'rejected', notes: string, reviewer: string,
): Promise<ListingRow | undefined> {
  const r = await sql.query<ListingRow>(
    `UPDATE marketplace_listings SET status = $2::text, review_notes = $3, reviewed_at = now(), reviewed_by = $4,
       published_at = CASE WHEN $2::text = 'approved' THEN coalesce(published_at, now()) ELSE published_at END,
       version = version + 1, updated_at = now()
     WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    [id, status, notes, reviewer],
  );
  return r.rows[0];
}

export async function softDeleteListing(sql: Sql, id: string): Promise<void> {
  await sql.query(`UPDATE marketplace_listings SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL`, [id]);
}
