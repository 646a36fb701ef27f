import protobuf from 'protobufjs';
import { gzipSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_BODY_LIMIT } from '../../src/runs/ingest-schemas.js';
import { otlpTypes } from '../../src/runs/otlp/otlp-proto.js';
import { createAgent } from '../agents/fixtures.js';
import { createTestApp, errorOf, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { type TSpan, traceId, spanId, at, RESOURCE, otlpJson, otlpProto, agentRun, CHAT_COST } from './otlp-fixtures.js';

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
    // The conversation id names a session (created on first sight); executions hold its id.
    const session = (await get(a.auth, `/v1/sessions/${run.conversation}/timeline`)).json().session.id as string;
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({
      clientId: `otlp:${run.trace}`, traceId: run.trace, status: 'completed', sessionId: session,
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
    expect(tr.executions[0]).toMatchObject({ status: 'completed', promptTokens: 1000, completionTokens: 500 });
    expect(tr.executions[0].sessionId).toBe((await get(a.auth, `/v1/sessions/${run.conversation}/timeline`)).json().session.id);
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
      clientId: `otlp:${run.trace}`, status: 'completed', agentId, sessionId: (await get(a.auth, `/v1/sessions/${run.conversation}/timeline`)).json().session.id, spanId: run.root.spanId, executionTimeMs: 5000,
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

  it('rejects a span whose time is out of range or not an integer alone (partial success); the rest lands', async () => {
    const trace = traceId();
    const good: TSpan = { traceId: trace, spanId: spanId(), name: 'fine', startNs: at(0), endNs: at(1) };
    const body = otlpJson([good, { ...good, spanId: spanId() }, { ...good, spanId: spanId() }, { ...good, spanId: spanId() }, { ...good, spanId: spanId() }]);
    const spans = body.resourceSpans[0]!.scopeSpans[0]!.spans as Record<string, unknown>[];
    spans[1]!.startTimeUnixNano = 1.5e30; // an integer to JavaScript, far past 2^64
    spans[2]!.startTimeUnixNano = '99999999999999999999'; // 20 digits, past 2^64
    spans[3]!.endTimeUnixNano = 1.5; // not an integer
    spans[4]!.startTimeUnixNano = '18446744073709551615'; // 2^64 - 1: a valid time (2554), outside what spans keep
    spans[4]!.endTimeUnixNano = '18446744073709551615';
    const res = okJson(await postJson(a.auth, body));
    expect(res.partialSuccess.rejectedSpans).toBe(4);
    expect(res.partialSuccess.errorMessage).toContain('startTimeUnixNano must be at most 2^64 - 1');
    expect(res.partialSuccess.errorMessage).toContain('endTimeUnixNano must be an unsigned integer');
    expect(res.partialSuccess.errorMessage, res.partialSuccess.errorMessage).toContain('outside what spans keep');
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
