import type protobuf from 'protobufjs';
import { lazyRequire } from '../../lazy-require.js';
import { normaliseOtlp, type OtlpRequest } from './otlp-json.js';

/**
 * The subset of opentelemetry/proto (v1: collector/trace, trace, common,
 * resource) that trace ingest reads, as .proto text. Field numbers and types
 * are the upstream ones; fields left out (entity refs, schema urls) are
 * skipped on the wire like any unknown field. Parsed (and protobufjs loaded)
 * on first use, so importing this module costs nothing.
 */
const COMMON_PROTO = `
syntax = "proto3";

package opentelemetry.proto.common.v1;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue {
  string key = 1;
  AnyValue value = 2;
}
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
`;

const RESOURCE_PROTO = `
syntax = "proto3";

package opentelemetry.proto.resource.v1;

message Resource {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}
`;

const TRACE_PROTO = `
syntax = "proto3";

package opentelemetry.proto.trace.v1;

message ResourceSpans {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
message ScopeSpans {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  enum SpanKind {
    SPAN_KIND_UNSPECIFIED = 0;
    SPAN_KIND_INTERNAL = 1;
    SPAN_KIND_SERVER = 2;
    SPAN_KIND_CLIENT = 3;
    SPAN_KIND_PRODUCER = 4;
    SPAN_KIND_CONSUMER = 5;
  }
  SpanKind kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 3;
    uint32 dropped_attributes_count = 4;
  }
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  message Link {
    bytes trace_id = 1;
    bytes span_id = 2;
    string trace_state = 3;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5;
    fixed32 flags = 6;
  }
  repeated Link links = 13;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status {
  reserved 1;
  string message = 2;
  enum StatusCode {
    STATUS_CODE_UNSET = 0;
    STATUS_CODE_OK = 1;
    STATUS_CODE_ERROR = 2;
  }
  StatusCode code = 3;
}
`;

const SERVICE_PROTO = `
syntax = "proto3";

package opentelemetry.proto.collector.trace.v1;

message ExportTraceServiceRequest {
  repeated opentelemetry.proto.trace.v1.ResourceSpans resource_spans = 1;
}
message ExportTraceServiceResponse {
  ExportTracePartialSuccess partial_success = 1;
}
message ExportTracePartialSuccess {
  int64 rejected_spans = 1;
  string error_message = 2;
}
`;

interface OtlpTypes {
  request: protobuf.Type;
  response: protobuf.Type;
}

// Loaded with the schema, by the first OTLP/protobuf export.
const protobufjs = lazyRequire<typeof protobuf>('protobufjs');
let types: OtlpTypes | undefined;

/** The request and response message types (exported so tests encode requests with the same schema). */
export function otlpTypes(): OtlpTypes {
  if (!types) {
    const pb = protobufjs();
    const root = new pb.Root();
    for (const source of [COMMON_PROTO, RESOURCE_PROTO, TRACE_PROTO, SERVICE_PROTO]) pb.parse(source, root);
    root.resolveAll();
    types = {
      request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
      response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    };
  }
  return types;
}

/** Thrown for bytes that are not an ExportTraceServiceRequest. */
export class OtlpProtoError extends Error {
  override name = 'OtlpProtoError';
}

const hex = (b64: unknown): unknown => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('hex') : b64);

type Obj = Record<string, unknown>;
const each = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

/**
 * Decodes protobuf bytes into the normalised request. The decoded message is
 * first put in the OTLP/JSON shape (64-bit integers as decimal strings, ids as
 * hex, other bytes as base64), so both encodings go through one reader.
 */
export function decodeOtlpProto(body: Uint8Array): OtlpRequest {
  const { request } = otlpTypes();
  let plain: Obj;
  try {
    plain = request.toObject(request.decode(body), { longs: String, bytes: String, enums: Number }) as Obj;
  } catch (err) {
    // protobufjs throws plain Errors (and RangeError on truncated or absurdly nested input).
    throw new OtlpProtoError((err as Error).message);
  }
  for (const rs of each(plain.resourceSpans)) {
    for (const ss of each(rs.scopeSpans)) {
      for (const s of each(ss.spans)) {
        s.traceId = hex(s.traceId);
        s.spanId = hex(s.spanId);
        s.parentSpanId = hex(s.parentSpanId);
        for (const l of each(s.links)) {
          l.traceId = hex(l.traceId);
          l.spanId = hex(l.spanId);
        }
      }
    }
  }
  return normaliseOtlp(plain);
}

/** An ExportTraceServiceResponse; partial_success is left out when nothing was rejected or said. */
export function encodeOtlpResponse(rejectedSpans: number, errorMessage: string): Uint8Array {
  const { response } = otlpTypes();
  const msg = rejectedSpans > 0 || errorMessage ? { partialSuccess: { rejectedSpans, errorMessage } } : {};
  return response.encode(response.fromObject(msg)).finish();
}
