import type { Embedder } from './types.js';

/** One call to a priced embedder, for the cost ledger. */
export interface EmbeddingCall {
  /** input tokens as the provider counted them */
  tokens: number;
  /** texts in the call */
  texts: number;
  startedAt: Date;
  endedAt: Date;
}

/**
 * The embedder with each successful call reported to `record` after it
 * returns. A failure to record is the recorder's to log: the embedding was
 * made and is returned either way, so a ledger problem never fails a save or
 * a search.
 */
export function metered(e: Embedder, record: (c: EmbeddingCall) => Promise<void>): Embedder {
  return {
    kind: e.kind,
    model: e.model,
    dims: e.dims,
    async embed(texts, opts) {
      const startedAt = new Date();
      const r = await e.embed(texts, opts);
      if (texts.length > 0) await record({ tokens: r.tokens, texts: texts.length, startedAt, endedAt: new Date() });
      return r;
    },
  };
}
