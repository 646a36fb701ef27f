/**
 * What the runtime records comes partly from outside: model answers, tool
 * arguments and tool responses. Ingestion refuses what PostgreSQL cannot hold
 * (NUL characters, JSON nested deeper than 32 levels, non-finite numbers) and
 * jsonb refuses unpaired UTF-16 surrogates, so such data would fail the
 * recording and with it the run. It is made storable here instead, keeping
 * as much as possible: NUL and lone surrogates become U+FFFD, a subtree past
 * the depth limit is kept as its JSON text, a non-finite number becomes null.
 */

/** Ingestion's limit (src/http/json-schemas.ts): the top value is level 1. */
const MAX_JSON_DEPTH = 32;
const REPLACEMENT = '\uFFFD';
// NUL, a high surrogate not followed by a low one, a low surrogate not preceded by a high one.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The text with NUL and unpaired surrogates replaced; cut to max characters (never inside a surrogate pair). */
export function storableText(s: string, max = Infinity): string {
  let out = s.replace(UNSTORABLE, REPLACEMENT);
  if (out.length > max) {
    out = out.slice(0, max);
    if (/[\uD800-\uDBFF]$/.test(out)) out = out.slice(0, -1);
  }
  return out;
}

/** A JSON value ingestion accepts, as close to v as it can be. undefined stays undefined. */
export function storableJson(v: unknown): unknown {
  return v === undefined ? undefined : walk(v, 1);
}

/** The same for a JSON object (span attributes, message data). */
export function storableObject(v: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return v === undefined ? undefined : (walk(v, 1) as Record<string, unknown>);
}

function walk(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return storableText(v);
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object') return null; // functions, symbols: JSON has no such thing
  // toJSON first (Dates), as JSON.stringify would.
  const plain: unknown = typeof (v as { toJSON?: unknown }).toJSON === 'function' ? (v as { toJSON: () => unknown }).toJSON() : v;
  if (plain === null || typeof plain !== 'object') return walk(plain, depth);
  const empty = Array.isArray(plain) ? plain.length === 0 : Object.keys(plain).length === 0;
  // Children of a container at the limit would be past it: the container is kept as its text.
  if (depth >= MAX_JSON_DEPTH && !empty) return storableText(jsonText(plain));
  if (Array.isArray(plain)) return plain.map((x) => walk(x, depth + 1) ?? null);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(plain)) {
    if (x === undefined) continue;
    out[storableText(k)] = walk(x, depth + 1);
  }
  return out;
}

function jsonText(v: object): string {
  try {
    return JSON.stringify(v) ?? 'null';
  } catch (err) {
    // A cycle or a BigInt: no JSON text exists.
    return `[not JSON: ${err instanceof Error ? err.message : String(err)}]`;
  }
}
