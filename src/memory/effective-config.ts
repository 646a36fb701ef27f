import type { MemoryConfig } from '../config/config.js';
import type { MemoryConfigRow } from './configs-repo.js';
import type { EmbedderSpec } from './embedders/types.js';

/** What governs an agent's memories once the agent's, the org's and the service's settings are layered. */
export interface EffectiveMemoryConfig {
  embedder: EmbedderSpec;
  recencyHalfLifeDays: number;
  /** tokens of recalled memories the runtime may inject before a model call */
  injectTokenBudget: number;
  /** whether a finished run queues a job that extracts facts and preferences from it */
  extractAfterRun: boolean;
  /** cosine similarity at or above which an extracted memory supersedes its nearest neighbour instead of adding one */
  dedupeThreshold: number;
}

export const DEFAULT_INJECT_TOKEN_BUDGET = 1000;
export const DEFAULT_DEDUPE_THRESHOLD = 0.9;

/** Rows org first, then the agent's: each non-null field of a later row wins. */
export function effectiveConfig(service: MemoryConfig, rows: readonly MemoryConfigRow[]): EffectiveMemoryConfig {
  const pick = <K extends keyof MemoryConfigRow>(k: K): MemoryConfigRow[K] | null => {
    let v: MemoryConfigRow[K] | null = null;
    for (const r of rows) if (r[k] !== null) v = r[k];
    return v;
  };
  // The embedder fields travel together: an agent that names another embedder
  // does not inherit the org's model or URL.
  const embedderRow = [...rows].reverse().find((r) => r.embedder !== null);
  let embedder: EmbedderSpec;
  if (!embedderRow || embedderRow.embedder === 'bundled') embedder = { embedder: embedderRow ? 'bundled' : service.defaultEmbedder } as EmbedderSpec;
  else if (embedderRow.embedder === 'hashed') embedder = { embedder: 'hashed', ...(embedderRow.embeddingDims ? { dims: embedderRow.embeddingDims } : {}) };
  else if (embedderRow.embedder === 'openai') {
    embedder = {
      embedder: 'openai',
      model: embedderRow.embeddingModel ?? 'text-embedding-3-small',
      baseUrl: embedderRow.baseUrl ?? 'https://api.openai.com/v1',
      ...(embedderRow.embeddingDims ? { dims: embedderRow.embeddingDims } : {}),
      ...(embedderRow.secretName ? { secretName: embedderRow.secretName } : {}),
    };
  } else embedder = { embedder: 'none' };
  return {
    embedder,
    recencyHalfLifeDays: pick('recencyHalfLifeDays') ?? service.halfLifeDays,
    injectTokenBudget: pick('injectTokenBudget') ?? DEFAULT_INJECT_TOKEN_BUDGET,
    extractAfterRun: pick('extractAfterRun') ?? false,
    dedupeThreshold: pick('dedupeThreshold') ?? DEFAULT_DEDUPE_THRESHOLD,
  };
}
