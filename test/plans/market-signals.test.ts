import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRows, client, ok, type Body } from '../agents/fixtures.js';
import { errorOf, type SignedUp, type TestApp } from '../helpers/app.js';
import { campaignWorld } from './campaign-fixtures.js';

let t: TestApp;
let owner: SignedUp;
let other: SignedUp;
let c: ReturnType<typeof client>;
let serviceId: string;
let otherServiceId: string;
beforeAll(async () => {
  ({ t, owner, other, c, serviceId, otherServiceId } = await campaignWorld());
});
afterAll(async () => t?.close());

const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const signal = (over: Record<string, unknown> = {}) => ({
  source: 'Twitter', content: 'Competitor X raised prices', observedAt: ago(60_000), relevanceScore: 0.8, category: 'pricing', impact: 'high', ...over,
});
const count = async () => (await t.db.admin.query<{ n: number }>(
  `SELECT (SELECT count(*) FROM market_signals) + (SELECT count(*) FROM audit_logs) AS n`)).rows[0]!.n;
const ids = (b: Body) => b.data.map((s: Body) => s.id);

describe('market signals: recording', () => {
  it('records one signal and answers it, with one audit row', async () => {
    const s = ok(await c.post('/v1/market-signals', owner.auth, signal({ serviceId, metadata: { url: 'https://x.example/1' } })), 201);
    expect(s).toMatchObject({ source: 'Twitter', impact: 'high', serviceId, metadata: { url: 'https://x.example/1' }, id: expect.any(String) });
    expect(s.relevanceScore).toBeCloseTo(0.8, 5);
    const audit = await auditRows(t, owner.orgId, s.id);
    expect(audit).toMatchObject([{ action: 'market_signals.recorded', resource_type: 'market_signal', new_values: { count: 1 } }]);
  });

  it('records a batch in one go, spread over weekly partitions, with a single audit row', async () => {
    const before = (await auditRows(t, owner.orgId)).length;
    const batch = Array.from({ length: 250 }, (_, i) => signal({ content: `signal ${i}`, observedAt: ago((i % 85) * DAY + i * 1000), impact: ['low', 'medium', 'high'][i % 3] }));
    const r = ok(await c.post('/v1/market-signals', owner.auth, { signals: batch }), 201);
    expect(r.count).toBe(250);
    expect(r.data).toHaveLength(250);
    expect(r.data[7].content).toBe('signal 7');
    const audit = await auditRows(t, owner.orgId);
    expect(audit.length - before).toBe(1);
    expect(audit.at(-1)).toMatchObject({ action: 'market_signals.recorded', resource_id: null, new_values: { count: 250, sources: ['Twitter'] } });
    const parts = await t.db.admin.query<{ n: number }>(
      `SELECT count(DISTINCT tableoid)::int AS n FROM market_signals WHERE id = ANY($1::uuid[])`, [r.data.map((s: Body) => s.id)]);
    expect(parts.rows[0]!.n).toBeGreaterThanOrEqual(12);
  });

  it('refuses a whole batch when one item is bad (400 naming it) and writes nothing', async () => {
    const before = await count();
    const cases: Array<[unknown, string]> = [
      [{ signals: [signal(), signal({ observedAt: ago(91 * DAY) })] }, 'body.signals.1.observedAt'],
      [{ signals: [signal({ observedAt: new Date(Date.now() + 2 * DAY).toISOString() })] }, 'body.signals.0.observedAt'],
      [signal({ observedAt: ago(100 * DAY) }), 'body.observedAt'],
      [{ signals: [signal(), signal({ serviceId: otherServiceId })] }, 'body.signals.1.serviceId'],
      [signal({ serviceId: '0190a4b8-0000-7000-8000-000000000009' }), 'body.serviceId'],
    ];
    for (const [body, path] of cases) {
      const res = await c.post('/v1/market-signals', owner.auth, body);
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'validation_failed', details: { issues: [{ path }] } });
      expect(errorOf(res).message).toContain(path);
    }
    const shapes = [
      signal({ relevanceScore: 1.5 }),
      signal({ impact: 'huge' }),
      signal({ source: ' ' }),
      signal({ observedAt: 'yesterday' }),
      signal({ colour: 'red' }),
      { signals: [] },
      { signals: Array.from({ length: 1001 }, () => signal()) },
      { signals: [signal({ content: '' })] },
    ];
    for (const body of shapes) {
      const res = await c.post('/v1/market-signals', owner.auth, body);
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res).code).toBe('validation_failed');
      expect(errorOf(res).message, res.body).not.toContain('Invalid input');
    }
    // the message names the field of the item that is wrong
    const bad = await c.post('/v1/market-signals', owner.auth, { signals: [signal(), signal({ impact: 'huge' })] });
    expect(errorOf(bad).message).toContain('signals.1.impact');
    expect(await count()).toBe(before);
  });
});

describe('market signals: reading', () => {
  let recent: Body[];
  beforeAll(async () => {
    const r = ok(await c.post('/v1/market-signals', owner.auth, { signals: [
      signal({ source: 'News', category: 'launch', impact: 'low', relevanceScore: 0.2, observedAt: '2000-01-01T00:00:00Z'.replace('2000-01-01', new Date(Date.now() - 3 * DAY).toISOString().slice(0, 10)) }),
      signal({ source: 'News', category: 'launch', impact: 'medium', relevanceScore: 0.9, observedAt: ago(2 * DAY), serviceId }),
      signal({ source: 'Industry Report', category: 'regulation', impact: 'high', relevanceScore: 0.9, observedAt: ago(DAY) }),
    ] }), 201);
    recent = r.data;
  });

  it('lists newest first with filters that combine', async () => {
    const [low, medium, high] = recent;
    const news = ok(await c.get('/v1/market-signals?source=News&limit=100', owner.auth));
    expect(ids(news).slice(0, 2)).toEqual([medium.id, low.id]);
    expect(ids(ok(await c.get('/v1/market-signals?impact=high&category=regulation', owner.auth)))).toEqual([high.id]);
    expect(ids(ok(await c.get(`/v1/market-signals?serviceId=${serviceId}&source=News`, owner.auth)))).toEqual([medium.id]);
    const relevant = ok(await c.get('/v1/market-signals?minRelevance=0.9&category=launch', owner.auth));
    expect(ids(relevant)).toEqual([medium.id]);
    const window = ok(await c.get(`/v1/market-signals?category=launch&since=${encodeURIComponent(ago(2.5 * DAY))}&until=${encodeURIComponent(ago(1.5 * DAY))}`, owner.auth));
    expect(ids(window)).toEqual([medium.id]);
  });

  it('pages with a cursor, newest first, without repeats or gaps', async () => {
    const all: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Body = ok(await c.get(`/v1/market-signals?limit=100${cursor ? `&cursor=${cursor}` : ''}`, owner.auth));
      all.push(...ids(res));
      cursor = res.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    const total = (await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM market_signals WHERE org_id = $1`, [owner.orgId])).rows[0]!.n;
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    const dflt = ok(await c.get('/v1/market-signals', owner.auth));
    expect(dflt.data).toHaveLength(20);
    const times = dflt.data.map((s: Body) => Date.parse(s.observedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('refuses bad queries with 400', async () => {
    for (const q of ['impact=huge', 'minRelevance=2', 'since=yesterday', 'cursor=zzz', 'limit=101', 'serviceId=nope', 'colour=red',
      `since=${encodeURIComponent(ago(0))}&until=${encodeURIComponent(ago(DAY))}`]) {
      const res = await c.get(`/v1/market-signals?${q}`, owner.auth);
      expect(res.statusCode, q).toBe(400);
      expect(['validation_failed', 'bad_request']).toContain(errorOf(res).code);
    }
  });

  it('shows another organization none of them; RLS underneath', async () => {
    expect(ok(await c.get('/v1/market-signals?limit=100', other.auth)).data).toEqual([]);
    const seen = await t.db.tenant(other.orgId, (sql) => sql.query(`SELECT id FROM market_signals`));
    expect(seen.rows).toEqual([]);
    const viewer = await c.post('/v1/market-signals', other.auth, signal({ serviceId }));
    expect(viewer.statusCode).toBe(400);
  });
});
