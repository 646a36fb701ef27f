import type { Sql } from '../../db/index.js';

/**
 * The deliberate cross-tenant reads, each through one of migration 0023's
 * SECURITY DEFINER functions: they return listing fields only (never org_id,
 * the agent, its prompt, or anything of a listing that is not approved — the
 * admin queue aside), and the caller reads nothing else of another tenant.
 */

/** A listing as anyone browsing the marketplace sees it. */
export interface PublicListing {
  id: string;
  slug: string;
  title: string;
  shortDescription: string;
  longDescription: string | null;
  category: string;
  tags: string[];
  iconUrl: string | null;
  screenshots: string[];
  demoVideoUrl: string | null;
  pricingModel: string;
  priceCents: number | null;
  agentVersion: string;
  tools: Array<{ name: string; description: string | null; toolType: string }>;
  installCount: number;
  ratingAverage: number;
  ratingCount: number;
  isFeatured: boolean;
  publishedAt: Date;
  updatedAt: Date;
}

const PUBLIC = `id, slug, title, short_description AS "shortDescription", long_description AS "longDescription", category, tags,
  icon_url AS "iconUrl", screenshots, demo_video_url AS "demoVideoUrl", pricing_model AS "pricingModel",
  price_cents AS "priceCents", agent_version AS "agentVersion", tool_summary AS tools, install_count AS "installCount",
  rating_average::float8 AS "ratingAverage", rating_count AS "ratingCount", is_featured AS "isFeatured",
  published_at AS "publishedAt", updated_at AS "updatedAt"`;

export interface BrowseFilter {
  q?: string;
  category?: string;
  tag?: string;
  after?: { rank?: number; publishedAt?: string; id: string };
  limit: number;
}

export async function browse(sql: Sql, f: BrowseFilter): Promise<Array<PublicListing & { rank: number }>> {
  const r = await sql.query<PublicListing & { rank: number }>(
    `SELECT ${PUBLIC}, rank::float8 AS rank FROM marketplace_browse($1, $2, $3, $4::real, $5::timestamptz, $6::uuid, $7)`,
    [f.q ?? null, f.category ?? null, f.tag ?? null, f.after?.rank ?? null, f.after?.publishedAt ?? null, f.after?.id ?? null, f.limit],
  );
  return r.rows;
}

export async function publicListing(sql: Sql, by: { id?: string; slug?: string }): Promise<PublicListing | undefined> {
  const r = await sql.query<PublicListing>(`SELECT ${PUBLIC} FROM marketplace_listing_public($1::uuid, $2)`, [by.id ?? null, by.slug ?? null]);
  return r.rows[0];
}

export interface InstallSource {
  id: string;
  slug: string;
  title: string;
  agentVersion: string;
  config: Record<string, unknown>;
  strippedSecrets: string[];
  pricingModel: string;
  priceCents: number | null;
  /** the transaction's tenant published it */
  own: boolean;
}

export async function installSource(sql: Sql, listingId: string): Promise<InstallSource | undefined> {
  const r = await sql.query<InstallSource>(
    `SELECT id, slug, title, agent_version AS "agentVersion", config, stripped_secrets AS "strippedSecrets",
       pricing_model AS "pricingModel", price_cents AS "priceCents", own FROM marketplace_install_source($1)`,
    [listingId],
  );
  return r.rows[0];
}

export interface PublicReview {
  id: string;
  rating: number;
  title: string | null;
  body: string | null;
  isVerifiedInstall: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export async function listingReviews(
  sql: Sql, listingId: string, after: { createdAt: string; id: string } | undefined, limit: number,
): Promise<PublicReview[]> {
  const r = await sql.query<PublicReview>(
    `SELECT id, rating, title, body, is_verified_install AS "isVerifiedInstall", created_at AS "createdAt", updated_at AS "updatedAt"
     FROM marketplace_listing_reviews($1, $2::timestamptz, $3::uuid, $4)`,
    [listingId, after?.createdAt ?? null, after?.id ?? null, limit],
  );
  return r.rows;
}

/** A listing as a platform admin reviews it: its fields and what it would publish, nothing of its organization. */
export interface AdminListing extends Omit<PublicListing, 'installCount' | 'ratingAverage' | 'ratingCount' | 'isFeatured' | 'publishedAt'> {
  config: Record<string, unknown>;
  status: string;
  reviewNotes: string | null;
  submittedAt: Date | null;
  reviewedAt: Date | null;
  publishedAt: Date | null;
  createdAt: Date;
}

export async function adminListings(
  sql: Sql, status: string, after: { createdAt: string; id: string } | undefined, limit: number,
): Promise<AdminListing[]> {
  const r = await sql.query<AdminListing>(
    `SELECT id, slug, title, short_description AS "shortDescription", long_description AS "longDescription", category, tags,
       icon_url AS "iconUrl", screenshots, demo_video_url AS "demoVideoUrl", pricing_model AS "pricingModel",
       price_cents AS "priceCents", agent_version AS "agentVersion", tool_summary AS tools, config, status,
       review_notes AS "reviewNotes", submitted_at AS "submittedAt", reviewed_at AS "reviewedAt",
       published_at AS "publishedAt", created_at AS "createdAt", updated_at AS "updatedAt"
     FROM marketplace_admin_listings($1, $2::timestamptz, $3::uuid, $4)`,
    [status, after?.createdAt ?? null, after?.id ?? null, limit],
  );
  return r.rows;
}

/** The organization that published a live listing (for a platform admin's review). */
export async function listingOrg(sql: Sql, listingId: string): Promise<string | undefined> {
  const r = await sql.query<{ org: string | null }>(`SELECT marketplace_listing_org($1) AS org`, [listingId]);
  return r.rows[0]?.org ?? undefined;
}
