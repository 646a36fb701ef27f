/**
 * OTLP/JSON (opentelemetry/proto ExportTraceServiceRequest in the OTLP JSON
 * encoding) read into one normalised, typed shape that the protobuf decoder
 * feeds as well. Per the OTLP spec: trace and span ids are hex strings,
 * 64-bit integers may be strings or numbers, enums are integers, unknown
 * fields are ignored. Hand-written rather than a zod schema because a
 * malformed span must be rejected alone (counted in partialSuccess), not the
 * whole request, and AnyValue nesting needs an explicit depth bound.
 */

export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attributes = Record<string, AttrValue>;

export interface OtlpEvent {
  name: string;
  timeNs: bigint;
  attributes: Attributes;
}

export interface OtlpLink {
  traceId: string;
  spanId: string;
  attributes: Attributes;
}

export interface OtlpSpan {
  /** Lower-case hex as sent; validity (length, all-zero) is the mapper's call, per span. */
  traceId: string;
  spanId: string;
  /** Absent for a root span (empty or all-zero on the wire). */
  parentSpanId?: string;
  name: string;
  /** SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Attributes;
  /** StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  events: OtlpEvent[];
  links: OtlpLink[];
  /** Set when this span cannot be read; it is rejected alone. */
  problem?: string;
}

export interface OtlpScopeSpans {
  scope: { name: string; version: string; attributes: Attributes };
  spans: OtlpSpan[];
}

export interface OtlpResourceSpans {
  resource: Attributes;
  scopeSpans: OtlpScopeSpans[];
}

export interface OtlpRequest {
  resourceSpans: OtlpResourceSpans[];
}

/** A request that does not have the shape of an ExportTraceServiceRequest: answered 400 as a whole. */
export class OtlpShapeError extends Error {
  override name = 'OtlpShapeError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** A problem inside one span: that span is rejected, the rest of the request proceeds. */
class SpanProblem extends Error {}

/** Attributes sit two levels into a stored JSON object, whose depth the ingest schema bounds at 32. */
const MAX_VALUE_DEPTH = 24;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// PostgreSQL text and jsonb refuse NUL and lone surrogates (which OTLP/JSON can
// carry as \u escapes); replacing them keeps one odd character in one
// attribute from costing the whole span.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
export const storable = (s: string): string => s.replace(UNSTORABLE, '\uFFFD');

/** Lower-case hex of an id; anything that is not hex becomes '' (an invalid id, rejected per span). */
function hexId(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v)) return '';
  return v.toLowerCase();
}

function text(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new SpanProblem(`${what} must be a string`);
  return storable(v);
}

const UINT64_MAX = 2n ** 64n - 1n;

/**
 * A 64-bit unsigned integer as OTLP/JSON sends it: a decimal string or a
 * number. Anything else, or past 2^64 - 1 (1.5e30 is an integer to
 * JavaScript), rejects the span alone: times are read from these, and every
 * time within the range is one a Date can hold (up to the year 2554).
 */
function uint64(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  let n: bigint | undefined;
  if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) n = BigInt(v);
  else if (typeof v === 'number' && Number.isInteger(v) && v >= 0) n = BigInt(v);
  if (n === undefined) throw new SpanProblem(`${what} must be an unsigned integer (a decimal string or a number)`);
  if (n > UINT64_MAX) throw new SpanProblem(`${what} must be at most 2^64 - 1 (nanoseconds since 1970)`);
  return n;
}

function enumInt(v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) ? v : 0;
}

/** AnyValue to its plain JSON value: arrays stay arrays, kvlists become objects, bytes stay base64. */
export function anyValue(v: unknown, depth = 1): AttrValue {
  if (!isObj(v)) return null;
  if (depth > MAX_VALUE_DEPTH) throw new SpanProblem(`an attribute value is nested deeper than ${MAX_VALUE_DEPTH} levels`);
  if (typeof v.stringValue === 'string') return storable(v.stringValue);
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (v.intValue !== undefined && v.intValue !== null) {
    const i = v.intValue;
    if (typeof i === 'number' && Number.isInteger(i)) return i;
    if (typeof i === 'string' && /^-?[0-9]{1,20}$/.test(i)) {
      const n = Number(i);
      // Beyond 2^53 a JSON number would silently change the value; the decimal string keeps it.
      return Number.isSafeInteger(n) ? n : i;
    }
    throw new SpanProblem('intValue must be an integer (a decimal string or a number)');
  }
  if (v.doubleValue !== undefined && v.doubleValue !== null) {
    const d = v.doubleValue;
    if (typeof d === 'number') return Number.isFinite(d) ? d : String(d);
    // proto3 JSON spells the non-finite doubles as strings.
    if (typeof d === 'string' && /^(NaN|-?Infinity|-?[0-9.eE+-]+)$/.test(d)) {
      const n = Number(d);
      return Number.isFinite(n) ? n : d;
    }
    throw new SpanProblem('doubleValue must be a number');
  }
  if (isObj(v.arrayValue)) {
    const values = v.arrayValue.values ?? [];
    if (!Array.isArray(values)) throw new SpanProblem('arrayValue.values must be an array');
    return values.map((x) => anyValue(x, depth + 1));
  }
  if (isObj(v.kvlistValue)) return attributes(v.kvlistValue.values, depth + 1);
  if (typeof v.bytesValue === 'string') return v.bytesValue;
  return null;
}

/** A KeyValue list to an object; keys are unique per the spec, and the last one wins if not. */
export function attributes(list: unknown, depth = 1): Attributes {
  if (list === undefined || list === null) return {};
  if (!Array.isArray(list)) throw new SpanProblem('attributes must be an array of {key, value}');
  // fromEntries defines own properties, so a key named __proto__ stays a plain key.
  return Object.fromEntries(
    list.filter((kv): kv is Obj => isObj(kv) && typeof kv.key === 'string').map((kv) => [storable(kv.key as string), anyValue(kv.value, depth)]),
  );
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpShapeError(path, 'must be an array');
  return v;
}

function object(v: unknown, path: string): Obj {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new OtlpShapeError(path, 'must be an object');
  return v;
}

/** Attributes outside any span: their failure fails the request. */
function outerAttributes(v: unknown, path: string): Attributes {
  try {
    return attributes(v);
  } catch (err) {
    if (err instanceof SpanProblem) throw new OtlpShapeError(path, err.message);
    throw err;
  }
}

function span(raw: unknown): OtlpSpan {
  const s: OtlpSpan = {
    traceId: '', spanId: '', name: '', kind: 0, startNs: 0n, endNs: 0n, attributes: {},
    status: { code: 0, message: '' }, events: [], links: [],
  };
  try {
    if (!isObj(raw)) throw new SpanProblem('a span must be an object');
    s.traceId = hexId(raw.traceId);
    s.spanId = hexId(raw.spanId);
    const parent = hexId(raw.parentSpanId);
    if (typeof raw.parentSpanId === 'string' && raw.parentSpanId !== '' && parent === '') throw new SpanProblem('parentSpanId must be hex');
    if (parent !== '' && !/^0+$/.test(parent)) s.parentSpanId = parent;
    s.name = text(raw.name, 'name');
    s.kind = enumInt(raw.kind);
    s.startNs = uint64(raw.startTimeUnixNano, 'startTimeUnixNano');
    s.endNs = uint64(raw.endTimeUnixNano, 'endTimeUnixNano');
    s.attributes = attributes(raw.attributes);
    if (isObj(raw.status)) s.status = { code: enumInt(raw.status.code), message: text(raw.status.message, 'status.message') };
    s.events = (Array.isArray(raw.events) ? raw.events : []).filter(isObj).map((e) => ({
      name: text(e.name, 'event name'), timeNs: uint64(e.timeUnixNano, 'event timeUnixNano'), attributes: attributes(e.attributes),
    }));
    s.links = (Array.isArray(raw.links) ? raw.links : []).filter(isObj).map((l) => ({
      traceId: hexId(l.traceId), spanId: hexId(l.spanId), attributes: attributes(l.attributes),
    }));
  } catch (err) {
    if (!(err instanceof SpanProblem)) throw err;
    s.problem = err.message;
  }
  return s;
}

/** A parsed OTLP/JSON (or protobuf-decoded, same field names) request to its normalised shape. */
export function normaliseOtlp(body: unknown): OtlpRequest {
  if (!isObj(body)) throw new OtlpShapeError('body', 'must be a JSON object (an ExportTraceServiceRequest)');
  return {
    resourceSpans: list(body.resourceSpans, 'resourceSpans').map((rs, i) => {
      const rPath = `resourceSpans[${i}]`;
      const r = object(rs, rPath);
      const resource = object(r.resource, `${rPath}.resource`);
      return {
        resource: outerAttributes(resource.attributes, `${rPath}.resource.attributes`),
        scopeSpans: list(r.scopeSpans, `${rPath}.scopeSpans`).map((ss, j) => {
          const sPath = `${rPath}.scopeSpans[${j}]`;
          const sc = object(ss, sPath);
          const scope = object(sc.scope, `${sPath}.scope`);
          return {
            scope: {
              name: typeof scope.name === 'string' ? storable(scope.name) : '',
              version: typeof scope.version === 'string' ? storable(scope.version) : '',
              attributes: outerAttributes(scope.attributes, `${sPath}.scope.attributes`),
            },
            spans: list(sc.spans, `${sPath}.spans`).map(span),
          };
        }),
      };
    }),
  };
}

/** Reads an OTLP/JSON body. Throws SyntaxError for text that is not JSON, OtlpShapeError for the wrong shape. */
export function parseOtlpJson(body: Buffer): OtlpRequest {
  return normaliseOtlp(JSON.parse(body.toString('utf8')));
}
