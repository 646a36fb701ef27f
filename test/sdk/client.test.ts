import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentbaseClient, AgentbaseError } from '../../src/sdk/index.js';
import { createTestApp, signupUser, type TestApp } from '../helpers/app.js';
import { createKey } from '../helpers/identity.js';
import { createAgent } from '../agents/fixtures.js';

let t: TestApp;
let url: string;
let client: AgentbaseClient;
let accessToken: string;
let agentId: string;

beforeAll(async () => {
  t = await createTestApp();
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const owner = await signupUser(t.app);
  accessToken = owner.accessToken;
  const key = await createKey(t.app, owner.auth, { name: 'sdk', scopes: ['executions:write', 'executions:read'], rateLimit: 100_000 });
  agentId = (await createAgent(t, owner.auth)).id as string;
  client = new AgentbaseClient({ baseUrl: `${url}/`, apiKey: key.key });
});
afterAll(async () => t?.close());

const now = () => new Date().toISOString();

async function caught(p: Promise<unknown>): Promise<AgentbaseError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AgentbaseError);
  return err as AgentbaseError;
}

describe('AgentbaseClient against the real service', () => {
  it('ingests a batch and reads it back: execution with its span tree, trace, list with filters, costs', async () => {
    const sessionId = `s-${randomUUID()}`;
    const traceId = randomUUID().replaceAll('-', '');
    const execution = { clientId: 'e1', agentId, sessionId, traceId, startedAt: now(), status: 'completed' as const };
    const answer = await client.ingestBatch({
      executions: [execution],
      spans: [
        { clientId: 's1', executionClientId: 'e1', kind: 'llm_call', name: 'chat', model: 'gpt-4o', provider: 'openai', promptTokens: 1000, completionTokens: 500, startedAt: now(), traceId, spanId: 'aaaaaaaaaaaaaaaa' },
        { clientId: 's2', executionClientId: 'e1', kind: 'tool_call', name: 'search', toolName: 'search', startedAt: now(), traceId, parentSpanId: 'aaaaaaaaaaaaaaaa' },
      ],
    });
    expect(answer).toMatchObject({ accepted: 3, duplicate: 0, rejected: 0 });
    const execId = answer.results.find((r) => r.kind === 'execution')!.id!;

    const again = await client.ingestBatch({ executions: [execution] });
    expect(again.results[0]).toMatchObject({ status: 'duplicate', id: execId });

    const detail = await client.getExecution(execId);
    // sessionId is a key: it names a session (created on first sight), whose id the execution holds.
    expect(detail).toMatchObject({ id: execId, agentId, status: 'completed', traceId });
    expect(detail.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof detail.createdAt).toBe('string');
    expect(detail.spans).toHaveLength(1);
    expect(detail.spans[0]!.name).toBe('chat');
    expect(detail.spans[0]!.children.map((c) => c.name)).toEqual(['search']);

    // The subtree roll-up of a childless execution is the execution itself.
    expect(detail.subtree).toMatchObject({ executions: 1, depth: 0, truncated: false, costUsd: detail.costUsd });
    expect(detail.children).toEqual([]);

    const trace = await client.getTrace(traceId);
    expect(trace.executions.map((e) => e.id)).toEqual([execId]);
    expect(trace).toMatchObject({ executionCount: 1, spanCount: 2, truncated: false, totalCostUsd: detail.costUsd });
    const [node] = trace.tree;
    expect(node).toMatchObject({ type: 'execution', id: execId, subtree: { executions: 1, spans: 2 } });
    expect(node!.children.map((c) => (c.type === 'span' ? c.name : c.id))).toEqual(['chat']);
    expect(typeof trace.startedAt).toBe('string');

    const page = await client.listExecutions({ sessionId, limit: 5, from: new Date(Date.now() - 3_600_000) });
    expect(page.data.map((e) => e.id)).toEqual([execId]);
    expect(page.nextCursor).toBeNull();
    expect(await client.listExecutions({ agentId: randomUUID() })).toEqual({ data: [], nextCursor: null });

    const report = await client.costs({ groupBy: 'agent', from: new Date(Date.now() - 86_400_000), to: new Date(Date.now() + 86_400_000) });
    expect(report.groupBy).toBe('agent');
    const mine = report.data.find((r) => r.key === agentId);
    expect(mine).toMatchObject({ promptTokens: 1000, completionTokens: 500, spans: 1 });
    expect(typeof mine!.slug).toBe('string');
    expect(mine!.costUsd).toBeGreaterThan(0);

    const perf = await client.performance({ agentId, from: new Date(Date.now() - 86_400_000), to: new Date(Date.now() + 86_400_000) });
    expect(perf.data.find((r) => r.agentId === agentId)).toMatchObject({ executions: 1, completed: 1 });
  });

  it('walks every page with executions()', async () => {
    const sessionId = `pages-${randomUUID()}`;
    await client.ingestBatch({
      executions: Array.from({ length: 5 }, (_, i) => ({ clientId: `${sessionId}-${i}`, agentId, sessionId, startedAt: now() })),
    });
    const seen: string[] = [];
    for await (const e of client.executions({ sessionId, limit: 2 })) seen.push(e.clientId!);
    expect(seen.sort()).toEqual(Array.from({ length: 5 }, (_, i) => `${sessionId}-${i}`).sort());
  });

  it('reads a session\'s timeline by its key and filters by tag and metadata', async () => {
    const key = `conv-${randomUUID()}`;
    await client.ingestBatch({
      executions: [
        { clientId: `${key}-a`, agentId, sessionId: key, tags: ['sdk'], metadata: { tier: 'gold' }, startedAt: new Date(Date.now() - 1000).toISOString() },
        { clientId: `${key}-b`, agentId, sessionId: key, startedAt: now() },
      ],
    });
    const first = await client.sessionTimeline(key, { limit: 1 });
    expect(first.session.sessionToken).toBe(key);
    expect(first.data.map((e) => [e.type, e.item.clientId])).toEqual([['execution', `${key}-a`]]);
    const second = await client.sessionTimeline(first.session.id, { limit: 1, cursor: first.nextCursor! });
    expect(second.data.map((e) => e.item.clientId)).toEqual([`${key}-b`]);
    expect((await client.listExecutions({ sessionId: key, tag: 'sdk' })).data.map((e) => e.clientId)).toEqual([`${key}-a`]);
    expect((await client.listExecutions({ sessionId: key, metadata: 'tier:gold' })).data.map((e) => e.tags)).toEqual([['sdk']]);
  });

  it('accepts an access token as well as an API key', async () => {
    const viaToken = new AgentbaseClient({ baseUrl: url, apiKey: accessToken });
    expect((await viaToken.listExecutions({ limit: 1 })).data.length).toBeLessThanOrEqual(1);
  });

  it('reads the month\'s usage against the limits (the key needs orgs:read; an access token has it)', async () => {
    const viaToken = new AgentbaseClient({ baseUrl: url, apiKey: accessToken });
    const u = await viaToken.usage();
    expect(u.runs).toMatchObject({ used: 0, limitName: 'runs_per_month' });
    expect(u.ingestedSpans.used).toBeGreaterThan(0);
    expect(u.ingestRate.limitPerSecond).toBe(10_000);
    expect((await viaToken.usage('2020-01')).period.month).toBe('2020-01');
    expect(await caught(client.usage())).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('turns the API error shape into AgentbaseError: 401 for a bad key', async () => {
    const bad = new AgentbaseClient({ baseUrl: url, apiKey: 'ab_not_a_real_key' });
    const e = await caught(bad.listExecutions());
    expect(e.status).toBe(401);
    expect(e.code).toMatch(/^(invalid_token|unauthenticated)$/);
    expect(e.message.length).toBeGreaterThan(0);
    expect(e.requestId).toMatch(/.+/);
    expect(e.retryable).toBe(false);
  });

  it('400 validation_failed with the issues, 404 not_found, 400 bad_request', async () => {
    const v = await caught(client.listExecutions({ limit: 1000 }));
    expect(v).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(v.message).toContain('limit');
    expect((v.details as { issues: unknown[] }).issues.length).toBeGreaterThan(0);

    const n = await caught(client.getExecution(randomUUID()));
    expect(n).toMatchObject({ status: 404, code: 'not_found' });

    const b = await caught(client.costs({ from: '2026-02-01', to: '2026-01-01' }));
    expect(b).toMatchObject({ status: 400, code: 'bad_request' });

    const empty = await caught(client.ingestBatch({}));
    expect(empty).toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('403 forbidden for a key without the scope', async () => {
    const owner = await signupUser(t.app);
    const key = await createKey(t.app, owner.auth, { name: 'read-only', scopes: ['executions:read'] });
    const e = await caught(new AgentbaseClient({ baseUrl: url, apiKey: key.key }).ingestBatch({ executions: [{ clientId: 'x', agentId }] }));
    expect(e).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('nothing listening: network_error, status 0, retryable', async () => {
    const down = new AgentbaseClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'x' });
    const e = await caught(down.listExecutions());
    expect(e).toMatchObject({ status: 0, code: 'network_error' });
    expect(e.retryable).toBe(true);
  });

  it('an answer that never comes fails with code timeout; a caller abort with aborted', async () => {
    // A real server that takes the request and never answers.
    const silent = http.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const slow = new AgentbaseClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'x', timeoutMs: 50 });
      const e = await caught(slow.listExecutions());
      expect(e).toMatchObject({ status: 0, code: 'timeout' });
      expect(e.retryable).toBe(true);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }

    const ac = new AbortController();
    ac.abort();
    const a = await caught(client.listExecutions({}, { signal: ac.signal }));
    expect(a).toMatchObject({ status: 0, code: 'aborted' });
    expect(a.retryable).toBe(false);
  });
});
