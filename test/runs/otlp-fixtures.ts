import { randomBytes } from 'node:crypto';
import { otlpTypes } from '../../src/runs/otlp/otlp-proto.js';

// ---- building OTLP requests the way exporters send them ----

export type Attr = string | number | boolean | string[];
export interface TSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startNs: bigint;
  endNs: bigint;
  attrs?: Record<string, Attr>;
  status?: { code: number; message?: string };
}

export const traceId = () => randomBytes(16).toString('hex');
export const spanId = () => randomBytes(8).toString('hex');
/** Nanoseconds, now-ish (inside the partitions' window), offset by ms. */
export const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;
export const at = (ms: number) => T0 + BigInt(ms) * 1_000_000n;

/** OTLP/JSON AnyValue; integers as decimal strings, as the protobuf JSON mapping writes int64. */
export function jsonValue(v: Attr): Record<string, unknown> {
  if (Array.isArray(v)) return { arrayValue: { values: v.map(jsonValue) } };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}
export const jsonAttrs = (a: Record<string, Attr> = {}) => Object.entries(a).map(([key, v]) => ({ key, value: jsonValue(v) }));

export const RESOURCE = { 'service.name': 'trip-service', 'telemetry.sdk.language': 'nodejs' };

export function otlpJson(spans: TSpan[], resource: Record<string, Attr> = RESOURCE) {
  return {
    resourceSpans: [{
      resource: { attributes: jsonAttrs(resource) },
      scopeSpans: [{
        scope: { name: 'test-instrumentation', version: '1.2.3' },
        spans: spans.map((s) => ({
          traceId: s.traceId, spanId: s.spanId, ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          name: s.name, kind: 1, startTimeUnixNano: String(s.startNs), endTimeUnixNano: String(s.endNs),
          attributes: jsonAttrs(s.attrs), ...(s.status ? { status: s.status } : {}),
        })),
      }],
    }],
  };
}

/** The same request as protobuf bytes, encoded with the service's own descriptor. */
export function otlpProto(spans: TSpan[], resource: Record<string, Attr> = RESOURCE): Buffer {
  const protoValue = (v: Attr): Record<string, unknown> => {
    if (Array.isArray(v)) return { arrayValue: { values: v.map(protoValue) } };
    if (typeof v === 'string') return { stringValue: v };
    if (typeof v === 'boolean') return { boolValue: v };
    return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
  };
  const attrs = (a: Record<string, Attr> = {}) => Object.entries(a).map(([key, v]) => ({ key, value: protoValue(v) }));
  const { request } = otlpTypes();
  const msg = request.fromObject({
    resourceSpans: [{
      resource: { attributes: attrs(resource) },
      scopeSpans: [{
        scope: { name: 'test-instrumentation', version: '1.2.3' },
        spans: spans.map((s) => ({
          traceId: Buffer.from(s.traceId, 'hex'), spanId: Buffer.from(s.spanId, 'hex'),
          ...(s.parentSpanId ? { parentSpanId: Buffer.from(s.parentSpanId, 'hex') } : {}),
          name: s.name, kind: 3, startTimeUnixNano: String(s.startNs), endTimeUnixNano: String(s.endNs),
          attributes: attrs(s.attrs), ...(s.status ? { status: s.status } : {}),
        })),
      }],
    }],
  });
  return Buffer.from(request.encode(msg).finish());
}

/** A small agent run: invoke_agent root, a chat call and a tool call under it. */
export function agentRun(over: { agentId?: string; agentName?: string; conversation?: string; rootStatus?: TSpan['status'] } = {}) {
  const trace = traceId();
  const root: TSpan = {
    traceId: trace, spanId: spanId(), name: 'invoke_agent Trip Planner', startNs: at(0), endNs: at(5000),
    attrs: {
      'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': over.agentName ?? 'Trip Planner',
      ...(over.agentId ? { 'gen_ai.agent.id': over.agentId } : {}), 'gen_ai.agent.description': 'Plans trips',
      'gen_ai.conversation.id': over.conversation ?? `conv-${spanId()}`, 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
    },
    ...(over.rootStatus ? { status: over.rootStatus } : {}),
  };
  const chat: TSpan = {
    traceId: trace, spanId: spanId(), parentSpanId: root.spanId, name: 'chat gpt-4o-mini', startNs: at(100), endNs: at(2100),
    attrs: {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 500,
      'gen_ai.usage.cache_read.input_tokens': 400, 'gen_ai.usage.reasoning.output_tokens': 100,
      'gen_ai.request.temperature': 0.5, 'gen_ai.response.finish_reasons': ['stop'],
    },
  };
  const tool: TSpan = {
    traceId: trace, spanId: spanId(), parentSpanId: root.spanId, name: 'execute_tool search', startNs: at(2200), endNs: at(2900),
    attrs: {
      'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search',
      'gen_ai.tool.call.arguments': '{"q":"Lisbon hotels"}', 'gen_ai.tool.call.result': 'three hotels found',
    },
  };
  return { trace, root, chat, tool, conversation: root.attrs!['gen_ai.conversation.id'] as string };
}

/**
 * The chat span's price by hand, gpt-4o-mini (migrations/0006_runs.sql): 600
 * uncached input at 0.00000015, 400 cached at 0.000000075, 400 plain output
 * and 100 reasoning tokens both at the output price 0.0000006.
 */
export const CHAT_COST = 600 * 0.00000015 + 400 * 0.000000075 + 400 * 0.0000006 + 100 * 0.0000006; // 0.00042
