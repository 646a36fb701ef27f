import type { Sql } from '../db/index.js';

export interface PriceRow {
  id: string;
  scope: 'default' | 'organization';
  provider: string;
  modelPattern: string;
  effectiveFrom: Date;
  effectiveTo: Date | null;
  inputPrice: string;
  outputPrice: string;
  cachedInputPrice: string | null;
  cacheWritePrice: string | null;
  reasoningPrice: string | null;
  currency: string;
  tier: string | null;
  tiers: unknown;
  source: string | null;
  sourceReadOn: string | null;
  createdAt: Date;
}

// Prices stay text (numeric(20,12)): a per-token price is too small for a float to print back as sent.
const COLUMNS = `id, CASE WHEN org_id IS NULL THEN 'default' ELSE 'organization' END AS scope, provider,
  model_pattern AS "modelPattern", effective_from AS "effectiveFrom", effective_to AS "effectiveTo",
  input_price::text AS "inputPrice", output_price::text AS "outputPrice", cached_input_price::text AS "cachedInputPrice",
  cache_write_price::text AS "cacheWritePrice", reasoning_price::text AS "reasoningPrice", currency, tier, tiers,
  source, source_read_on::text AS "sourceReadOn", created_at AS "createdAt"`;

export const PRICE_SCOPES = {
  all: 'true',
  default: 'org_id IS NULL',
  organization: 'org_id IS NOT NULL',
} as const;
export type PriceScope = keyof typeof PRICE_SCOPES;

export async function listPrices(sql: Sql, scope: PriceScope, provider?: string): Promise<PriceRow[]> {
  const r = await sql.query<PriceRow>(
    `SELECT ${COLUMNS} FROM model_prices WHERE ${PRICE_SCOPES[scope]} AND ($1::text IS NULL OR provider = $1)
     ORDER BY provider, model_pattern, org_id NULLS LAST, effective_from DESC LIMIT 1000`,
    [provider ?? null],
  );
  return r.rows;
}

export async function getPrice(sql: Sql, id: string): Promise<PriceRow | undefined> {
  const r = await sql.query<PriceRow>(`SELECT ${COLUMNS} FROM model_prices WHERE id = $1`, [id]);
  return r.rows[0];
}

/** Whether PostgreSQL accepts the pattern as a regular expression (its dialect is the one that matches). */
export async function patternError(sql: Sql, pattern: string): Promise<string | undefined> {
  try {
    await sql.query(`SAVEPOINT pattern_check`);
    await sql.query(`SELECT '' ~ $1`, [pattern]);
    await sql.query(`RELEASE SAVEPOINT pattern_check`);
    return undefined;
  } catch (err) {
    await sql.query(`ROLLBACK TO SAVEPOINT pattern_check`);
    return err instanceof Error ? err.message : String(err);
  }
}

export interface NewPrice {
  provider: string;
  modelPattern: string;
  effectiveFrom: string;
  effectiveTo?: string | undefined;
  inputPrice: number;
  outputPrice: number;
  cachedInputPrice?: number | undefined;
  cacheWritePrice?: number | undefined;
  reasoningPrice?: number | undefined;
  tier?: string | undefined;
  tiers?: unknown;
  source?: string | undefined;
  sourceReadOn?: string | undefined;
}

export async function insertPrice(sql: Sql, orgId: string, p: NewPrice): Promise<PriceRow> {
  const r = await sql.query<PriceRow>(
    `INSERT INTO model_prices (org_id, provider, model_pattern, effective_from, effective_to, input_price, output_price,
       cached_input_price, cache_write_price, reasoning_price, tier, tiers, source, source_read_on)
     VALUES ($1, $2, $3, $4, $5, $6::text::numeric, $7::text::numeric, $8::text::numeric, $9::text::numeric,
       $10::text::numeric, $11, $12, $13, $14)
     RETURNING ${COLUMNS}`,
    [orgId, p.provider, p.modelPattern, p.effectiveFrom, p.effectiveTo ?? null, String(p.inputPrice), String(p.outputPrice),
      p.cachedInputPrice === undefined ? null : String(p.cachedInputPrice),
      p.cacheWritePrice === undefined ? null : String(p.cacheWritePrice),
      p.reasoningPrice === undefined ? null : String(p.reasoningPrice),
      p.tier ?? null, p.tiers === undefined ? null : JSON.stringify(p.tiers), p.source ?? null, p.sourceReadOn ?? null],
  );
  return r.rows[0]!;
}

/** Deletes an organization's own price; shipped defaults are not the tenant's to delete (RLS). */
export async function deletePrice(sql: Sql, id: string): Promise<boolean> {
  const r = await sql.query(`DELETE FROM model_prices WHERE id = $1 AND org_id IS NOT NULL`, [id]);
  return (r.rowCount ?? 0) > 0;
}

export async function resolvePrice(sql: Sql, model: string, provider: string | undefined, at: string): Promise<PriceRow | undefined> {
  const r = await sql.query<PriceRow>(
    `SELECT ${COLUMNS} FROM model_price_for($1, $2, $3::timestamptz)`,
    [model, provider ?? null, at],
  );
  return r.rows[0];
}
