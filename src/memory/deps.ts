import type { MemoryConfig } from '../config/config.js';
import type { Database } from '../db/index.js';
import type { EmbeddingCallRecord } from '../runs/index.js';

/** Fetches through the service's outbound policy (no private addresses unless allowed, DNS pinned). */
export type EgressFetch = (url: string, init: { method: string; headers: Record<string, string>; body: string; timeoutMs: number; signal?: AbortSignal }) => Promise<Response>;

/** Opens a stored secret of an organization for a request to `host` (refused when the secret is not bound to it). */
export type OpenSecret = (orgId: string, name: string, host: string) => Promise<string>;

/** A call to a priced embedder (the openai kind) made for an agent: what the runs module's ledger records. */
export type EmbeddingUsage = EmbeddingCallRecord;

export interface MemoryDeps {
  db: Database;
  config: MemoryConfig;
  /** whether the database has pgvector and the embedding columns (decided once at start-up) */
  vectors: boolean;
  egressFetch?: EgressFetch;
  openSecret?: OpenSecret;
  /** records a priced embedding call (the runs module's ledger, wired by the server); none: not recorded */
  recordEmbedding?: (u: EmbeddingUsage) => Promise<void>;
  now?: () => Date;
}

export const clock = (deps: Pick<MemoryDeps, 'now'>): Date => deps.now?.() ?? new Date();
