/**
 * Embedders turn text into vectors. One interface, several makers: the bundled
 * offline model (the default), any OpenAI-compatible `POST /embeddings`
 * endpoint, and a deterministic hashed n-gram embedder for tests.
 *
 * Terminology:
 * - space: an (embedding model, dimensions) pair. Vectors are only ever
 *          compared within one space; each space has its own HNSW index.
 */
export interface EmbedResult {
  /** one vector per input text, in order, each `dims` long and L2-normalised */
  vectors: number[][];
  /** input tokens as the provider counted them (estimated where it does not say) */
  tokens: number;
}

export interface Embedder {
  readonly kind: 'bundled' | 'openai' | 'hashed';
  /** stored in embedding_model: names the space together with dims */
  readonly model: string;
  readonly dims: number;
  embed(texts: readonly string[], opts?: { signal?: AbortSignal }): Promise<EmbedResult>;
}

/** What an organization or agent configures (memory_configs); resolved to an Embedder by createEmbedder. */
export type EmbedderSpec =
  | { embedder: 'none' }
  | { embedder: 'hashed'; dims?: number }
  | { embedder: 'bundled' }
  | { embedder: 'openai'; model: string; dims?: number; baseUrl: string; secretName?: string };
