import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type SignedUp, type TestApp } from '../helpers/app.js';
import { signupBuilder } from '../agents/fixtures.js';
import { client, codeOf, createAgent, createItem, ok, type Body } from './knowledge-fixtures.js';

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
let agent: Body;
let item: Body;

const TABLES = ['knowledge_items', 'knowledge_transfers', 'knowledge_metrics', 'agent_memories', 'audit_logs'] as const;
async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) out[table] = (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
  return out;
}

beforeAll(async () => {
  t = await createTestApp();
  owner = await signupBuilder(t);
  c = client(t);
  agent = await createAgent(t, owner.auth, { name: 'Source', slug: 'source' });
  item = await createItem(t, owner.auth, agent.id, { confidence: 0.5, tags: ['a'] });
});
afterAll(async () => t?.close());

type Case = [what: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: () => string, body: unknown, status: number, code: string];
const NUL = '\u0000';
let deep: unknown = 'leaf';
for (let i = 0; i < 40; i++) deep = { d: deep };
const good = () => ({ domain: 'travel', content: { title: 'T', description: 'D' }, sourceAgentId: 'source' });
const withContent = (content: unknown) => () => ({ ...good(), content });
const itemUrl = (rest = '') => () => `/v1/knowledge/${item.id}${rest}`;
const BAD_ID = '/v1/knowledge/not-a-uuid';
const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const V = 'validation_failed';

const CASES: Case[] = [
  // POST /v1/knowledge
  ['create: unknown field', 'POST', () => '/v1/knowledge', { ...good(), colour: 'red' }, 400, V],
  ['create: missing domain', 'POST', () => '/v1/knowledge', { content: { title: 'x' }, sourceAgentId: 'source' }, 400, V],
  ['create: blank domain', 'POST', () => '/v1/knowledge', { ...good(), domain: '   ' }, 400, V],
  ['create: domain too long', 'POST', () => '/v1/knowledge', { ...good(), domain: 'd'.repeat(101) }, 400, V],
  ['create: domain with a control character', 'POST', () => '/v1/knowledge', { ...good(), domain: 'a\nb' }, 400, V],
  ['create: domain a number', 'POST', () => '/v1/knowledge', { ...good(), domain: 5 }, 400, V],
  ['create: missing content', 'POST', () => '/v1/knowledge', { domain: 'x', sourceAgentId: 'source' }, 400, V],
  ['create: content a string', 'POST', () => '/v1/knowledge', withContent('text')(), 400, V],
  ['create: content an array', 'POST', () => '/v1/knowledge', withContent([{ title: 'x' }])(), 400, V],
  ['create: empty content', 'POST', () => '/v1/knowledge', withContent({})(), 400, V],
  ['create: blank title', 'POST', () => '/v1/knowledge', withContent({ title: ' \t' })(), 400, V],
  ['create: title a number', 'POST', () => '/v1/knowledge', withContent({ title: 7 })(), 400, V],
  ['create: title too long', 'POST', () => '/v1/knowledge', withContent({ title: 't'.repeat(1001) })(), 400, V],
  ['create: description too long', 'POST', () => '/v1/knowledge', withContent({ title: 't', description: 'd'.repeat(30_001) })(), 400, V],
  ['create: description an object', 'POST', () => '/v1/knowledge', withContent({ title: 't', description: { a: 1 } })(), 400, V],
  ['create: title holding NUL', 'POST', () => '/v1/knowledge', withContent({ title: `a${NUL}b` })(), 400, V],
  ['create: content holding NUL deep inside', 'POST', () => '/v1/knowledge', withContent({ title: 't', x: { y: [`a${NUL}`] } })(), 400, V],
  ['create: content key holding NUL', 'POST', () => '/v1/knowledge', withContent({ title: 't', [`k${NUL}`]: 1 })(), 400, V],
  ['create: content nested too deep', 'POST', () => '/v1/knowledge', withContent({ title: 't', deep })(), 400, 'json_too_deep'],
  ['create: huge content', 'POST', () => '/v1/knowledge', withContent({ title: 't', blob: 'x'.repeat(2 * 1024 * 1024) })(), 413, 'payload_too_large'],
  ['create: confidence above 1', 'POST', () => '/v1/knowledge', { ...good(), confidence: 1.5 }, 400, V],
  ['create: confidence below 0', 'POST', () => '/v1/knowledge', { ...good(), confidence: -0.01 }, 400, V],
  ['create: confidence as text', 'POST', () => '/v1/knowledge', { ...good(), confidence: '0.5' }, 400, V],
  ['create: tags not an array', 'POST', () => '/v1/knowledge', { ...good(), tags: 'a,b' }, 400, V],
  ['create: tag with a comma', 'POST', () => '/v1/knowledge', { ...good(), tags: ['a,b'] }, 400, V],
  ['create: empty tag', 'POST', () => '/v1/knowledge', { ...good(), tags: [''] }, 400, V],
  ['create: tag too long', 'POST', () => '/v1/knowledge', { ...good(), tags: ['t'.repeat(65)] }, 400, V],
  ['create: 21 tags', 'POST', () => '/v1/knowledge', { ...good(), tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 400, V],
  ['create: missing sourceAgentId', 'POST', () => '/v1/knowledge', { domain: 'x', content: { title: 'x' } }, 400, V],
  ['create: sourceAgentId neither id nor slug', 'POST', () => '/v1/knowledge', { ...good(), sourceAgentId: 'Not A Slug' }, 400, V],
  ['create: unknown source agent', 'POST', () => '/v1/knowledge', { ...good(), sourceAgentId: '0190a8e4-0000-7000-8000-000000000000' }, 404, 'not_found'],
  ['create: body an array', 'POST', () => '/v1/knowledge', [good()], 400, V],
  // GET /v1/knowledge
  ['list: limit 0', 'GET', () => '/v1/knowledge?limit=0', undefined, 400, V],
  ['list: limit 101', 'GET', () => '/v1/knowledge?limit=101', undefined, 400, V],
  ['list: unknown parameter', 'GET', () => '/v1/knowledge?owner=me', undefined, 400, V],
  ['list: forged cursor', 'GET', () => `/v1/knowledge?cursor=${cursor({ id: 'nope' })}`, undefined, 400, 'bad_request'],
  ['list: cursor not base64 JSON', 'GET', () => '/v1/knowledge?cursor=%%%', undefined, 400, 'bad_request'],
  ['list: minConfidence 2', 'GET', () => '/v1/knowledge?minConfidence=2', undefined, 400, V],
  ['list: minConfidence not a number', 'GET', () => '/v1/knowledge?minConfidence=high', undefined, 400, V],
  ['list: tag with a comma', 'GET', () => '/v1/knowledge?tag=a,b', undefined, 400, V],
  ['list: sourceAgentId neither id nor slug', 'GET', () => '/v1/knowledge?sourceAgentId=-x-', undefined, 400, V],
  ['list: unknown source agent', 'GET', () => '/v1/knowledge?sourceAgentId=nobody', undefined, 404, 'not_found'],
  // one item
  ['get: bad uuid', 'GET', () => BAD_ID, undefined, 400, V],
  ['patch: bad uuid', 'PATCH', () => BAD_ID, { version: 1 }, 400, V],
  ['patch: missing version', 'PATCH', itemUrl(), { domain: 'x' }, 400, V],
  ['patch: version 0', 'PATCH', itemUrl(), { version: 0 }, 400, V],
  ['patch: version as text', 'PATCH', itemUrl(), { version: '1' }, 400, V],
  ['patch: version beyond int4', 'PATCH', itemUrl(), { version: 3_000_000_000 }, 400, V],
  ['patch: unknown field', 'PATCH', itemUrl(), { version: 1, sourceAgentId: 'source' }, 400, V],
  ['patch: content without title', 'PATCH', itemUrl(), { version: 1, content: { description: 'd' } }, 400, V],
  ['patch: content null', 'PATCH', itemUrl(), { version: 1, content: null }, 400, V],
  ['patch: domain null', 'PATCH', itemUrl(), { version: 1, domain: null }, 400, V],
  ['patch: confidence 2', 'PATCH', itemUrl(), { version: 1, confidence: 2 }, 400, V],
  ['patch: bad tags', 'PATCH', itemUrl(), { version: 1, tags: [1] }, 400, V],
  ['patch: stale version', 'PATCH', itemUrl(), { version: 9, domain: 'x' }, 409, 'version_conflict'],
  ['delete: bad uuid', 'DELETE', () => BAD_ID, undefined, 400, V],
  ['delete: unknown item', 'DELETE', () => '/v1/knowledge/0190a8e4-0000-7000-8000-000000000000', undefined, 404, 'not_found'],
  // search
  ['search: missing query', 'POST', () => '/v1/knowledge/search', { mode: 'text' }, 400, V],
  ['search: blank query', 'POST', () => '/v1/knowledge/search', { query: '  ' }, 400, V],
  ['search: query too long', 'POST', () => '/v1/knowledge/search', { query: 'q'.repeat(1001) }, 400, V],
  ['search: query holding NUL', 'POST', () => '/v1/knowledge/search', { query: `a${NUL}` }, 400, V],
  ['search: unknown mode', 'POST', () => '/v1/knowledge/search', { query: 'q', mode: 'semantic' }, 400, V],
  ['search: limit 0', 'POST', () => '/v1/knowledge/search', { query: 'q', limit: 0 }, 400, V],
  ['search: limit 101', 'POST', () => '/v1/knowledge/search', { query: 'q', limit: 101 }, 400, V],
  ['search: limit fractional', 'POST', () => '/v1/knowledge/search', { query: 'q', limit: 1.5 }, 400, V],
  ['search: bad tags', 'POST', () => '/v1/knowledge/search', { query: 'q', tags: ['a\u0001'] }, 400, V],
  ['search: minConfidence 2', 'POST', () => '/v1/knowledge/search', { query: 'q', minConfidence: 2 }, 400, V],
  ['search: explain as text', 'POST', () => '/v1/knowledge/search', { query: 'q', explain: 'yes' }, 400, V],
  ['search: unknown field', 'POST', () => '/v1/knowledge/search', { query: 'q', rerank: true }, 400, V],
  // transfers
  ['transfer: bad uuid', 'POST', () => `${BAD_ID}/transfers`, { targetAgentId: 'source' }, 400, V],
  ['transfer: missing target', 'POST', itemUrl('/transfers'), {}, 400, V],
  ['transfer: target neither id nor slug', 'POST', itemUrl('/transfers'), { targetAgentId: 'Bad Slug' }, 400, V],
  ['transfer: unknown method', 'POST', itemUrl('/transfers'), { targetAgentId: 'source', method: 'telepathy' }, 400, V],
  ['transfer: unknown field', 'POST', itemUrl('/transfers'), { targetAgentId: 'source', force: true }, 400, V],
  ['transfer: unknown target', 'POST', itemUrl('/transfers'), { targetAgentId: 'nobody' }, 404, 'not_found'],
  ['item transfers: bad uuid', 'GET', () => `${BAD_ID}/transfers`, undefined, 400, V],
  ['item transfers: limit 0', 'GET', itemUrl('/transfers?limit=0'), undefined, 400, V],
  ['item transfers: unknown parameter', 'GET', itemUrl('/transfers?success=true'), undefined, 400, V],
  ['item transfers: forged cursor', 'GET', itemUrl(`/transfers?cursor=${cursor({ at: 1 })}`), undefined, 400, 'bad_request'],
  ['transfers: success not a boolean', 'GET', () => '/v1/knowledge-transfers?success=maybe', undefined, 400, V],
  ['transfers: target neither id nor slug', 'GET', () => '/v1/knowledge-transfers?targetAgentId=A_B', undefined, 400, V],
  ['transfers: unknown parameter', 'GET', () => '/v1/knowledge-transfers?knowledgeId=x', undefined, 400, V],
  ['transfers: unknown source agent', 'GET', () => '/v1/knowledge-transfers?sourceAgentId=nobody', undefined, 404, 'not_found'],
  // metrics
  ['metrics: bad uuid', 'GET', () => `${BAD_ID}/metrics`, undefined, 400, V],
  ['metrics: from not a date', 'GET', itemUrl('/metrics?from=yesterday'), undefined, 400, V],
  ['metrics: to a date-time', 'GET', itemUrl('/metrics?to=2026-01-01T00:00:00Z'), undefined, 400, V],
  ['metrics: impossible date', 'GET', itemUrl('/metrics?from=2026-02-30'), undefined, 400, V],
  ['metrics: year 0', 'GET', itemUrl('/metrics?from=0000-01-01&to=0000-01-02'), undefined, 400, V],
  ['metrics: unknown parameter', 'GET', itemUrl('/metrics?interval=hour'), undefined, 400, V],
  ['metrics: unknown item', 'GET', () => '/v1/knowledge/0190a8e4-0000-7000-8000-000000000000/metrics', undefined, 404, 'not_found'],
];

describe('bad input', () => {
  it.each(CASES)('%s', async (_what, method, url, body, status, code) => {
    const before = await counts();
    const res = await t.app.inject({ method, url: url(), headers: owner.auth, ...(body === undefined ? {} : { payload: body as object }) });
    expect(codeOf(res, status)).toBe(code);
    expect(await counts()).toEqual(before);
  });

  it('left the item as it was', async () => {
    const now = await t.db.admin.query<Body>(`SELECT domain, content, confidence::float8 AS confidence, tags, version FROM knowledge_items WHERE id = $1`, [item.id]);
    expect(now.rows[0]).toEqual({ domain: item.domain, content: item.content, confidence: 0.5, tags: ['a'], version: 1 });
  });

  it('takes the edges of every limit', async () => {
    const edge = ok(await c.post('/v1/knowledge', owner.auth, {
      domain: 'd'.repeat(100),
      content: { title: 't'.repeat(1000), description: 'd'.repeat(30_000), nested: { a: [1, { b: null }] } },
      sourceAgentId: 'source',
      confidence: 0,
      tags: Array.from({ length: 20 }, (_, i) => `t${i}`),
    }), 201);
    expect(edge.confidence).toBe(0);
    // Rounded to the column's two decimal places.
    const rounded = ok(await c.patch(`/v1/knowledge/${edge.id}`, owner.auth, { version: 1, confidence: 0.999 }));
    expect(rounded.confidence).toBe(1);
    // The longest item is still transferable (title + two newlines + description fits a memory).
    const target = await createAgent(t, owner.auth, { name: 'Edge target' });
    expect(ok(await c.post(`/v1/knowledge/${edge.id}/transfers`, owner.auth, { targetAgentId: target.id }), 201).success).toBe(true);
    expect(ok(await c.post('/v1/knowledge/search', owner.auth, { query: 'q'.repeat(1000), mode: 'text', limit: 100 })).items).toEqual([]);
  });
});
