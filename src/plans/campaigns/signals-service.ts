import { appendAudit, type Actor } from '../../audit/index.js';
import { uuidv7 } from '../../db/index.js';
import { validationFailed, type Issue } from '../../errors.js';
import { clock, type PlansDeps } from './deps.js';
import { missingServices } from './services-repo.js';
import * as repo from './signals-repo.js';
import type { SignalFilter, SignalRow } from './signals-repo.js';

export type { SignalFilter, SignalRow };

/**
 * Market signals (seed 001): written in batches, all or nothing, one audit row
 * per batch. observed_at picks the weekly partition, and partitions exist from
 * the retention horizon (90 days, seed 001 §7.3) to a few weeks ahead, so a
 * signal outside [now - 90 days, now + 1 day] is refused naming its field.
 */
export const SIGNAL_MAX_AGE_DAYS = 90;
export const SIGNAL_MAX_AHEAD_DAYS = 1;
export const SIGNAL_BATCH_MAX = 1000;
const DAY_MS = 86_400_000;

export interface SignalInput {
  source: string;
  content: string;
  observedAt: string;
  relevanceScore: number;
  category: string;
  impact: string;
  serviceId?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

type Out = Omit<SignalRow, never>;

/** Records the signals in one transaction; `where` names each item's path for errors ('body' or 'body.signals.<i>'). */
export async function recordSignals(deps: PlansDeps, actor: Actor, items: readonly SignalInput[], where: (i: number) => string): Promise<Out[]> {
  const now = clock(deps);
  const oldest = now.getTime() - SIGNAL_MAX_AGE_DAYS * DAY_MS;
  const newest = now.getTime() + SIGNAL_MAX_AHEAD_DAYS * DAY_MS;
  const issues: Issue[] = [];
  items.forEach((s, i) => {
    const t = Date.parse(s.observedAt);
    if (t < oldest) issues.push({ path: `${where(i)}.observedAt`, message: `is more than ${SIGNAL_MAX_AGE_DAYS} days ago (signals are kept ${SIGNAL_MAX_AGE_DAYS} days)` });
    else if (t > newest) issues.push({ path: `${where(i)}.observedAt`, message: `is more than ${SIGNAL_MAX_AHEAD_DAYS} day ahead of the server's clock` });
  });
  if (issues.length) throw validationFailed(`observedAt must lie within the last ${SIGNAL_MAX_AGE_DAYS} days (and at most ${SIGNAL_MAX_AHEAD_DAYS} day ahead): ${issues[0]!.path} ${issues[0]!.message}`, issues.slice(0, 100));
  return deps.db.tenant(actor.orgId, async (sql) => {
    const named = items.map((s) => s.serviceId).filter((x): x is string => !!x);
    const unknown = new Set(await missingServices(sql, actor.orgId, named));
    if (unknown.size) {
      const bad = items.flatMap((s, i) => (s.serviceId && unknown.has(s.serviceId.toLowerCase()) ? [{ path: `${where(i)}.serviceId`, message: 'names no service of this organization' }] : []));
      throw validationFailed(`${bad[0]!.path} names no service of this organization`, bad.slice(0, 100));
    }
    const rows = await repo.insertSignals(sql, actor.orgId, items.map((s) => ({
      id: uuidv7(), source: s.source, content: s.content, observedAt: s.observedAt, relevanceScore: s.relevanceScore,
      category: s.category, impact: s.impact, serviceId: s.serviceId ?? null, metadata: s.metadata ?? {},
    })), now);
    const times = rows.map((r) => new Date(r.observedAt).getTime());
    await appendAudit(sql, actor, {
      action: 'market_signals.recorded', resourceType: 'market_signal', resourceId: rows.length === 1 ? rows[0]!.id : null,
      newValues: {
        count: rows.length,
        observedFrom: new Date(Math.min(...times)).toISOString(),
        observedTo: new Date(Math.max(...times)).toISOString(),
        sources: [...new Set(rows.map((r) => r.source))].slice(0, 20),
      },
    });
    return rows.map(({ cursorAt: _, ...r }) => r);
  });
}

export function listSignals(deps: PlansDeps, orgId: string, f: SignalFilter) {
  return deps.db.tenant(orgId, (sql) => repo.listSignals(sql, orgId, f));
}
