import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_TAGS, createQueryCache, invalidate, invalidateEveryOrganization, type QueryCache, type ReadSpec } from '../../src/cache/index.js';
import { maintain } from '../../src/server.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

/**
 * The query cache itself (src/cache): read-through, tenant isolation,
 * invalidation (including a writer that commits while a reader computes),
 * expiry, LRU eviction to the cap, hit ratio figures.
 */

let t: TestApp;
let a: SignedUp;
let b: SignedUp;
let cache: QueryCache;
let n = 0;
/** query_hash of a read: SHA-256 of its name */
const qh = (name: string) => createHash('sha256').update(name).digest('hex');
const spec = (over: Partial<ReadSpec> = {}): ReadSpec => ({ name: `test.read${++n}`, params: { x: 1 }, tags: ['things'], ttlMs: 60_000, ...over });

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  cache = t.service.cache;
});
afterAll(async () => t?.close());

/** A read through the cache as the organization, counting computations. */
function reader(orgId: string, s: ReadSpec, value: () => unknown, c: QueryCache = cache) {
  const calls = { n: 0 };
  const read = () => t.db.tenant(orgId, (sql) => c.cached(sql, orgId, s, async () => {
    calls.n++;
    return value();
  }));
  return { read, calls };
}

describe('read-through', () => {
  it('a hit after a miss returns the same data without computing again; key order of the params does not matter', async () => {
    const s = spec({ params: { from: '2026-01-01', to: '2026-01-31', groupBy: 'day' } });
    const value = { rows: [{ day: '2026-01-02', costUsd: 0.125, at: new Date('2026-01-02T03:04:05Z') }], total: 12.5 };
    const r = reader(a.orgId, s, () => value);
    const first = await r.read();
    expect(r.calls.n).toBe(1);
    // a miss answers in the shape a hit does (JSON: the Date is its ISO string)
    expect(first).toEqual({ rows: [{ day: '2026-01-02', costUsd: 0.125, at: '2026-01-02T03:04:05.000Z' }], total: 12.5 });
    expect(await r.read()).toEqual(first);
    const reordered = reader(a.orgId, { ...s, params: { groupBy: 'day', to: '2026-01-31', from: '2026-01-01' } }, () => 'other');
    expect(await reordered.read()).toEqual(first);
    expect(r.calls.n + reordered.calls.n).toBe(1);
    const otherParams = reader(a.orgId, { ...s, params: { from: '2026-01-01', to: '2026-02-28', groupBy: 'day' } }, () => 'feb');
    expect(await otherParams.read()).toBe('feb');
  });

  it('another organization never gets this organization\'s entry, even for the same key', async () => {
    const s = spec();
    expect(await reader(a.orgId, s, () => 'secret of A').read()).toBe('secret of A');
    const rb = reader(b.orgId, s, () => 'B data');
    expect(await rb.read()).toBe('B data');
    expect(await rb.read()).toBe('B data');
    expect(rb.calls.n).toBe(1);
    // as B's tenant, no query sees A's rows (forced RLS), even without a WHERE
    const seen = await t.db.tenant(b.orgId, (sql) => sql.query<{ org_id: string }>(`SELECT DISTINCT org_id FROM query_cache`));
    expect(seen.rows.map((x) => x.org_id)).toEqual([b.orgId]);
    // B invalidating the tag leaves A's entry alone
    await t.db.tenant(b.orgId, (sql) => invalidate(sql, b.orgId, s.tags));
    const ra = reader(a.orgId, s, () => 'recomputed');
    expect(await ra.read()).toBe('secret of A');
    expect(ra.calls.n).toBe(0);
  });

  it('an invalidation drops the entries holding any of its tags, and only those', async () => {
    const tagged = reader(a.orgId, spec({ tags: ['x', 'y'] }), () => ++n);
    const untouched = reader(a.orgId, spec({ tags: ['z'] }), () => ++n);
    const v1 = await tagged.read();
    const u1 = await untouched.read();
    await t.db.tenant(a.orgId, (sql) => invalidate(sql, a.orgId, ['y', 'w']));
    const v2 = await tagged.read();
    expect(v2).not.toBe(v1);
    expect(tagged.calls.n).toBe(2);
    expect(await untouched.read()).toBe(u1);
    expect(untouched.calls.n).toBe(1);
  });

  it('an invalidation rolled back with its transaction invalidates nothing', async () => {
    const r = reader(a.orgId, spec(), () => ++n);
    const v = await r.read();
    await expect(t.db.tenant(a.orgId, async (sql) => {
      await invalidate(sql, a.orgId, ['things']);
      throw new Error('refused');
    })).rejects.toThrow('refused');
    expect(await r.read()).toBe(v);
    expect(r.calls.n).toBe(1);
  });

  it('an invalidation of every organization is honoured by the others\' entries it could not delete', async () => {
    const tag = `shared-${++n}`;
    const ra = reader(a.orgId, spec({ tags: [tag] }), () => ++n);
    const va = await ra.read();
    // B changes data every organization reads; A's row is not B's to delete (RLS) …
    await t.db.tenant(b.orgId, (sql) => invalidateEveryOrganization(sql, b.orgId, [tag]));
    const rows = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM query_cache WHERE org_id = $1 AND $2 = ANY(tags)`, [a.orgId, tag]);
    expect(rows.rows[0]!.n).toBe(1);
    // … but it is never served again
    const vb = await ra.read();
    expect(vb).not.toBe(va);
    expect(ra.calls.n).toBe(2);
    expect(await ra.read()).toBe(vb);
    expect(ra.calls.n).toBe(2);
  });

  it('a writer that commits while a reader computes leaves no stale entry behind (server PostgreSQL: two connections)', async () => {
    if (t.db.kind !== 'postgres') return; // one connection: a write cannot commit inside another transaction
    const s = spec();
    let data = 'before';
    const r = reader(a.orgId, s, async () => {
      const seen = data;
      // the writer changes the data and invalidates, committing before the reader stores what it computed
      await t.db.tenant(a.orgId, (sql) => invalidate(sql, a.orgId, s.tags));
      data = 'after';
      return seen;
    });
    expect(await r.read()).toBe('before');
    const next = reader(a.orgId, s, () => data);
    expect(await next.read()).toBe('after');
    expect(next.calls.n).toBe(1);
  });

  it('an expired entry is computed again, and maintain() deletes expired rows', async () => {
    const s = spec();
    const r = reader(a.orgId, s, () => ++n);
    const v = await r.read();
    await t.db.admin.query(`UPDATE query_cache SET expires_at = now() - interval '1 second' WHERE query_hash = $1`, [qh(s.name)]);
    const v2 = await r.read();
    expect(v2).not.toBe(v);
    expect(r.calls.n).toBe(2);
    const s2 = spec();
    await reader(a.orgId, s2, () => 'short-lived').read();
    await t.db.admin.query(`UPDATE query_cache SET expires_at = now() - interval '1 second' WHERE query_hash = $1`, [qh(s2.name)]);
    const m = await maintain(t.db, new Date(), { cache });
    expect(m.cacheExpired).toBeGreaterThanOrEqual(1);
    const left = await t.db.admin.query(`SELECT 1 FROM query_cache WHERE expires_at <= now()`);
    expect(left.rows).toEqual([]);
  });

  it('a ttl beyond an hour is a programming error', async () => {
    await expect(reader(a.orgId, spec({ ttlMs: 2 * 3_600_000 }), () => 1).read()).rejects.toThrow(/ttlMs/);
  });

  it('an answer larger than a quarter of the cap is computed but not stored', async () => {
    const small = createQueryCache(t.db, { enabled: true, maxBytes: 1000 });
    const r = reader(a.orgId, spec(), () => 'z'.repeat(300), small);
    await r.read();
    await r.read();
    expect(r.calls.n).toBe(2);
  });

  it('off (AGENTBASE_CACHE_ENABLED=false): every read computes and nothing is stored', async () => {
    const off = createQueryCache(t.db, { enabled: false, maxBytes: 1 << 20 });
    const s = spec();
    const r = reader(a.orgId, s, () => 'fresh', off);
    await r.read();
    await r.read();
    expect(r.calls.n).toBe(2);
    const rows = await t.db.admin.query(`SELECT 1 FROM query_cache WHERE query_hash = $1`, [qh(s.name)]);
    expect(rows.rows).toEqual([]);
  });
});

describe('size cap', () => {
  it('maintain() evicts least recently used entries until the rest fits the cap', async () => {
    await t.db.admin.query(`DELETE FROM query_cache`);
    const small = createQueryCache(t.db, { enabled: true, maxBytes: 10_000 });
    const blob = 'x'.repeat(2400); // 2402 bytes of JSON each: four fit in 10 000
    const names: string[] = [];
    for (let i = 0; i < 8; i++) {
      const s = spec();
      names.push(s.name);
      await reader(i % 2 ? a.orgId : b.orgId, s, () => blob, small).read();
    }
    // last used: entry i at i minutes ago reversed, so entry 0 is the oldest
    for (let i = 0; i < names.length; i++) {
      await t.db.admin.query(`UPDATE query_cache SET last_accessed = now() - $2 * interval '1 minute' WHERE query_hash = $1`, [qh(names[i]!), 100 - i]);
    }
    // a hit makes entry 1 the most recently used (written by the flush maintain() does first)
    const hit = reader(a.orgId, { ...spec(), name: names[1]! }, () => 'never', small);
    expect(await hit.read()).toBe(blob);
    expect(hit.calls.n).toBe(0);
    const m = await maintain(t.db, new Date(), { cache: small });
    expect(m.cacheEvicted).toBe(4);
    const left = await t.db.admin.query<{ name: string; bytes: number }>(`SELECT query_hash AS name, data_size AS bytes FROM query_cache`);
    expect(left.rows.reduce((s, r) => s + r.bytes, 0)).toBeLessThanOrEqual(10_000);
    const kept = new Set(left.rows.map((r) => r.name));
    const expected = new Set([names[1]!, names[5]!, names[6]!, names[7]!].map(qh));
    expect(kept).toEqual(expected);
  });
});

describe('hit ratio', () => {
  it('counts hits and misses per organization, and in total', async () => {
    const fresh = await signupUser(t.app);
    const before = await cache.totals();
    const r1 = reader(fresh.orgId, spec(), () => ({ big: 'y'.repeat(100) }));
    const r2 = reader(fresh.orgId, spec(), () => 2);
    await r1.read(); // miss
    await r1.read(); // hit
    await r1.read(); // hit
    await r2.read(); // miss
    await r2.read(); // hit
    const s = await cache.orgStats(fresh.orgId);
    expect(s).toMatchObject({ hits: 3, misses: 2, ratio: 0.6, entries: 2 });
    expect(s.bytes).toBeGreaterThan(100);
    const entry = await t.db.admin.query<{ hit_count: number; access_count: number }>(
      `SELECT hit_count, access_count FROM query_cache WHERE org_id = $1 ORDER BY hit_count DESC`, [fresh.orgId]);
    expect(entry.rows).toEqual([{ hit_count: 2, access_count: 3 }, { hit_count: 1, access_count: 2 }]);
    const after = await cache.totals();
    expect(after.hits - before.hits).toBe(3);
    expect(after.misses - before.misses).toBe(2);
    // another organization sees none of it
    expect(await cache.orgStats(b.orgId)).not.toMatchObject({ hits: 3, misses: 2 });
  });

  it('a new organization has no ratio yet', async () => {
    const fresh = await signupUser(t.app);
    expect(await cache.orgStats(fresh.orgId)).toEqual({ hits: 0, misses: 0, ratio: null, entries: 0, bytes: 0 });
  });

  it('the tags in use are named in one place', () => {
    expect(CACHE_TAGS).toEqual({ costs: 'costs', marketplace: 'marketplace', campaignTemplates: 'campaign_templates', services: 'services' });
  });
});
