/**
 * Limits on free-form JSON, checked before anything recursive touches the
 * value. JSON.parse is iterative in V8, but JSON.stringify, zod, the audit
 * log's canonical form and the drivers all recurse: a body nested a few
 * thousand levels deep overflows their stack. Both checks here walk with an
 * explicit stack, so they are safe on any input.
 *
 * - scanJsonText: the raw request text, before it is parsed (a hard cap on the
 *   whole body, naming where it is exceeded).
 * - jsonValueProblem: one parsed field against its own limits (depth counted
 *   from the field, an approximate size, and what PostgreSQL cannot store).
 */

/** Depth of any free-form field, the field's own value being level 1. */
export const MAX_JSON_DEPTH = 32;

/**
 * Depth of a whole request body: the free-form limit plus the envelope a field
 * sits in (a batch, an item, its attributes). Past this nothing is parsed.
 */
export const MAX_BODY_DEPTH = 64;

export const KiB = 1024;
export const MiB = 1024 * 1024;

type Segment = string | number;

/** A path for a message: the first segments, then how much deeper it goes. */
export function pathText(path: readonly Segment[], shown = 6): string {
  const head = path.slice(0, shown).map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
  return path.length > shown ? `${head}… (${path.length} levels)` : head;
}

const OPEN_OBJ = 0x7b; // {
const OPEN_ARR = 0x5b; // [
const CLOSE_OBJ = 0x7d;
const CLOSE_ARR = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * Whether JSON text nests deeper than max; if so, the path of the first place
 * it does. Text that is not JSON is left to the parser to refuse: this only
 * counts brackets outside strings.
 */
export function scanJsonText(text: string, max: number): { path: Segment[] } | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJ || c === OPEN_ARR) {
      if (++depth > max) return { path: pathAt(text, i) };
    } else if (c === CLOSE_OBJ || c === CLOSE_ARR) depth--;
  }
  return null;
}

interface Frame {
  array: boolean;
  index: number;
  key: string | undefined;
  expectKey: boolean;
}

/** The path to the container opened at `stop` (the slow path, only taken for a refusal). */
function pathAt(text: string, stop: number): Segment[] {
  const frames: Frame[] = [];
  for (let i = 0; i < stop; i++) {
    const c = text.charCodeAt(i);
    const top = frames[frames.length - 1];
    if (c === QUOTE) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== QUOTE) j += text.charCodeAt(j) === BACKSLASH ? 2 : 1;
      if (top && !top.array && top.expectKey) {
        top.key = unquote(text.slice(i, j + 1));
        top.expectKey = false;
      }
      i = j;
    } else if (c === OPEN_OBJ || c === OPEN_ARR) {
      frames.push({ array: c === OPEN_ARR, index: 0, key: undefined, expectKey: c === OPEN_OBJ });
    } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
      frames.pop();
    } else if (c === COMMA && top) {
      if (top.array) top.index++;
      else top.expectKey = true;
    }
  }
  // Each open container contributes the key or index of the child the scan is inside.
  return frames.map((f) => (f.array ? f.index : (f.key ?? '?')));
}

function unquote(s: string): string {
  try {
    return JSON.parse(s) as string;
  } catch {
    return s.slice(1, -1);
  }
}

export interface JsonLimits {
  /** levels, the value itself being level 1 */
  maxDepth: number;
  /** about the length of its JSON text, in UTF-16 units (see below) */
  maxBytes: number;
}

export type JsonProblem =
  | { code: 'json_too_deep' | 'payload_too_large' | 'invalid'; message: string; path: Segment[] };

const NUL = '\u0000';

/**
 * What is wrong with a parsed value for a free-form field, or null. Walks
 * with an explicit stack, stopping at the first problem. The size is an
 * estimate of its JSON text (string lengths, keys, punctuation, 8 per number),
 * which is what a limit needs without serialising the value to measure it.
 */
export function jsonValueProblem(root: unknown, limits: JsonLimits): JsonProblem | null {
  // Each entry: the value, its depth and the path to it (shared prefix arrays would save memory; values here are small).
  const stack: [unknown, number, Segment[]][] = [[root, 1, []]];
  let size = 0;
  while (stack.length) {
    const [v, depth, path] = stack.pop()!;
    if (depth > limits.maxDepth) {
      return { code: 'json_too_deep', message: `is nested deeper than ${limits.maxDepth} levels (at ${pathText(path)})`, path };
    }
    if (typeof v === 'string') {
      size += v.length + 2;
      if (v.includes(NUL)) return { code: 'invalid', message: 'must not contain NUL characters', path };
    } else if (typeof v === 'number') {
      size += 8;
      if (!Number.isFinite(v)) return { code: 'invalid', message: 'must be a finite number', path };
    } else if (v === null || typeof v === 'boolean') {
      size += 5;
    } else if (typeof v === 'object') {
      size += 2;
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], depth + 1, [...path, i]]);
        size += v.length;
      } else {
        for (const k of Object.keys(v)) {
          if (k.includes(NUL)) return { code: 'invalid', message: 'must not contain NUL characters in keys', path };
          size += k.length + 4;
          stack.push([(v as Record<string, unknown>)[k], depth + 1, [...path, k]]);
        }
      }
    } else if (v !== undefined) {
      return { code: 'invalid', message: 'must be JSON (a string, number, boolean, null, array or object)', path };
    }
    if (size > limits.maxBytes) {
      return { code: 'payload_too_large', message: `is larger than ${sizeText(limits.maxBytes)} as JSON`, path: [] };
    }
  }
  return null;
}

export function sizeText(bytes: number): string {
  if (bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} bytes`;
}
