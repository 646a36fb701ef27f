import { describe, expect, it } from 'vitest';
import { normaliseOtlp, OtlpShapeError, parseOtlpJson } from '../../src/runs/otlp/otlp-json.js';
import { mapOtlp, nsToIso, tokensOf } from '../../src/runs/otlp/otlp-map.js';
import { decodeOtlpProto, encodeOtlpResponse, otlpTypes } from '../../src/runs/otlp/otlp-proto.js';
import { type Attr, type TSpan, traceId, spanId, at, RESOURCE, otlpJson, agentRun } from './otlp-fixtures.js';

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
