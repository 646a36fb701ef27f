import type { EgressFetch, OpenSecret } from '../deps.js';
import { hashedEmbedder } from './hashed.js';
import type { Embedder, EmbedderSpec } from './types.js';

export interface EmbedderContext {
  orgId: string;
  egressFetch?: EgressFetch;
  openSecret?: OpenSecret;
}

/** The embedder a spec names; null for `none` (memories are then searched by text only). */
export function createEmbedder(spec: EmbedderSpec, _ctx: EmbedderContext): Embedder | null {
  switch (spec.embedder) {
    case 'none':
      return null;
    case 'hashed':
      return hashedEmbedder(spec.dims);
    default:
      throw new Error(`embedder ${spec.embedder} is not available yet`);
  }
}
