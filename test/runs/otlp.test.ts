import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_BODY_LIMIT } from '../../src/runs/ingest-schemas.js';
import { normaliseOtlp, OtlpShapeError, parseOtlpJson } from '../../src/runs/otlp/otlp-json.js';
import { mapOtlp, nsToIso, tokensOf } from '../../src/runs/otlp/otlp-map.js';
import { decodeOtlpProto, encodeOtlpResponse, otlpTypes } from '../../src/runs/otlp/otlp-proto.js';
import { createAgent } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

// ---- building OTLP requests the way exporters send them ----

type Attr = string | number | boolean | string[];
interface TSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startNs: bigint;
  endNs: bigint;
  attrs?: Record<string, Attr>;
  status?: { code: number; message?: string };
}

const traceId = () => randomBytes(16).toString('hex');
const spanId = () => randomBytes(8).toString('hex');
/** Nanoseconds, now-ish (inside the partitions' window), offset by ms. */
const T0 = BigInt(Date.now() - 60_000) * 1_000_000n;
const at = (ms: number) => T0 + BigInt(ms) * 1_000_000n;

/** OTLP/JSON AnyValue; integers as decimal strings, as the protobuf JSON mapping writes int64. */
function jsonValue(v: Attr): Record<string, unknown> {
  if (Array.isArray(v)) return { arrayValue: { values: v.map(jsonValue) } };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}
const jsonAttrs = (a: Record<string, Attr> = {}) => Object.entries(a).map(([key, v]) => ({ key, value: jsonValue(v) }));

const RESOURCE = { 'service.name': 'trip-service', 'telemetry.sdk.language': 'nodejs' };

function otlpJson(spans: TSpan[], resource: Record<string, Attr> = RESOURCE) {
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
function otlpProto(spans: TSpan[], resource: Record<string, Attr> = RESOURCE): Buffer {
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
function agentRun(over: { agentId?: string; agentName?: string; conversation?: string; rootStatus?: TSpan['status'] } = {}) {
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
const CHAT_COST = 600 * 0.00000015 + 400 * 0.000000075 + 400 * 0.0000006 + 100 * 0.0000006; // 0.00042

// ---- decoding and mapping, no database ----

describe('OTLP decoding', () => {
  it('decodes protobuf into the OTLP/JSON shape: hex ids, nanosecond times, every AnyValue kind', () => {
    const trace = traceId();
    const { request } = otlpTypes();
    const bytes = request.encode(request.fromObject({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [{
          scope: { name: 'lib', version: '2' },
          spans: [{
            traceId: Buffer.from(trace, 'hex'), spanId: Buffer.from('00f067aa0ba902b7', 'hex'), name: 'x',
            startTimeUnixNano: '1700000000123456789', endTimeUnixNano: '1700000001000000000',
            attributes: [
              { key: 's', value: { stringValue: 'a' } }, { key: 'i', value: { intValue: 42 } }, { key: 'zero', value: { intValue: 0 } },
              { key: 'big', value: { intValue: '9007199254740993' } }, { key: 'd', value: { doubleValue: 0.25 } },
              { key: 'b', value: { boolValue: false } }, { key: 'bytes', value: { bytesValue: Buffer.from('hi') } },
              { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'p' }, { intValue: 1 }] } } },
              { key: 'kv', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } } },
              { key: 'empty', value: {} },
            ],
            status: { code: 2, message: 'boom' },
            events: [{ name: 'e', timeUnixNano: '1700000000500000000', attributes: [{ key: 'ea', value: { stringValue: 'v' } }] }],
          }],
        }],
      }],
    })).finish();
    const r = decodeOtlpProto(bytes);
    const s = r.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(r.resourceSpans[0]!.resource).toEqual({ 'service.name': 'svc' });
    expect(r.resourceSpans[0]!.scopeSpans[0]!.scope).toMatchObject({ name: 'lib', version: '2' });
    expect(s).toMatchObject({ traceId: trace, spanId: '00f067aa0ba902b7', name: 'x', startNs: 1700000000123456789n, endNs: 1700000001000000000n, status: { code: 2, message: 'boom' } });
    expect(s.parentSpanId).toBeUndefined();
    expect(s.problem).toBeUndefined();
    expect(s.attributes).toEqual({
      s: 'a', i: 42, zero: 0, big: '9007199254740993', d: 0.25, b: false, bytes: Buffer.from('hi').toString('base64'),
      arr: ['p', 1], kv: { k: true }, empty: null,
    });
    expect(s.events).toEqual([{ name: 'e', timeNs: 1700000000500000000n, attributes: { ea: 'v' } }]);
  });

  it('refuses bytes that are not an ExportTraceServiceRequest', () => {
    expect(() => decodeOtlpProto(Buffer.from('this is not protobuf'))).toThrow();
    // A length prefix pointing past the end of the buffer.
    expect(() => decodeOtlpProto(Buffer.from([0x0a, 0x7f, 0x01]))).toThrow();
  });

  it('reads OTLP/JSON: upper-case hex, int64 as strings or numbers, unknown fields ignored', () => {
    const r = parseOtlpJson(Buffer.from(JSON.stringify({
      unknownTopLevel: true,
      resourceSpans: [{ scopeSpans: [{ spans: [{
        traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'EEE19B7EC3C1B174', parentSpanId: '0000000000000000',
        name: 'n', startTimeUnixNano: 1700000000000000000, endTimeUnixNano: '1700000000000000001', somethingNew: 1,
        attributes: [{ key: 'n', value: { intValue: 7 } }, { key: 'nan', value: { doubleValue: 'NaN' } }, { key: '__proto__', value: { stringValue: 'plain key' } }],
      }] }] }],
    })));
    const s = r.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(s).toMatchObject({ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', startNs: 1700000000000000000n, endNs: 1700000000000000001n });
    expect(s.parentSpanId).toBeUndefined();
    expect(s.attributes.n).toBe(7);
    expect(s.attributes.nan).toBe('NaN');
    expect(Object.getOwnPropertyDescriptor(s.attributes, '__proto__')?.value).toBe('plain key');
    expect(Object.getPrototypeOf(s.attributes)).toBe(Object.prototype);
  });

  it('a malformed span is marked for rejection alone; a malformed envelope fails the request', () => {
    const r = normaliseOtlp({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: traceId(), spanId: spanId(), name: 42 }, 'not a span'] }] }] });
    expect(r.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.problem)).toEqual(['name must be a string', 'a span must be an object']);
    expect(() => normaliseOtlp({ resourceSpans: 5 })).toThrow(OtlpShapeError);
    expect(() => normaliseOtlp({ resourceSpans: [{ scopeSpans: [{ spans: {} }] }] })).toThrow('resourceSpans[0].scopeSpans[0].spans: must be an array');
    expect(() => normaliseOtlp([])).toThrow(OtlpShapeError);
  });

  it('replaces characters PostgreSQL cannot store instead of losing the span', () => {
    const r = parseOtlpJson(Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${traceId()}","spanId":"${spanId()}","name":"a\\u0000b","startTimeUnixNano":"1","attributes":[{"key":"k","value":{"stringValue":"x\\ud800y"}}]}]}]}]}`));
    const s = r.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(s.name).toBe('a\uFFFDb');
    expect(s.attributes.k).toBe('x\uFFFDy');
  });

  it('encodes the response: empty when nothing was rejected, partial_success otherwise', () => {
    expect(encodeOtlpResponse(0, '')).toHaveLength(0);
    const { response } = otlpTypes();
    const back = response.toObject(response.decode(encodeOtlpResponse(3, 'three bad spans')), { longs: Number });
    expect(back).toEqual({ partialSuccess: { rejectedSpans: 3, errorMessage: 'three bad spans' } });
  });
});

describe('OTLP to batch items', () => {
  const mapJson = (spans: TSpan[], resource?: Record<string, Attr>) => mapOtlp(normaliseOtlp(otlpJson(spans, resource)));

  it('maps a whole agent run: the root completes the execution, spans get kinds, tokens and tool input', () => {
    const run = agentRun({ conversation: 'conv-1' });
    const m = mapJson([run.chat, run.tool, run.root]);
    expect(m.rejected).toEqual([]);
    expect(m.createOnly.size).toBe(0);
    expect(m.body.executions).toEqual([{
      clientId: `otlp:${run.trace}`, traceId: run.trace, status: 'completed', agentSlug: 'trip-planner', sessionId: 'conv-1',
      modelName: 'gpt-4o-mini', modelProvider: 'openai', spanId: run.root.spanId, startedAt: nsToIso(run.root.startNs),
      completedAt: nsToIso(run.root.endNs), executionTimeMs: 5000,
      metadata: { genAiAgent: { name: 'Trip Planner', description: 'Plans trips' }, resource: RESOURCE },
    }]);
    const [chat, tool, root] = m.body.spans;
    expect(chat).toMatchObject({
      clientId: `otlp:${run.trace}:${run.chat.spanId}`, executionClientId: `otlp:${run.trace}`, kind: 'llm_call',
      parentSpanId: run.root.spanId, model: 'gpt-4o-mini-2024-07-18', provider: 'openai', promptTokens: 1000,
      completionTokens: 500, cachedTokens: 400, reasoningTokens: 100, totalTokens: 1500, status: 'unset', durationMs: 2000,
    });
    expect(chat!.attributes).toMatchObject({
      'gen_ai.request.temperature': 0.5, 'gen_ai.response.finish_reasons': ['stop'], 'otel.scope.name': 'test-instrumentation',
      'otel.scope.version': '1.2.3', 'otel.span.kind': 'internal', 'otel.resource': RESOURCE,
    });
    expect(tool).toMatchObject({ kind: 'tool_call', toolName: 'search', toolStatus: 'unset', input: { q: 'Lisbon hotels' }, output: 'three hotels found' });
    expect(root).toMatchObject({ kind: 'agent_call', name: 'invoke_agent Trip Planner' });
    expect(root!.parentSpanId).toBeUndefined();
  });

  it('an llm span keeps the recorded conversation as its input and output', () => {
    const run = agentRun();
    const messages = [{ role: 'user', parts: [{ type: 'text', content: 'Find a hotel in Lisbon' }] }];
    const chat = { ...run.chat, attrs: { ...run.chat.attrs, 'gen_ai.input.messages': JSON.stringify(messages), 'gen_ai.output.messages': 'not json' } };
    const [span] = mapJson([chat]).body.spans;
    expect(span).toMatchObject({ kind: 'llm_call', input: messages, output: 'not json' });
  });

  it('a child-only request creates the execution running, create-only, at its earliest span', () => {
    const run = agentRun();
    const m = mapJson([run.tool, run.chat]);
    expect(m.body.executions).toEqual([{ clientId: `otlp:${run.trace}`, traceId: run.trace, status: 'running', createdAt: nsToIso(run.chat.startNs) }]);
    expect([...m.createOnly]).toEqual([`otlp:${run.trace}`]);
  });

  it('without the root, the outermost invoke_agent names the agent but still only creates', () => {
    const trace = traceId();
    const outer: TSpan = { traceId: trace, spanId: spanId(), parentSpanId: spanId(), name: 'invoke_agent outer', startNs: at(10), endNs: at(90), attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'outer' } };
    const inner: TSpan = { traceId: trace, spanId: spanId(), parentSpanId: outer.spanId, name: 'invoke_agent inner', startNs: at(5), endNs: at(80), attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'inner' } };
    const m = mapJson([inner, outer]);
    expect(m.body.executions[0]).toMatchObject({ status: 'running', agentSlug: 'outer', startedAt: nsToIso(outer.startNs), createdAt: nsToIso(inner.startNs) });
    expect(m.createOnly.has(`otlp:${trace}`)).toBe(true);
  });

  it('an error root fails the execution; a UUID agent id is an agentId', () => {
    const agentId = '0190b5d0-0000-7000-8000-000000000001';
    const run = agentRun({ agentId, rootStatus: { code: 2, message: 'the model refused' } });
    const m = mapJson([run.root]);
    expect(m.body.executions[0]).toMatchObject({ status: 'failed', errorMessage: 'the model refused', agentId });
    expect(m.body.executions[0]!.agentSlug).toBeUndefined();
    expect(m.body.spans[0]).toMatchObject({ status: 'error', errorMessage: 'the model refused' });
  });

  it('kinds: an llm operation without a model and a span without gen_ai attributes are kept as other', () => {
    const trace = traceId();
    const noModel: TSpan = { traceId: trace, spanId: spanId(), name: 'chat', startNs: at(0), endNs: at(1), attrs: { 'gen_ai.operation.name': 'chat' } };
    const http: TSpan = { traceId: trace, spanId: spanId(), parentSpanId: noModel.spanId, name: 'GET /x', startNs: at(0), endNs: at(1), attrs: { 'http.request.method': 'GET' } };
    const embed: TSpan = { traceId: trace, spanId: spanId(), parentSpanId: noModel.spanId, name: 'embeddings', startNs: at(0), endNs: at(1), attrs: { 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': 'text-embedding-3-small', 'gen_ai.system': 'openai' } };
    const m = mapJson([noModel, http, embed]);
    expect(m.body.spans.map((s) => s.kind)).toEqual(['other', 'other', 'llm_call']);
    expect(m.body.spans[1]!.attributes).toMatchObject({ 'http.request.method': 'GET' });
    expect(m.body.spans[2]).toMatchObject({ model: 'text-embedding-3-small', provider: 'openai' });
  });

  it('rejects spans with unusable ids or no start, one by one', () => {
    const trace = traceId();
    const good: TSpan = { traceId: trace, spanId: spanId(), name: 'ok', startNs: at(0), endNs: at(1) };
    const m = mapJson([
      good,
      { ...good, spanId: '0000000000000000' },
      { ...good, spanId: 'abcd' },
      { ...good, traceId: '00000000000000000000000000000000', spanId: spanId() },
      { ...good, spanId: spanId(), startNs: 0n },
    ]);
    expect(m.body.spans).toHaveLength(1);
    expect(m.rejected.map((r) => r.reason)).toEqual([
      'spanId must be 8 bytes and not all zero',
      'spanId must be 8 bytes and not all zero',
      'traceId must be 16 bytes and not all zero',
      'startTimeUnixNano is missing',
    ]);
  });

  it('tokens: inclusive counts pass through; parts larger than the whole were counted apart and are added', () => {
    expect(tokensOf({ 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.cache_read.input_tokens': 60, 'gen_ai.usage.cache_creation.input_tokens': 30 }))
      .toEqual({ promptTokens: 100, cachedTokens: 60, cacheWriteTokens: 30, totalTokens: 100 });
    // Anthropic-style: input excludes the cache.
    expect(tokensOf({ 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.cache_read_input_tokens': 5000, 'gen_ai.usage.output_tokens': 20, 'gen_ai.usage.reasoning_tokens': 50 }))
      .toEqual({ promptTokens: 5010, cachedTokens: 5000, completionTokens: 70, reasoningTokens: 50, totalTokens: 5080 });
    expect(tokensOf({ 'gen_ai.usage.input_tokens': '12', 'gen_ai.usage.output_tokens': -1 })).toEqual({ promptTokens: 12, totalTokens: 12 });
    expect(tokensOf({})).toEqual({});
  });

  it('tool arguments too deep to store stay text; attributes too deep reject their span alone', () => {
    const trace = traceId();
    const deep = `${'['.repeat(30)}${']'.repeat(30)}`;
    const tool: TSpan = { traceId: trace, spanId: spanId(), name: 'tool', startNs: at(0), endNs: at(1), attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.call.arguments': deep } };
    expect(mapJson([tool]).body.spans[0]!.input).toBe(deep);

    let value: Record<string, unknown> = { stringValue: 'leaf' };
    for (let i = 0; i < 30; i++) value = { arrayValue: { values: [value] } };
    const body = otlpJson([tool, { ...tool, spanId: spanId() }]);
    (body.resourceSpans[0]!.scopeSpans[0]!.spans[1]!.attributes as unknown[]).push({ key: 'deep', value });
    const m = mapOtlp(normaliseOtlp(body));
    expect(m.body.spans).toHaveLength(1);
    expect(m.rejected[0]!.reason).toContain('nested deeper than');
  });

  it('times keep microseconds', () => {
    expect(nsToIso(1700000000123456789n)).toBe('2023-11-14T22:13:20.123456Z');
  });
});

// ---- over HTTP, on the database ----

let t: TestApp;
let a: SignedUp;
let b: SignedUp;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
});
afterAll(async () => t?.close());

const URL = '/v1/otlp/v1/traces';

function postJson(auth: { authorization: string } | undefined, body: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: URL, headers: { ...auth, 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) });
}
function postProto(auth: { authorization: string } | undefined, body: Buffer, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: URL, headers: { ...auth, 'content-type': 'application/x-protobuf', ...headers }, payload: body });
}
const get = (auth: { authorization: string }, url: string) => t.app.inject({ method: 'GET', url, headers: auth });

function okJson(res: LightMyRequestResponse) {
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return res.json();
}

/** A 200 in protobuf, decoded to its ExportTraceServiceResponse. */
function okProto(res: LightMyRequestResponse) {
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toBe('application/x-protobuf');
  const { response } = otlpTypes();
  return response.toObject(response.decode(res.rawPayload), { longs: Number });
}

async function executionsOf(auth: { authorization: string }, trace: string) {
  const res = await get(auth, `/v1/traces/${trace}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function count(orgId: string, table: string, trace: string): Promise<number> {
  return t.db.tenant(orgId, async (sql) => (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE trace_id = $1`, [trace])).rows[0]!.n);
}

describe('POST /v1/otlp/v1/traces', () => {
  it('OTLP/JSON: lands an execution and its span tree, priced from the model price', async () => {
    const run = agentRun();
    expect(okJson(await postJson(a.auth, otlpJson([run.chat, run.tool, run.root])))).toEqual({});

    const list = (await get(a.auth, `/v1/executions?sessionId=${run.conversation}`)).json();
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({
      clientId: `otlp:${run.trace}`, traceId: run.trace, status: 'completed', sessionId: run.conversation,
      modelName: 'gpt-4o-mini', modelProvider: 'openai', agentId: null, promptTokens: 1000, completionTokens: 500,
      cachedTokens: 400, reasoningTokens: 100, metadata: { genAiAgent: { name: 'Trip Planner' }, resource: { 'service.name': 'trip-service' } },
    });
    expect(list.data[0].costUsd).toBeCloseTo(CHAT_COST, 9);

    const tr = await executionsOf(a.auth, run.trace);
    expect(tr.executions).toHaveLength(1);
    expect(tr.spans).toHaveLength(1);
    const root = tr.spans[0];
    expect(root).toMatchObject({ spanId: run.root.spanId, kind: 'agent_call' });
    const byKind = Object.fromEntries(root.children.map((c: { kind: string }) => [c.kind, c]));
    expect(byKind.llm_call).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', provider: 'openai', promptTokens: 1000, completionTokens: 500, cachedTokens: 400, reasoningTokens: 100 });
    expect(byKind.llm_call.costUsd).toBeCloseTo(CHAT_COST, 9);
    expect(byKind.tool_call).toMatchObject({ toolName: 'search', input: { q: 'Lisbon hotels' }, output: 'three hotels found' });
  });

  it('OTLP/protobuf: the same, answered in protobuf', async () => {
    const run = agentRun();
    const res = await postProto(a.auth, otlpProto([run.chat, run.tool, run.root]));
    expect(okProto(res)).toEqual({});
    expect(res.rawPayload).toHaveLength(0);

    const tr = await executionsOf(a.auth, run.trace);
    expect(tr.executions[0]).toMatchObject({ status: 'completed', sessionId: run.conversation, promptTokens: 1000, completionTokens: 500 });
    expect(tr.executions[0].costUsd).toBeCloseTo(CHAT_COST, 9);
    const llm = tr.spans[0].children.find((c: { kind: string }) => c.kind === 'llm_call');
    expect(llm.costUsd).toBeCloseTo(CHAT_COST, 9);
    expect(llm.attributes).toMatchObject({ 'gen_ai.usage.input_tokens': 1000, 'otel.span.kind': 'client', 'otel.resource': { 'service.name': 'trip-service' } });
  });

  it('accepts a gzip body', async () => {
    const run = agentRun();
    okJson(await postJson(a.auth, gzipSync(JSON.stringify(otlpJson([run.root, run.chat]))), { 'content-encoding': 'gzip' }));
    expect(okProto(await postProto(a.auth, gzipSync(otlpProto([run.tool])), { 'content-encoding': 'gzip' }))).toEqual({});
    expect(await count(a.orgId, 'spans', run.trace)).toBe(3);
  });

  it('a request sent twice creates nothing twice', async () => {
    const run = agentRun();
    const body = otlpJson([run.chat, run.tool, run.root]);
    okJson(await postJson(a.auth, body));
    expect(okJson(await postJson(a.auth, body))).toEqual({});
    expect(await count(a.orgId, 'executions', run.trace)).toBe(1);
    expect(await count(a.orgId, 'spans', run.trace)).toBe(3);
    const tr = await executionsOf(a.auth, run.trace);
    expect(tr.executions[0].costUsd).toBeCloseTo(CHAT_COST, 9);
  });

  it('children first, root later: one execution, running then completed with its agent and session', async () => {
    const { id: agentId } = await createAgent(t, a.auth, { name: `OTLP Planner ${spanId()}` });
    const run = agentRun({ agentId });
    expect(okProto(await postProto(a.auth, otlpProto([run.chat, run.tool])))).toEqual({});
    let tr = await executionsOf(a.auth, run.trace);
    expect(tr.executions).toHaveLength(1);
    expect(tr.executions[0]).toMatchObject({ status: 'running', agentId: null, sessionId: null });

    // A later child-only request must not reset the execution.
    okJson(await postJson(a.auth, otlpJson([run.root])));
    const late: TSpan = { traceId: run.trace, spanId: spanId(), parentSpanId: run.tool.spanId, name: 'late child', startNs: at(2300), endNs: at(2400) };
    expect(okJson(await postJson(a.auth, otlpJson([late])))).toEqual({});

    tr = await executionsOf(a.auth, run.trace);
    expect(tr.executions).toHaveLength(1);
    expect(tr.executions[0]).toMatchObject({
      clientId: `otlp:${run.trace}`, status: 'completed', agentId, sessionId: run.conversation, spanId: run.root.spanId, executionTimeMs: 5000,
    });
    expect(new Date(tr.executions[0].completedAt).getTime()).toBe(Number(run.root.endNs / 1_000_000n));
    expect(tr.executions[0].costUsd).toBeCloseTo(CHAT_COST, 9);
    expect(tr.spans).toHaveLength(1);
    expect(tr.spans[0].children).toHaveLength(2);
    expect(await count(a.orgId, 'spans', run.trace)).toBe(4);
  });

  it('resolves gen_ai.agent.name to the agent of that name (by its derived slug)', async () => {
    const name = `Concierge ${spanId()}`;
    const agent = await createAgent(t, a.auth, { name });
    const run = agentRun({ agentName: name });
    okJson(await postJson(a.auth, otlpJson([run.root])));
    const tr = await executionsOf(a.auth, run.trace);
    expect(tr.executions[0]).toMatchObject({ agentId: agent.id, metadata: { genAiAgent: { name } } });
  });

  it('a failed root fails the execution', async () => {
    const run = agentRun({ rootStatus: { code: 2, message: 'ran out of budget' } });
    okJson(await postJson(a.auth, otlpJson([run.chat])));
    okJson(await postJson(a.auth, otlpJson([run.root])));
    const tr = await executionsOf(a.auth, run.trace);
    expect(tr.executions[0]).toMatchObject({ status: 'failed', errorMessage: 'ran out of budget' });
  });

  it('keeps a span without gen_ai attributes as kind other, with all its attributes', async () => {
    const trace = traceId();
    const span: TSpan = { traceId: trace, spanId: spanId(), name: 'GET /search', startNs: at(0), endNs: at(30), attrs: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'url.full': 'https://example.com/search?q=x' } };
    okJson(await postJson(a.auth, otlpJson([span])));
    const tr = await executionsOf(a.auth, trace);
    expect(tr.spans[0]).toMatchObject({ kind: 'other', name: 'GET /search', durationMs: 30, status: 'unset' });
    expect(tr.spans[0].attributes).toEqual({
      'http.request.method': 'GET', 'http.response.status_code': 200, 'url.full': 'https://example.com/search?q=x',
      'otel.scope.name': 'test-instrumentation', 'otel.scope.version': '1.2.3', 'otel.span.kind': 'internal', 'otel.resource': RESOURCE,
    });
  });

  it('answers partial success for spans it cannot take, in JSON and in protobuf', async () => {
    const trace = traceId();
    const good: TSpan = { traceId: trace, spanId: spanId(), name: 'fine', startNs: at(0), endNs: at(1) };
    const spans = [good, { ...good, spanId: '0000000000000000' }, { ...good, spanId: spanId(), startNs: at(10), endNs: at(5) }];
    const body = okJson(await postJson(a.auth, otlpJson(spans)));
    expect(body.partialSuccess.rejectedSpans).toBe(2);
    expect(body.partialSuccess.errorMessage).toContain('spanId must be 8 bytes');
    expect(body.partialSuccess.errorMessage).toContain('endedAt');

    const decoded = okProto(await postProto(a.auth, otlpProto(spans)));
    expect(decoded.partialSuccess).toMatchObject({ rejectedSpans: 2, errorMessage: expect.stringContaining('spanId must be 8 bytes') });
    expect(await count(a.orgId, 'spans', trace)).toBe(1);
  });

  it('refuses what it cannot decode: 400 for bad protobuf, bad JSON, a wrong shape or bad gzip', async () => {
    let res = await postProto(a.auth, Buffer.from([0x0a, 0x7f, 0x01, 0x02]));
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'bad_request', message: expect.stringContaining('protobuf') });

    // Nesting past protobufjs's recursion limit (built by hand: its encoder refuses it too) is refused by the decoder, not the stack.
    const field = (n: number, bytes: Uint8Array) => protobuf.Writer.create().uint32((n << 3) | 2).bytes(bytes).finish();
    let value = field(1, Buffer.from('leaf'));
    for (let i = 0; i < 200; i++) value = field(5, field(1, value));
    const Span = otlpTypes().request.root.lookupType('opentelemetry.proto.trace.v1.Span');
    const span = Buffer.concat([
      Span.encode({ traceId: Buffer.from(traceId(), 'hex'), spanId: Buffer.from(spanId(), 'hex'), name: 'x', startTimeUnixNano: String(at(0)) }).finish(),
      field(9, Buffer.concat([field(1, Buffer.from('deep')), field(2, value)])),
    ]);
    const deep = field(1, field(2, field(2, span)));
    res = await postProto(a.auth, Buffer.from(deep));
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'bad_request', message: expect.stringContaining('max depth') });

    res = await postJson(a.auth, '{"resourceSpans": [');
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).code).toBe('invalid_json');

    res = await postJson(a.auth, { resourceSpans: [{ scopeSpans: 'nope' }] });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'validation_failed', message: expect.stringContaining('resourceSpans[0].scopeSpans') });

    res = await postJson(a.auth, Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorOf(res).message).toContain('gzip');
  });

  it('415 for a content type or content encoding it does not speak', async () => {
    let res = await t.app.inject({ method: 'POST', url: URL, headers: { ...a.auth, 'content-type': 'text/plain' }, payload: 'hello' });
    expect(res.statusCode, res.body).toBe(415);
    expect(errorOf(res)).toMatchObject({ code: 'unsupported_media_type', message: expect.stringContaining('application/x-protobuf') });
    res = await postJson(a.auth, otlpJson([]), { 'content-encoding': 'br' });
    expect(res.statusCode, res.body).toBe(415);
    expect(errorOf(res).code).toBe('unsupported_media_type');
  });

  it('413 with the limit for an oversized body and for a gzip bomb', async () => {
    let res = await postProto(a.auth, Buffer.alloc(INGEST_BODY_LIMIT + 1));
    expect(res.statusCode, res.body).toBe(413);
    expect(errorOf(res)).toMatchObject({ code: 'payload_too_large', details: { limitBytes: INGEST_BODY_LIMIT } });

    const bomb = gzipSync(Buffer.alloc(INGEST_BODY_LIMIT + 1024));
    expect(bomb.length).toBeLessThan(100_000);
    res = await postProto(a.auth, bomb, { 'content-encoding': 'gzip' });
    expect(res.statusCode, res.body).toBe(413);
    expect(errorOf(res)).toMatchObject({ code: 'payload_too_large', details: { limitBytes: INGEST_BODY_LIMIT } });
  });

  it('an empty request is a success that creates nothing', async () => {
    expect(okJson(await postJson(a.auth, { resourceSpans: [] }))).toEqual({});
    expect(okProto(await postProto(a.auth, Buffer.alloc(0)))).toEqual({});
  });

  it('needs authentication', async () => {
    const run = agentRun();
    const res = await postJson(undefined, otlpJson([run.root]));
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('unauthenticated');
  });

  it('keeps tenants apart: another organization cannot see the trace, and its own copy is its own', async () => {
    const run = agentRun();
    okJson(await postJson(a.auth, otlpJson([run.root, run.chat])));
    const res = await get(b.auth, `/v1/traces/${run.trace}`);
    expect(res.statusCode).toBe(404);
    expect((await get(b.auth, `/v1/executions?sessionId=${run.conversation}`)).json().data).toEqual([]);

    // The same trace sent by b lands in b, as new items, leaving a's untouched.
    okJson(await postJson(b.auth, otlpJson([run.root])));
    expect((await executionsOf(b.auth, run.trace)).spans).toHaveLength(1);
    expect(await count(a.orgId, 'spans', run.trace)).toBe(2);
  });
});
