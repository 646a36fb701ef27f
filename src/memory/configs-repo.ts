import type { Sql } from '../db/index.js';
import { uuidv7 } from '../db/index.js';

/** One memory_configs row: the org's (agentId null) or an agent's override. null fields inherit. */
export interface MemoryConfigRow {
  agentId: string | null;
  embedder: 'bundled' | 'openai' | 'hashed' | 'none' | null;
  embeddingModel: string | null;
  embeddingDims: number | null;
  baseUrl: string | null;
  secretName: string | null;
  recencyHalfLifeDays: number | null;
  injectTokenBudget: number | null;
  extractAfterRun: boolean | null;
  dedupeThreshold: number | null;
  version: number;
  updatedAt: Date;
}

export type MemoryConfigFields = Omit<MemoryConfigRow, 'agentId' | 'version' | 'updatedAt'>;

const COLUMNS = `agent_id AS "agentId", embedder, embedding_model AS "embeddingModel", embedding_dims AS "embeddingDims",
  base_url AS "baseUrl", secret_name AS "secretName", recency_half_life_days AS "recencyHalfLifeDays",
  inject_token_budget AS "injectTokenBudget", extract_after_run AS "extractAfterRun",
  dedupe_threshold AS "dedupeThreshold", version, updated_at AS "updatedAt"`;

/** The org's row and, when an agent is named, the agent's: at most two rows, org first. */
export async function configRows(sql: Sql, orgId: string, agentId: string | null): Promise<MemoryConfigRow[]> {
  const r = await sql.query<MemoryConfigRow>(
    `SELECT ${COLUMNS} FROM memory_configs WHERE org_id = $1 AND (agent_id IS NULL OR agent_id = $2)
      ORDER BY agent_id NULLS FIRST`,
    [orgId, agentId],
  );
  return r.rows;
}

/**
 * Replaces the org's (agentId null) or an agent's row with exactly these
 * fields. Update-then-insert rather than ON CONFLICT: the two unique indexes
 * are partial, and the caller holds the agent's (or org's) lock.
 */
export async function putConfig(sql: Sql, orgId: string, agentId: string | null, f: MemoryConfigFields): Promise<MemoryConfigRow> {
  const values = [f.embedder, f.embeddingModel, f.embeddingDims, f.baseUrl, f.secretName, f.recencyHalfLifeDays,
    f.injectTokenBudget, f.extractAfterRun, f.dedupeThreshold];
  const updated = await sql.query<MemoryConfigRow>(
    `UPDATE memory_configs SET embedder = $3, embedding_model = $4, embedding_dims = $5, base_url = $6, secret_name = $7,
       recency_half_life_days = $8, inject_token_budget = $9, extract_after_run = $10, dedupe_threshold = $11
      WHERE org_id = $1 AND agent_id IS NOT DISTINCT FROM $2::uuid RETURNING ${COLUMNS}`,
    [orgId, agentId, ...values],
  );
  if (updated.rows[0]) return updated.rows[0];
  const r = await sql.query<MemoryConfigRow>(
    `INSERT INTO memory_configs (org_id, agent_id, embedder, embedding_model, embedding_dims, base_url, secret_name,
       recency_half_life_days, inject_token_budget, extract_after_run, dedupe_threshold, id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${COLUMNS}`,
    [orgId, agentId, ...values, uuidv7()],
  );
  return r.rows[0]!;
}
