import type { Database } from '../db/index.js';
import { recordStats } from './cache-repo.js';

interface Pending {
  orgId: string;
  day: string;
  hits: number;
  misses: number;
  entryHits: Map<string, number>;
}

/**
 * Hit and miss counts and per-entry hits, folded in memory and written every
 * `intervalMs` (or at `maxPending` entries) in one transaction per
 * organization and day, off the read's path: a hit is a single SELECT and
 * never locks the entry it returns. A crash loses at most one interval of
 * counts (the entries themselves are unaffected).
 */
export class StatsBatcher {
  private pending = new Map<string, Pending>();
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly onError: (err: unknown) => void,
    private readonly intervalMs = 1000,
    private readonly maxPending = 5000,
  ) {}

  private slot(orgId: string, at: Date): Pending {
    const day = at.toISOString().slice(0, 10);
    const k = `${orgId}|${day}`;
    let p = this.pending.get(k);
    if (!p) this.pending.set(k, (p = { orgId, day, hits: 0, misses: 0, entryHits: new Map() }));
    return p;
  }

  hit(orgId: string, entryId: string, at = new Date()): void {
    const p = this.slot(orgId, at);
    p.hits++;
    if (!p.entryHits.has(entryId)) this.size++;
    p.entryHits.set(entryId, (p.entryHits.get(entryId) ?? 0) + 1);
    this.schedule();
  }

  miss(orgId: string, at = new Date()): void {
    this.slot(orgId, at).misses++;
    this.schedule();
  }

  private schedule(): void {
    if (this.size >= this.maxPending) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Writes what is pending; resolves when it (and any earlier flush) is written. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.size = 0;
    if (!batch.length) return this.flushing;
    const at = new Date();
    this.flushing = this.flushing.then(async () => {
      for (const p of batch) {
        try {
          await this.db.tenant(p.orgId, (sql) => recordStats(sql, p.orgId, p.day, p.hits, p.misses, p.entryHits, at));
        } catch (err) {
          this.onError(err);
        }
      }
    });
    return this.flushing;
  }
}
