import type { Database } from '../../db/index.js';
import { queueDepth } from '../../jobs/index.js';
import { databaseSize } from './overview-repo.js';

/**
 * GET /v1/ops/overview: one page of "how is this installation doing", each
 * section from its owner. The database, pool and job sections are read here;
 * every other section is a source function handed in at the composition root
 * (src/http/app.ts), so this module imports none of their modules. A section
 * without a source, or whose source fails or hangs, is null with the reason
 * in `unavailable`: never a made-up zero.
 */

export type OverviewSource = () => Promise<unknown>;

/** Sections the overview expects from elsewhere; each is null with a reason until app.ts passes its source. */
export const EXPECTED_SOURCES = {
  requests: 'the HTTP layer\'s recent request window (src/http/metrics.ts)',
  ingest: 'the HTTP layer\'s recent ingestion window (src/http/metrics.ts)',
  cache: 'the query cache\'s hit ratio (src/cache)',
  matviews: 'materialized view staleness (src/ops/matviews)',
  replicas: 'read replica lag (src/db replicas)',
} as const;

export interface OverviewDeps {
  db: Database;
  sources?: Record<string, OverviewSource>;
  /** how long one source may take before it is reported as timed out (default 5 s) */
  sourceTimeoutMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

export interface Overview {
  generatedAt: string;
  /** section name → data; null when unavailable (see `unavailable`) */
  [section: string]: unknown;
  unavailable: Record<string, string>;
}

const BUILT_IN = ['database', 'pool', 'jobs'];

async function jobsSection(db: Database) {
  const rows = await queueDepth(db);
  let ready = 0;
  let scheduled = 0;
  let running = 0;
  let oldest: number | null = null;
  for (const r of rows) {
    ready += r.ready;
    scheduled += r.scheduled;
    running += r.running;
    if (r.oldestReadySeconds !== null) oldest = Math.max(oldest ?? 0, r.oldestReadySeconds);
  }
  return { ready, scheduled, running, oldestReadySeconds: oldest, byQueue: rows };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function collectOverview(deps: OverviewDeps): Promise<Overview> {
  const { db } = deps;
  const sources: Record<string, OverviewSource> = {
    ...deps.sources,
    database: async () => ({ kind: db.kind, ...(await db.admin.transaction((sql) => databaseSize(sql))) }),
    pool: async () => db.stats(),
    jobs: () => jobsSection(db),
  };
  const ms = deps.sourceTimeoutMs ?? 5000;
  const names = [...BUILT_IN, ...Object.keys(EXPECTED_SOURCES), ...Object.keys(deps.sources ?? {})]
    .filter((n, i, all) => all.indexOf(n) === i);
  const out: Overview = { generatedAt: new Date().toISOString(), unavailable: {} };
  const settled = await Promise.all(names.map(async (name) => {
    const source = sources[name];
    if (!source) {
      const what = EXPECTED_SOURCES[name as keyof typeof EXPECTED_SOURCES];
      return [name, null, `no source is registered for ${what}; app.ts passes it in AppOptions.overviewSources`] as const;
    }
    try {
      return [name, await withTimeout(source(), ms), null] as const;
    } catch (err) {
      deps.log?.warn({ err, section: name }, 'ops overview section failed');
      return [name, null, `the source failed: ${err instanceof Error ? err.message : String(err)}`] as const;
    }
  }));
  for (const [name, data, reason] of settled) {
    out[name] = data ?? null;
    if (reason) out.unavailable[name] = reason;
  }
  return out;
}
