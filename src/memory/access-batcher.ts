import type { Database } from '../db/index.js';
import { recordAccess } from './memories-repo.js';

/**
 * Access counts and last-accessed times of searched memories, folded in memory
 * and written every `intervalMs` (or at `maxPending` ids) in one UPDATE per
 * organization, off the search's path: a search never waits on, or locks, the
 * rows it returns. A crash loses at most one interval of counts.
 */
export class AccessBatcher {
  private pending = new Map<string, Map<string, number>>();
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly onError: (err: unknown) => void,
    private readonly intervalMs = 1000,
    private readonly maxPending = 5000,
  ) {}

  record(orgId: string, ids: readonly string[]): void {
    if (ids.length === 0) return;
    let m = this.pending.get(orgId);
    if (!m) this.pending.set(orgId, (m = new Map()));
    for (const id of ids) {
      if (!m.has(id)) this.size++;
      m.set(id, (m.get(id) ?? 0) + 1);
    }
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
    const batch = this.pending;
    this.pending = new Map();
    this.size = 0;
    const at = new Date();
    this.flushing = this.flushing.then(async () => {
      for (const [orgId, counts] of batch) {
        try {
          await this.db.tenant(orgId, (sql) => recordAccess(sql, orgId, [...counts.keys()], [...counts.values()], at));
        } catch (err) {
          this.onError(err);
        }
      }
    });
    return this.flushing;
  }
}
