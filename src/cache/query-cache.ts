import type { Database, Sql } from '../db/index.js';
import { cacheKey, sha256 } from './cache-key.js';
import * as repo from './cache-repo.js';
import type { CacheFigures } from './cache-repo.js';
import { deleteExpired, evictToCap, pruneInvalidations, totalBytes } from './maintain-repo.js';
import { StatsBatcher } from './stats-batcher.js';

export interface QueryCacheOptions {
  /** off: every read computes (invalidations still run, so turning it on later is safe) */
  enabled: boolean;
  /** the size cap maintain() evicts to, bytes of cached JSON */
  maxBytes: number;
}

export const DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024;
/** the longest an entry may live: invalidation markers are kept at least this long */
export const MAX_TTL_MS = 3_600_000;
/** markers younger than this are kept whatever the entries' snapshots say (readers still computing) */
const MARKER_GRACE_MS = 10 * 60_000;

export interface ReadSpec {
  /** which read this is, e.g. runs.costs (with params, the key) */
  name: string;
  /** the read's parameters; the key is their stable JSON (key order does not matter) */
  params?: unknown;
  /** what invalidates it: invalidate(sql, orgId, [tag]) drops every entry holding the tag */
  tags: readonly string[];
  /** at most MAX_TTL_MS */
  ttlMs: number;
  /** the user the answer is for, when it differs per user (stored as seed 004 user_id) */
  userId?: string | null;
}

export type Outcome = 'hit' | 'miss' | 'bypass';

/** One read as the cache served it (src/ops/metrics records a sample as performance_metrics rows of type cache). */
export interface OutcomeDetail {
  orgId: string;
  userId: string | null;
  /** the read's whole time: the lookup on a hit; lookup, computation and store on a miss; the computation when bypassed */
  durationMs: number;
  /** sha256 of the read's name (seed 004 query_cache.query_hash) */
  queryHash: string;
  /** bytes of the answer's JSON (null when bypassed) */
  bytes: number | null;
  /** a miss whose answer was too large to keep */
  stored: boolean;
}

export type OutcomeListener = (outcome: Outcome, name: string, detail: OutcomeDetail) => void;

export interface MaintainResult {
  expired: number;
  evicted: number;
  markersPruned: number;
  /** bytes cached after eviction */
  bytes: number;
}

export interface QueryCache {
  readonly enabled: boolean;
  readonly maxBytes: number;
  /**
   * The answer of `compute` for this read, from the cache when a live entry
   * exists, otherwise computed and stored. Call inside the tenant transaction
   * of `orgId` (db.tenant): the lookup, the computation and the store share
   * it. A hit and a miss return the same JSON shape (Dates become ISO
   * strings, undefined properties disappear).
   */
  cached<T>(sql: Sql, orgId: string, spec: ReadSpec, compute: () => Promise<T>): Promise<T>;
  /** called with every read's outcome (the Prometheus counters, performance_metrics) */
  onOutcome(listener: OutcomeListener): void;
  /** one organization's figures since a UTC day (default: the last 30 days); flushes pending counts first */
  orgStats(orgId: string, sinceDay?: string): Promise<CacheFigures>;
  /** every organization's figures (operations); flushes pending counts first */
  totals(sinceDay?: string): Promise<CacheFigures>;
  /** expired entries out, LRU eviction to maxBytes, old markers pruned */
  maintain(): Promise<MaintainResult>;
  /** writes pending hit and miss counts */
  flush(): Promise<void>;
}

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

export function createQueryCache(db: Database, opts: QueryCacheOptions, onError: (err: unknown) => void = () => {}): QueryCache {
  const batcher = new StatsBatcher(db, onError);
  const listeners: OutcomeListener[] = [];
  const tell = (o: Outcome, name: string, d: OutcomeDetail) => {
    for (const l of listeners) {
      try {
        l(o, name, d);
      } catch {
        // a listener measures; it must not fail the read
      }
    }
  };
  // An answer larger than this would evict most of the cache by itself: computed, not stored.
  const maxEntry = Math.max(1, Math.floor(opts.maxBytes / 4));

  return {
    enabled: opts.enabled,
    maxBytes: opts.maxBytes,
    async cached<T>(sql: Sql, orgId: string, spec: ReadSpec, compute: () => Promise<T>): Promise<T> {
      const t0 = performance.now();
      const userId = spec.userId ?? null;
      if (!opts.enabled) {
        const value = await compute();
        tell('bypass', spec.name, { orgId, userId, durationMs: performance.now() - t0, queryHash: sha256(spec.name), bytes: null, stored: false });
        return value;
      }
      if (!(spec.ttlMs > 0 && spec.ttlMs <= MAX_TTL_MS)) throw new Error(`cache ttlMs must be in (0, ${MAX_TTL_MS}]: ${spec.ttlMs}`);
      const key = cacheKey(spec.name, spec.params);
      const found = await repo.lookup(sql, orgId, key.hash);
      if (found.hit) {
        batcher.hit(orgId, found.hit.id);
        tell('hit', spec.name, { orgId, userId, durationMs: performance.now() - t0, queryHash: key.queryHash, bytes: found.hit.bytes, stored: true });
        return found.hit.data as T;
      }
      const started = performance.now();
      const value = await compute();
      const generationMs = Math.round(performance.now() - started);
      batcher.miss(orgId);
      const json = JSON.stringify(value) ?? 'null';
      const size = Buffer.byteLength(json);
      const stored = size <= maxEntry;
      if (stored) {
        await repo.store(sql, orgId, {
          keyText: key.text, keyHash: key.hash, queryHash: key.queryHash, json, size, userId,
          tags: spec.tags, snapshot: found.snapshot, ttlMs: spec.ttlMs, generationMs,
        });
      }
      tell('miss', spec.name, { orgId, userId, durationMs: performance.now() - t0, queryHash: key.queryHash, bytes: size, stored });
      // the shape a hit returns (jsonb round trip), so callers cannot tell the two apart
      return JSON.parse(json) as T;
    },
    onOutcome(listener) {
      listeners.push(listener);
    },
    async orgStats(orgId, sinceDay = daysAgo(30)) {
      await batcher.flush();
      return db.tenant(orgId, (sql) => repo.orgFigures(sql, orgId, sinceDay));
    },
    async totals(sinceDay = daysAgo(30)) {
      await batcher.flush();
      return db.admin.transaction((sql) => repo.allFigures(sql, sinceDay));
    },
    async maintain() {
      await batcher.flush();
      return maintainQueryCache(db, opts.maxBytes);
    },
    flush: () => batcher.flush(),
  };
}

/** Expired entries out, then least recently used ones until the rest fits in maxBytes, then markers no entry needs. */
export async function maintainQueryCache(db: Database, maxBytes: number): Promise<MaintainResult> {
  return db.admin.transaction(async (sql) => {
    const expired = await deleteExpired(sql);
    const evicted = await evictToCap(sql, maxBytes);
    const markersPruned = await pruneInvalidations(sql, MARKER_GRACE_MS);
    return { expired, evicted, markersPruned, bytes: await totalBytes(sql) };
  });
}
