import type { Sql } from '../../db/index.js';

/** The organization's own review of a listing (tenant transactions only); the triggers keep the listing's average. */
export interface ReviewRow {
  id: string;
  listingId: string;
  userId: string | null;
  rating: number;
  title: string | null;
  body: string | null;
  isVerifiedInstall: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, listing_id AS "listingId", user_id AS "userId", rating, title, body, is_verified_install AS "isVerifiedInstall",
  version, created_at AS "createdAt", updated_at AS "updatedAt"`;

export interface ReviewFields {
  rating: number;
  title: string | null;
  body: string | null;
}

/**
 * Writes this organization's review: a first one is inserted, a second
 * replaces the first (ON CONFLICT on unique_review_per_org, so two writers
 * at once end with one row). `created` says which happened.
 */
export async function upsertReview(
  sql: Sql, orgId: string, id: string, listingId: string, userId: string | null, f: ReviewFields, verified: boolean,
): Promise<ReviewRow & { created: boolean }> {
  const r = await sql.query<ReviewRow & { created: boolean }>(
    `INSERT INTO marketplace_reviews AS r (id, org_id, listing_id, user_id, rating, title, body, is_verified_install)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (org_id, listing_id) DO UPDATE SET user_id = EXCLUDED.user_id, rating = EXCLUDED.rating, title = EXCLUDED.title,
       body = EXCLUDED.body, is_verified_install = EXCLUDED.is_verified_install, version = r.version + 1, updated_at = now()
     RETURNING ${COLUMNS}, (xmax = 0) AS created`,
    [id, orgId, listingId, userId, f.rating, f.title, f.body, verified],
  );
  return r.rows[0]!;
}

export async function getReview(sql: Sql, listingId: string): Promise<ReviewRow | undefined> {
  const r = await sql.query<ReviewRow>(`SELECT ${COLUMNS} FROM marketplace_reviews WHERE listing_id = $1`, [listingId]);
  return r.rows[0];
}

export async function deleteReview(sql: Sql, listingId: string): Promise<ReviewRow | undefined> {
  const r = await sql.query<ReviewRow>(`DELETE FROM marketplace_reviews WHERE listing_id = $1 RETURNING ${COLUMNS}`, [listingId]);
  return r.rows[0];
}
