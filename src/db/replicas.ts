import { pgErrorCode } from './pg-errors.js';
import type { Driver, ReplicaStatus } from './types.js';

/**
 * Routing of read-only transactions to streaming read replicas.
 *
 * A replica serves a read when it is reachable, its sampled lag is within
 * `maxLagMs`, and — read-your-writes — it has replayed the last write of the
 * reader's key (the organization) if that write is younger than
 * `readYourWritesMs`. Anything else goes to the primary, so a missing, slow or
 * broken replica costs load on the primary, never a failed or stale read.
 */

export interface ReplicaRouterOptions {
  primary: Driver;
  replicas: { url: string; driver: Driver }[];
  maxLagMs: number;
  readYourWritesMs: number;
  sampleIntervalMs: number;
}

interface Replica {
  url: string;
  driver: Driver;
  status: ReplicaStatus;
  /** replay position as a number, for comparisons */
  replayed: bigint | null;
}

/** "16/B374D848" → a comparable number. */
export function lsnValue(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** Errors that say the connection (not the query) failed: the replica is down or went away. */
export function isConnectionError(err: unknown): boolean {
  const code = pgErrorCode(err);
  if (code) return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
  const sys = (err as { code?: unknown } | null)?.code;
  if (typeof sys === 'string' && /^E[A-Z]+$/.test(sys)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, …
  const msg = err instanceof Error ? err.message : '';
  return /Connection terminated|connection timeout|Connection ended/i.test(msg);
}

/** 40001 on a standby: a query cancelled because replay needed the rows it read. The primary has no such conflict. */
const isRecoveryConflict = (err: unknown): boolean => pgErrorCode(err) === '40001' || pgErrorCode(err) === '40P01';

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export class ReplicaRouter {
  private readonly replicas: Replica[];
  private readonly writes = new Map<string, { at: number; lsn: bigint }>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  primaryReads = 0;

  constructor(private readonly opts: ReplicaRouterOptions) {
    this.replicas = opts.replicas.map((r) => ({
      url: r.url,
      driver: r.driver,
      replayed: null,
      status: { url: redactUrl(r.url), healthy: false, lagMs: null, replayLsn: null, sampledAt: null, error: 'not sampled yet', reads: 0 },
    }));
  }

  /** Samples now, then every sampleIntervalMs (the timer does not keep the process alive). */
  async start(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.opts.sampleIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sampling;
    await Promise.all(this.replicas.map((r) => r.driver.close().catch(() => {})));
  }

  noteWrite(key: string, lsn: string): void {
    const value = lsnValue(lsn);
    const prev = this.writes.get(key);
    this.writes.set(key, { at: Date.now(), lsn: prev && prev.lsn > value ? prev.lsn : value });
    // Old entries no longer hold reads back; keep the map as small as the window.
    if (this.writes.size > 10_000) {
      const cutoff = Date.now() - this.opts.readYourWritesMs;
      for (const [k, w] of this.writes) if (w.at < cutoff) this.writes.delete(k);
    }
  }

  /** A replica that may serve a read for `keys`, or undefined for the primary. */
  pick(keys: readonly string[]): { driver: Driver; served: () => void; down: (err: unknown) => void } | undefined {
    const now = Date.now();
    let needed = 0n;
    for (const k of keys) {
      const w = this.writes.get(k);
      if (w && now - w.at < this.opts.readYourWritesMs && w.lsn > needed) needed = w.lsn;
    }
    const ok = this.replicas.filter((r) => r.status.healthy && (needed === 0n || (r.replayed !== null && r.replayed >= needed)));
    if (ok.length === 0) return undefined;
    const r = ok[this.next++ % ok.length]!;
    return {
      driver: r.driver,
      served: () => void r.status.reads++,
      down: (err) => this.markDown(r, err),
    };
  }

  /** Runs a read on a replica if one may serve it, else (or if the replica fails underneath) on the primary. */
  async route<T>(keys: readonly string[], run: (d: Driver) => Promise<T>): Promise<T> {
    const r = this.pick(keys);
    if (r) {
      try {
        const out = await run(r.driver);
        r.served();
        return out;
      } catch (err) {
        if (isConnectionError(err)) r.down(err);
        else if (!isRecoveryConflict(err)) throw err;
      }
    }
    this.primaryReads++;
    return run(this.opts.primary);
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({ ...r.status }));
  }

  private markDown(r: Replica, err: unknown): void {
    r.status.healthy = false;
    r.status.lagMs = null;
    r.status.error = `unreachable: ${err instanceof Error ? err.message : String(err)}`;
  }

  /** One sample of every replica's lag; overlapping calls share the one in flight. */
  sample(): Promise<void> {
    this.sampling ??= this.sampleOnce().finally(() => {
      this.sampling = undefined;
    });
    return this.sampling;
  }

  private async sampleOnce(): Promise<void> {
    let primaryLsn: bigint | null = null;
    try {
      const p = await this.opts.primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      primaryLsn = lsnValue(p.rows[0]!.lsn);
    } catch {
      // Without the primary's position a replica is judged by its replay timestamp alone.
    }
    await Promise.all(this.replicas.map((r) => this.sampleReplica(r, primaryLsn)));
  }

  private async sampleReplica(r: Replica, primaryLsn: bigint | null): Promise<void> {
    const s = r.status;
    try {
      // A replica that accepts connections but never answers must not freeze
      // its last (healthy) status: no answer in time counts as down.
      const limit = Math.max(1000, this.opts.sampleIntervalMs);
      let timer: NodeJS.Timeout | undefined;
      const q = await Promise.race([
        r.driver.query<{ recovering: boolean; lsn: string | null; lag: number | null }>(
          `SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS lsn,
                  (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 AS lag`,
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer to the lag sample within ${limit} ms`)), limit);
        }),
      ]).finally(() => clearTimeout(timer));
      const row = q.rows[0]!;
      s.sampledAt = new Date().toISOString();
      if (!row.recovering || row.lsn === null) {
        Object.assign(s, { healthy: false, lagMs: null, replayLsn: null, error: 'not a standby (pg_is_in_recovery() is false): it was promoted or the URL names a primary' });
        r.replayed = null;
        return;
      }
      r.replayed = lsnValue(row.lsn);
      // Caught up with what the primary had written before this sample: no lag,
      // however long ago the last replayed transaction was (an idle primary).
      const lag = primaryLsn !== null && r.replayed >= primaryLsn ? 0 : row.lag === null ? null : Math.max(0, Math.round(row.lag));
      s.replayLsn = row.lsn;
      s.lagMs = lag;
      if (lag === null) Object.assign(s, { healthy: false, error: 'has replayed no transaction yet' });
      else if (lag > this.opts.maxLagMs) Object.assign(s, { healthy: false, error: `lagging ${lag} ms, more than AGENTBASE_REPLICA_MAX_LAG_MS (${this.opts.maxLagMs})` });
      else Object.assign(s, { healthy: true, error: null });
    } catch (err) {
      s.sampledAt = new Date().toISOString();
      r.replayed = null;
      this.markDown(r, err);
    }
  }
}
