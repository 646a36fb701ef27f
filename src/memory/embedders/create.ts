import type { EgressFetch, OpenSecret } from '../deps.js';
import { MAX_DIMS } from '../space.js';
import { bundledEmbedder } from './bundled.js';
import { hashedEmbedder } from './hashed.js';
import { EmbedderError, openaiEmbedder } from './openai.js';
import type { Embedder, EmbedderSpec } from './types.js';

export interface EmbedderContext {
  orgId: string;
  egressFetch?: EgressFetch;
  openSecret?: OpenSecret;
}

/**
 * The embedder a spec names; null for `none` (memories are then searched by
 * text only). Cheap: nothing is loaded or fetched until the first embed.
 * Throws EmbedderError (embedder_rejected) for a spec that cannot work.
 */
export function createEmbedder(spec: EmbedderSpec, ctx: EmbedderContext): Embedder | null {
  switch (spec.embedder) {
    case 'none':
      return null;
    case 'hashed':
      return hashedEmbedder(checkDims(spec.dims));
    case 'bundled':
      return bundledEmbedder();
    case 'openai': {
      // The service wires these in (server.ts, from the runtime's egress policy and the secrets module); without them no request may go out.
      if (!ctx.egressFetch || !ctx.openSecret) {
        throw new EmbedderError(
          'embedder_unavailable',
          'the openai embedder cannot be used: this service was started without outbound access for memory (egressFetch and openSecret in createMemory)',
        );
      }
      let base: URL;
      try {
        base = new URL(spec.baseUrl);
      } catch {
        throw new EmbedderError('embedder_rejected', `the embedder's baseUrl ${JSON.stringify(spec.baseUrl.slice(0, 200))} is not a URL; use e.g. https://api.openai.com/v1`);
      }
      if (base.protocol !== 'http:' && base.protocol !== 'https:') {
        throw new EmbedderError('embedder_rejected', `the embedder's baseUrl must be http(s), not ${base.protocol}`);
      }
      if (base.username || base.password) {
        throw new EmbedderError('embedder_rejected', "the embedder's baseUrl must not hold a user name or password: store the key with POST /v1/secrets and name it in secretName");
      }
      return openaiEmbedder({
        orgId: ctx.orgId,
        baseUrl: spec.baseUrl,
        model: spec.model,
        dims: checkDims(spec.dims),
        secretName: spec.secretName,
        egressFetch: ctx.egressFetch,
        openSecret: ctx.openSecret,
      });
    }
    default: {
      const never: never = spec;
      throw new EmbedderError('embedder_rejected', `unknown embedder ${(never as { embedder: string }).embedder}: use none, hashed, bundled or openai`);
    }
  }
}

function checkDims(dims: number | undefined): number | undefined {
  if (dims !== undefined && (!Number.isInteger(dims) || dims < 1 || dims > MAX_DIMS)) {
    throw new EmbedderError('embedder_rejected', `the embedder's dims must be a whole number from 1 to ${MAX_DIMS}, not ${dims}`);
  }
  return dims;
}
