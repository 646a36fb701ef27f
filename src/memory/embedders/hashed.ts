import { createHash } from 'node:crypto';
import type { Embedder, EmbedResult } from './types.js';

/**
 * A deterministic embedder for tests and for trying things out offline: word
 * unigrams and character trigrams hashed into `dims` signed buckets (the
 * "hashing trick"), L2-normalised. Texts that share words or word pieces are
 * close; it knows nothing of meaning (no synonyms), which is what makes a test
 * of the ranking predictable.
 */
export function hashedEmbedder(dims = 256): Embedder {
  return {
    kind: 'hashed',
    model: `hashed-ngram-${dims}`,
    dims,
    async embed(texts: readonly string[]): Promise<EmbedResult> {
      let tokens = 0;
      const vectors = texts.map((t) => {
        const words = t.toLowerCase().normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? [];
        tokens += words.length;
        const v = new Array<number>(dims).fill(0);
        const add = (feature: string, weight: number) => {
          const h = createHash('sha1').update(feature).digest();
          const i = h.readUInt32LE(0) % dims;
          v[i]! += (h[4]! & 1 ? 1 : -1) * weight;
        };
        for (const w of words) {
          add(`w:${w}`, 1);
          const padded = `^${w}$`;
          for (let i = 0; i + 3 <= padded.length; i++) add(`c:${padded.slice(i, i + 3)}`, 0.5);
        }
        const norm = Math.hypot(...v);
        return norm === 0 ? v.map((_, i) => (i === 0 ? 1 : 0)) : v.map((x) => x / norm);
      });
      return { vectors, tokens };
    },
  };
}
