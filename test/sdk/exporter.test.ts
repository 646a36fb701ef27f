import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgentbaseClient, BatchExporter, type ExportProblem, type ExporterOptions } from '../../src/sdk/index.js';
import { retryDelay } from '../../src/sdk/backoff.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { createKey } from '../helpers/identity.js';
import { createAgent } from '../agents/fixtures.js';

let t: TestApp;
let url: string;
let apiKey: string;
let agentId: string;
let owner: SignedUp;
let client: AgentbaseClient;
const exporters: BatchExporter[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  t = await createTestApp();
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  owner = await signupUser(t.app);
  apiKey = (await createKey(t.app, owner.auth, { name: 'sdk', scopes: ['executions:write', 'executions:read'], rateLimit: 100_000 })).key;
  agentId = (await createAgent(t, owner.auth)).id as string;
  client = new AgentbaseClient({ baseUrl: url, apiKey });
});
afterEach(async () => {
  await Promise.all(exporters.splice(0).map((e) => e.shutdown({ timeoutMs: 2000 })));
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await t?.close();
  expect(unhandled).toEqual([]);
});

function exporter(opts: Partial<ExporterOptions> = {}): { exp: BatchExporter; problems: ExportProblem[] } {
  const problems: ExportProblem[] = [];
  const exp = new BatchExporter({ baseUrl: url, apiKey, onError: (p) => problems.push(p), ...opts });
  exporters.push(exp);
  return { exp, problems };
}

const now = () => new Date().toISOString();
const stored = async (table: 'executions' | 'spans', clientIds: string[]) =>
  t.db.tenant(owner.orgId, async (sql) =>
    (await sql.query<{ client_id: string }>(`SELECT client_id FROM ${table} WHERE client_id = ANY($1::text[]) ORDER BY client_id`, [clientIds])).rows.map((r) => r.client_id),
  );
const waitFor = (fn: () => void) => vi.waitFor(fn, { timeout: 10_000, interval: 10 });

describe('BatchExporter: when it sends', () => {
  it('sends as soon as maxBatchSize items wait, in one batch, without flush()', async () => {
    const { exp } = exporter({ maxBatchSize: 3, flushIntervalMs: 60_000 });
    const e = exp.recordExecution({ agentId, startedAt: now() });
    const s1 = exp.recordSpan({ executionClientId: e, kind: 'tool_call', name: 'a', startedAt: now() });
    expect(exp.stats()).toMatchObject({ queued: 2, sent: 0 });
    const s2 = exp.recordSpan({ executionClientId: e, kind: 'tool_call', name: 'b', startedAt: now() });
    await waitFor(() => expect(exp.stats()).toMatchObject({ sent: 3, queued: 0 }));
    // One batch of three: the first two were held until the size was reached (the timer is a minute away).
    expect(exp.stats()).toMatchObject({ batches: 1, rejected: 0, dropped: 0, retries: 0 });
    expect(await stored('executions', [e])).toEqual([e]);
    expect(await stored('spans', [s1, s2])).toEqual([s1, s2].sort());
  });

  it('sends what waits every flushIntervalMs', async () => {
    const { exp } = exporter({ flushIntervalMs: 20 });
    const e = exp.recordExecution({ agentId, startedAt: now() });
    await waitFor(() => expect(exp.stats().sent).toBe(1));
    expect(await stored('executions', [e])).toEqual([e]);
  });

  it('flush() resolves once everything recorded before it is sent', async () => {
    const { exp } = exporter({ flushIntervalMs: 60_000, maxBatchSize: 2 });
    const ids = Array.from({ length: 5 }, () => exp.recordExecution({ agentId, startedAt: now() }));
    await exp.flush();
    expect(exp.stats()).toMatchObject({ sent: 5, queued: 0, batches: 3 });
    expect(await stored('executions', ids)).toEqual([...ids].sort());
    await exp.flush(); // nothing pending: resolves at once
  });

  it('shutdown() flushes, stops, and drops (reports) what is recorded afterwards without throwing', async () => {
    const { exp, problems } = exporter({ flushIntervalMs: 60_000 });
    const ids = [1, 2, 3].map(() => exp.recordExecution({ agentId, startedAt: now() }));
    await exp.shutdown();
    expect(exp.stats()).toMatchObject({ sent: 3, queued: 0 });
    expect(await stored('executions', ids)).toEqual([...ids].sort());
    const late = exp.recordExecution({ agentId, startedAt: now() });
    expect(typeof late).toBe('string');
    expect(exp.stats()).toMatchObject({ dropped: 1, queued: 0 });
    expect(problems).toEqual([{ type: 'dropped', reason: 'shutdown', count: 1 }]);
    await exp.shutdown(); // again: the same, resolved
  });
});

describe('BatchExporter: order, ids and what the API refuses', () => {
  it('startExecution: running at once, spans as they come (never before their execution), the end updates it', async () => {
    const { exp, problems } = exporter({ maxBatchSize: 2, flushIntervalMs: 60_000 });
    const sessionId = `handle-${randomUUID()}`;
    const run = exp.startExecution({ agentId, sessionId, input: { q: 'plan a trip' } });
    expect(exp.stats().queued).toBe(1);
    const first = run.span({ kind: 'tool_call', name: 'plan', toolName: 'plan' });
    await exp.flush();
    const [listed] = (await client.listExecutions({ sessionId })).data;
    expect(listed).toMatchObject({ clientId: run.clientId, status: 'running', traceId: run.traceId });

    // A batch boundary falls between the spans; the end lands in its own batch.
    const more = ['search', 'answer'].map((name) => run.span({ kind: 'tool_call', name, toolName: name }));
    run.end('completed', { output: { ok: true }, totalTokens: 42 });
    run.end('failed'); // only the first end counts
    await exp.flush();
    expect(problems).toEqual([]);
    expect(exp.stats()).toMatchObject({ sent: 5, rejected: 0, dropped: 0 });

    const detail = await client.getExecution(listed!.id);
    expect(detail).toMatchObject({ status: 'completed', output: { ok: true }, input: { q: 'plan a trip' }, totalTokens: 42 });
    expect(detail.executionTimeMs).toBeGreaterThanOrEqual(0);
    expect(detail.spans.map((sp) => sp.clientId).sort()).toEqual([first, ...more].sort());
    const trace = await client.getTrace(run.traceId);
    expect(trace.executions.map((e) => e.clientId)).toEqual([run.clientId]);
  });

  it('an execution recorded twice in a row (running, then completed) goes in two batches, so the second updates the first', async () => {
    const { exp, problems } = exporter({ flushIntervalMs: 60_000 });
    const sessionId = `twice-${randomUUID()}`;
    const startedAt = now();
    const id = exp.recordExecution({ agentId, sessionId, startedAt, status: 'running' });
    exp.recordExecution({ clientId: id, agentId, startedAt, status: 'completed', completedAt: now(), output: { answer: 42 } });
    await exp.flush();
    expect(problems).toEqual([]);
    expect(exp.stats()).toMatchObject({ sent: 2, batches: 2 });
    const [e] = (await client.listExecutions({ sessionId })).data;
    expect(e).toMatchObject({ clientId: id, status: 'completed', output: { answer: 42 } });
  });

  it('keeps a caller\'s clientId, generates one when absent, and a resend is stored once', async () => {
    const { exp } = exporter({ flushIntervalMs: 60_000 });
    const mine = `mine-${randomUUID()}`;
    expect(exp.recordExecution({ clientId: mine, agentId, startedAt: now() })).toBe(mine);
    const generated = exp.recordExecution({ agentId, startedAt: now() });
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    exp.recordExecution({ clientId: mine, agentId, startedAt: now() });
    await exp.flush();
    expect(exp.stats()).toMatchObject({ sent: 3, rejected: 0 });
    expect(await stored('executions', [mine, generated])).toEqual([mine, generated].sort());
  });

  it('reports each item the API rejects, with why, and sends the rest of its batch', async () => {
    const { exp, problems } = exporter({ flushIntervalMs: 60_000 });
    const e = exp.recordExecution({ agentId, startedAt: now() });
    const noModel = exp.recordSpan({ executionClientId: e, kind: 'llm_call', name: 'chat', startedAt: now() });
    const orphan = exp.recordSpan({ executionClientId: `nobody-${randomUUID()}`, kind: 'tool_call', name: 'x', startedAt: now() });
    const good = exp.recordDecision({ executionClientId: e, decidedAt: now(), decisionType: 'route', reasoningChain: ['because'], confidence: 0.5 });
    const msg = exp.recordMessage({ executionClientId: e, messageType: 'request', messageData: { q: 1 }, sentAt: now() });
    await exp.flush();
    expect(exp.stats()).toMatchObject({ sent: 3, rejected: 2, dropped: 0 });
    const rejected = problems.filter((p) => p.type === 'rejected');
    expect(rejected.map((p) => p.clientId).sort()).toEqual([noModel, orphan].sort());
    expect(rejected.find((p) => p.clientId === noModel)).toMatchObject({ kind: 'span', item: { name: 'chat', kind: 'llm_call' } });
    expect(rejected.find((p) => p.clientId === noModel)!.error).toContain('model');
    expect(rejected.find((p) => p.clientId === orphan)!.error).toContain('executionClientId');
    expect(good).toBeTruthy();
    expect(msg).toBeTruthy();
  });

  it('a bad item never throws into the caller: not an object, a cycle, a BigInt are dropped and reported', async () => {
    const { exp, problems } = exporter({ flushIntervalMs: 60_000 });
    const cyclic: Record<string, unknown> = { agentId, startedAt: now() };
    cyclic.self = cyclic;
    expect(() => {
      exp.recordExecution(null as never);
      exp.recordSpan('span' as never);
      exp.recordExecution(cyclic as never);
      exp.recordExecution({ agentId, metadata: { n: 10n } } as never);
    }).not.toThrow();
    const ok = exp.recordExecution({ agentId, startedAt: now() });
    await exp.flush();
    expect(exp.stats()).toMatchObject({ dropped: 4, sent: 1 });
    expect(problems.map((p) => p.type === 'dropped' && p.reason)).toEqual(['invalid_item', 'invalid_item', 'not_serializable', 'not_serializable']);
    expect(await stored('executions', [ok])).toEqual([ok]);
  });

  it('an onError that throws does not stop the exporter', async () => {
    const exp = new BatchExporter({ baseUrl: url, apiKey, flushIntervalMs: 60_000, onError: () => { throw new Error('app bug'); } });
    exporters.push(exp);
    exp.recordSpan({ executionClientId: 'missing', kind: 'tool_call', name: 'x', startedAt: now() });
    const e = exp.recordExecution({ agentId, startedAt: now() });
    await exp.flush();
    expect(exp.stats()).toMatchObject({ sent: 1, rejected: 1 });
    expect(await stored('executions', [e])).toEqual([e]);
  });

  it('a full queue drops the oldest items, counts them and reports them once per burst', async () => {
    const { exp, problems } = exporter({ maxQueueSize: 5, flushIntervalMs: 60_000 });
    const ids = Array.from({ length: 8 }, (_, i) => exp.recordExecution({ clientId: `overflow-${i}-${randomUUID()}`, agentId, startedAt: now() }));
    expect(exp.stats()).toMatchObject({ dropped: 3, queued: 5 });
    await exp.flush();
    expect(problems).toEqual([{ type: 'dropped', reason: 'queue_full', count: 3 }]);
    expect(exp.stats()).toMatchObject({ sent: 5, dropped: 3 });
    expect(await stored('executions', ids)).toEqual(ids.slice(3).sort());
  });
});

describe('retryDelay', () => {
  const o = { initialMs: 100, maxMs: 1000, maxRetryAfterMs: 5000 };
  it('full jitter under a doubling ceiling, capped; Retry-After obeyed up to its cap', () => {
    expect([1, 2, 3, 4, 5, 10].map((a) => retryDelay(a, o, undefined, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(retryDelay(3, o, undefined, () => 0)).toBe(0);
    expect(retryDelay(1, o, 2000)).toBe(2000);
    expect(retryDelay(1, o, 60_000)).toBe(5000);
  });
});
