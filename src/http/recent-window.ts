/**
 * What this process served and ingested in the last minutes, for the ops
 * overview: per-minute slots in a ring, so a read costs a merge of at most an
 * hour of slots and memory stays bounded by routes × 60. Prometheus keeps the
 * long history from /metrics; this answers "right now" without one.
 * Counts are this process's: several API processes each report their own.
 */

const SLOTS = 60;
/** Latency bucket upper bounds in milliseconds (the Prometheus histogram's, in seconds there). */
export const LATENCY_BOUNDS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

interface Slot<T> {
  minute: number;
  data: Map<string, T>;
}

class MinuteRing<T> {
  private readonly slots: Slot<T>[] = [];
  constructor(private readonly fresh: () => T, private readonly now: () => number) {}

  at(key: string): T {
    const minute = Math.floor(this.now() / 60_000);
    const i = minute % SLOTS;
    let slot = this.slots[i];
    if (!slot || slot.minute !== minute) {
      slot = { minute, data: new Map() };
      this.slots[i] = slot;
    }
    let v = slot.data.get(key);
    if (!v) {
      v = this.fresh();
      slot.data.set(key, v);
    }
    return v;
  }

  /** Every (key, value) of the last `minutes` minutes, the current one included. */
  *recent(minutes: number): Generator<[string, T]> {
    const current = Math.floor(this.now() / 60_000);
    for (const slot of this.slots) {
      if (slot && slot.minute > current - minutes) yield* slot.data;
    }
  }
}

interface RequestCell {
  count: number;
  errors: number;
  buckets: number[];
}

export interface RouteWindow {
  method: string;
  route: string;
  count: number;
  /** responses with status >= 500 */
  serverErrors: number;
  perSecond: number;
  /** estimated from the latency buckets (linear within a bucket, as Prometheus' histogram_quantile) */
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface RequestWindow {
  windowSeconds: number;
  count: number;
  serverErrors: number;
  perSecond: number;
  p50Ms: number | null;
  p95Ms: number | null;
  /** the busiest routes first, at most 20 */
  routes: RouteWindow[];
}

export interface Rate {
  /** items stored (accepted or updated) in the window */
  count: number;
  windowSeconds: number;
  perSecond: number;
}

export interface IngestWindow {
  /** the previous clock minute and the current one so far (60 to 120 s; less while the process is younger) */
  lastMinute: Rate;
  /** the last 59 clock minutes and the current one so far */
  lastHour: Rate;
  /** the last hour by kind and status (accepted, updated, duplicate, rejected) */
  byKind: { kind: string; status: string; count: number }[];
}

function quantile(buckets: number[], count: number, q: number): number | null {
  if (count === 0) return null;
  const rank = q * count;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (seen + n >= rank && n > 0) {
      // Beyond the last bound nothing is known but "slower than it": report the bound.
      if (i >= LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS.at(-1)!;
      const lo = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const hi = LATENCY_BOUNDS_MS[i]!;
      return Math.round((lo + ((hi - lo) * (rank - seen)) / n) * 1000) / 1000;
    }
    seen += n;
  }
  return LATENCY_BOUNDS_MS.at(-1)!;
}

export function createRecentWindow(now: () => number = Date.now) {
  const startedAt = now();
  const requests = new MinuteRing<RequestCell>(() => ({ count: 0, errors: 0, buckets: new Array(LATENCY_BOUNDS_MS.length + 1).fill(0) }), now);
  const ingested = new MinuteRing<{ n: number }>(() => ({ n: 0 }), now);
  // The window is whole slots: the last minutes - 1 complete ones and the current one so far.
  // A process up for 20 s has not seen them all: rates divide by what it has seen.
  const seconds = (minutes: number) => {
    const t = now();
    return Math.max(1, Math.min((minutes - 1) * 60 + (t % 60_000) / 1000, (t - startedAt) / 1000));
  };
  const rate = (count: number, minutes: number): Rate => {
    const s = seconds(minutes);
    return { count, windowSeconds: Math.round(s), perSecond: count / s };
  };

  return {
    request(method: string, route: string, status: number, ms: number) {
      const c = requests.at(`${method} ${route}`);
      c.count++;
      if (status >= 500) c.errors++;
      let b = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
      if (b < 0) b = LATENCY_BOUNDS_MS.length;
      c.buckets[b]!++;
    },
    ingested(kind: string, status: string, n: number) {
      ingested.at(`${kind} ${status}`).n += n;
    },
    requests(minutes = 5): RequestWindow {
      const merged = new Map<string, RequestCell>();
      for (const [key, c] of requests.recent(minutes)) {
        const m = merged.get(key) ?? { count: 0, errors: 0, buckets: new Array(LATENCY_BOUNDS_MS.length + 1).fill(0) };
        m.count += c.count;
        m.errors += c.errors;
        c.buckets.forEach((n, i) => (m.buckets[i]! += n));
        merged.set(key, m);
      }
      const s = seconds(minutes);
      const all: RequestCell = { count: 0, errors: 0, buckets: new Array(LATENCY_BOUNDS_MS.length + 1).fill(0) };
      const routes: RouteWindow[] = [];
      for (const [key, c] of merged) {
        all.count += c.count;
        all.errors += c.errors;
        c.buckets.forEach((n, i) => (all.buckets[i]! += n));
        const sp = key.indexOf(' ');
        routes.push({
          method: key.slice(0, sp), route: key.slice(sp + 1), count: c.count, serverErrors: c.errors, perSecond: c.count / s,
          p50Ms: quantile(c.buckets, c.count, 0.5), p95Ms: quantile(c.buckets, c.count, 0.95),
        });
      }
      routes.sort((a, b) => b.count - a.count || a.route.localeCompare(b.route));
      return {
        windowSeconds: Math.round(s), count: all.count, serverErrors: all.errors, perSecond: all.count / s,
        p50Ms: quantile(all.buckets, all.count, 0.5), p95Ms: quantile(all.buckets, all.count, 0.95), routes: routes.slice(0, 20),
      };
    },
    ingest(): IngestWindow {
      const stored = (key: string) => key.endsWith(' accepted') || key.endsWith(' updated');
      const byKey = new Map<string, number>();
      let hour = 0;
      let minute = 0;
      for (const [key, c] of ingested.recent(60)) {
        byKey.set(key, (byKey.get(key) ?? 0) + c.n);
        if (stored(key)) hour += c.n;
      }
      for (const [key, c] of ingested.recent(2)) if (stored(key)) minute += c.n;
      const byKind = [...byKey].map(([key, count]) => {
        const [kind, status] = key.split(' ') as [string, string];
        return { kind, status, count };
      }).sort((a, b) => a.kind.localeCompare(b.kind) || a.status.localeCompare(b.status));
      return { lastMinute: rate(minute, 2), lastHour: rate(hour, 60), byKind };
    },
  };
}

export type RecentWindow = ReturnType<typeof createRecentWindow>;
