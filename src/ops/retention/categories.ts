import { DAILY_PARTITIONED_TABLES, PARTITIONED_TABLES } from '../../db/index.js';
import type { RetentionConfig } from '../../config/index.js';

/**
 * Terminology:
 * - category:        a kind of data an organization sets a period for; one table and its time column.
 * - platform period: how long the platform keeps the category (the partition retention in
 *                    src/db/partitions.ts); an organization may shorten it, never exceed it.
 *                    null: the platform sets none (kept until the organization sets one).
 */
export interface RetentionCategory {
  category: string;
  table: string;
  timeColumn: string;
  description: string;
  /** days; null: no platform period */
  platformDays: number | null;
  minDays: number;
}

/** A month-partitioned table's retention in days (whole months are dropped, so a row may live up to a month longer). */
function monthsToDays(table: string): number {
  const t = PARTITIONED_TABLES.find((x) => x.table === table) ?? DAILY_PARTITIONED_TABLES.find((x) => x.table === table);
  if (!t) throw new Error(`${table} is not a partitioned table`);
  return 'retainMonths' in t ? Math.round((t.retainMonths * 365) / 12) : t.retainDays;
}

/** The configuration's defaults, for callers without one (the CLI's maintenance run, tests). */
export const DEFAULT_RETENTION: RetentionConfig = { auditMinDays: 365, batchSize: 5000, maxBatches: 20 };

/** Longest period anyone may set where the platform sets none (100 years; the table's CHECK). */
export const ABSOLUTE_MAX_DAYS = 36_500;

// Children before parents: maintenance deletes in this order.
export function retentionCategories(cfg: RetentionConfig): RetentionCategory[] {
  return [
    { category: 'spans', table: 'spans', timeColumn: 'started_at', description: 'steps of executions (LLM, tool, memory calls)', platformDays: monthsToDays('spans'), minDays: 1 },
    { category: 'decisions', table: 'agent_decisions', timeColumn: 'decided_at', description: 'agent decisions with reasoning chains', platformDays: monthsToDays('agent_decisions'), minDays: 1 },
    { category: 'messages', table: 'agent_communications', timeColumn: 'created_at', description: 'inter-agent messages', platformDays: null, minDays: 1 },
    { category: 'executions', table: 'executions', timeColumn: 'created_at', description: 'agent executions (daily aggregates are kept)', platformDays: monthsToDays('executions'), minDays: 1 },
    { category: 'memories', table: 'agent_memories', timeColumn: 'created_at', description: 'agent memories', platformDays: null, minDays: 1 },
    { category: 'notifications', table: 'notifications', timeColumn: 'created_at', description: 'user notifications', platformDays: monthsToDays('notifications'), minDays: 1 },
    { category: 'webhook_deliveries', table: 'webhook_deliveries', timeColumn: 'created_at', description: 'webhook delivery attempts', platformDays: monthsToDays('webhook_deliveries'), minDays: 1 },
    {
      category: 'audit',
      table: 'audit_pii',
      timeColumn: 'created_at',
      description: "audit rows' personal details (actor, IP address, user agent); the hash-chained rows stay for the platform period so chains keep verifying",
      platformDays: monthsToDays('audit_logs'),
      minDays: cfg.auditMinDays,
    },
  ];
}

export function maxDays(c: RetentionCategory): number {
  return c.platformDays ?? ABSOLUTE_MAX_DAYS;
}
