/**
 * Input mappings: how a step's input is built from the run input and the
 * outputs of earlier steps.
 *
 * A mapping is any JSON value. Objects and arrays are walked; every string
 * that starts with "$" is a path and is replaced by the value it points at;
 * everything else is taken literally. A string that starts with "$$" is the
 * literal string without its first "$".
 *
 *   path     := "$" root segment*
 *   root     := ".input"                 the run's input
 *             | ".steps." key ".output"  the output of an earlier step (an ancestor)
 *             | ".item" | ".index"       in a fan_out template: the element and its position
 *   segment  := "." name                 an object member ([A-Za-z_][A-Za-z0-9_-]*)
 *             | "[" digits "]"           an array element, from 0
 *             | "[" json-string "]"      any object member, e.g. ["first name"]
 *
 * A path that leads nowhere (a missing member, an index past the end) yields null.
 *
 * Hand-written rather than a JSONPath library: the subset has no filters,
 * wildcards or script expressions (jsonpath-plus has had remote-code-execution
 * advisories from exactly those), and the definition is checked when it is
 * saved — every path must parse and name only ancestors of its step — which
 * needs the parsed path, not just an evaluator.
 */

export type Segment = string | number;

export type Path =
  | { root: 'input'; segments: Segment[]; text: string }
  | { root: 'steps'; step: string; segments: Segment[]; text: string }
  | { root: 'item'; segments: Segment[]; text: string }
  | { root: 'index'; segments: Segment[]; text: string };

export class MappingError extends Error {
  override name = 'MappingError';
  constructor(
    message: string,
    /** where in the mapping, e.g. "input.city" */
    readonly at: string,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*/;
const INDEX = /^\[(\d{1,9})\]/;
const QUOTED = /^\[("(?:[^"\\]|\\.)*")\]/;

export const isPath = (s: string): boolean => s.startsWith('$') && !s.startsWith('$$');

function parseSegments(text: string, rest: string, at: string): Segment[] {
  const out: Segment[] = [];
  let s = rest;
  while (s.length) {
    let m: RegExpExecArray | null;
    if (s.startsWith('.') && (m = NAME.exec(s.slice(1)))) {
      out.push(m[0]);
      s = s.slice(1 + m[0].length);
    } else if ((m = INDEX.exec(s))) {
      out.push(Number(m[1]));
      s = s.slice(m[0].length);
    } else if ((m = QUOTED.exec(s))) {
      let key: unknown;
      try {
        key = JSON.parse(m[1]!);
      } catch {
        throw new MappingError(`path ${text}: ${m[1]} is not a valid JSON string`, at);
      }
      out.push(key as string);
      s = s.slice(m[0].length);
    } else {
      throw new MappingError(`path ${text}: cannot read "${s.slice(0, 20)}"; use .name, [0] or ["any key"]`, at);
    }
  }
  return out;
}

/** Parses one path string (which starts with "$"). */
export function parsePath(text: string, at = ''): Path {
  const segs = parseSegments(text, text.slice(1), at);
  const [root, ...rest] = segs;
  switch (root) {
    case 'input':
      return { root, segments: rest, text };
    case 'item':
    case 'index':
      return { root, segments: rest, text };
    case 'steps': {
      const [step, output, ...tail] = rest;
      if (typeof step !== 'string' || output !== 'output') {
        throw new MappingError(`path ${text}: write $.steps.<step key>.output…`, at);
      }
      return { root, step, segments: tail, text };
    }
    default:
      throw new MappingError(`path ${text}: must start with $.input, $.steps.<key>.output, $.item or $.index`, at);
  }
}

/** Every path in a mapping, with where it is; throws MappingError on the first bad one. */
export function mappingPaths(mapping: unknown, at = ''): Array<{ path: Path; at: string }> {
  const out: Array<{ path: Path; at: string }> = [];
  const walk = (v: unknown, where: string) => {
    if (typeof v === 'string') {
      if (isPath(v)) out.push({ path: parsePath(v, where), at: where });
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${where}[${i}]`));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, where ? `${where}.${k}` : k);
    }
  };
  walk(mapping, at);
  return out;
}

export interface MappingContext {
  input: unknown;
  /** outputs of completed steps by key */
  steps: Record<string, unknown>;
  item?: unknown;
  index?: number;
}

function follow(value: unknown, segments: Segment[]): unknown {
  let v = value;
  for (const s of segments) {
    if (typeof s === 'number') {
      v = Array.isArray(v) && s < v.length ? v[s] : undefined;
    } else {
      v = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, s) ? (v as Record<string, unknown>)[s] : undefined;
    }
    if (v === undefined) return null;
  }
  return v === undefined ? null : v;
}

function resolve(path: Path, ctx: MappingContext): unknown {
  switch (path.root) {
    case 'input':
      return follow(ctx.input, path.segments);
    case 'item':
      return follow(ctx.item, path.segments);
    case 'index':
      return follow(ctx.index, path.segments);
    case 'steps':
      return follow(Object.hasOwn(ctx.steps, path.step) ? ctx.steps[path.step] : undefined, path.segments);
  }
}

/** Builds the value a mapping describes. */
export function evaluateMapping(mapping: unknown, ctx: MappingContext): unknown {
  if (typeof mapping === 'string') {
    if (mapping.startsWith('$$')) return mapping.slice(1);
    return mapping.startsWith('$') ? resolve(parsePath(mapping), ctx) : mapping;
  }
  if (Array.isArray(mapping)) return mapping.map((x) => evaluateMapping(x, ctx));
  if (mapping !== null && typeof mapping === 'object') {
    return Object.fromEntries(Object.entries(mapping).map(([k, x]) => [k, evaluateMapping(x, ctx)]));
  }
  return mapping;
}
