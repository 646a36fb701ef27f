import type { Database } from './types.js';

/**
 * Time-partitioned tables and how far ahead/back their partitions are kept.
 * Later modules register their tables here.
 */
export interface PartitionedTable {
  table: string;
  /** months of partitions to keep ahead of now */
  ahead: number;
  /** retention in months; partitions wholly older are dropped */
  retainMonths: number;
}

/** A table partitioned by day (seed 003 agent_metrics): days ahead, retention in days. */
export interface DailyPartitionedTable {
  table: string;
  aheadDays: number;
  retainDays: number;
}

/** A table partitioned by week (Monday 00:00 UTC; seed 003 workflow_executions): weeks ahead, retention in weeks. */
export interface WeeklyPartitionedTable {
  table: string;
  aheadWeeks: number;
  retainWeeks: number;
}

export const PARTITIONED_TABLES: readonly PartitionedTable[] = [
  { table: 'audit_logs', ahead: 3, retainMonths: 84 }, // seed 002: audit retention 7 years
  { table: 'agent_states', ahead: 3, retainMonths: 24 }, // seed 003 sets none; two years of checkpoints
  { table: 'executions', ahead: 3, retainMonths: 12 }, // seed 002 executions
  { table: 'spans', ahead: 3, retainMonths: 6 }, // seed 002 execution_logs
  { table: 'agent_decisions', ahead: 3, retainMonths: 3 }, // seed 001 §7.3: 90 days (whole months, so up to 4 are kept)
  { table: 'notifications', ahead: 3, retainMonths: 12 }, // seed 003 REQ-T140 sets none; a year
  { table: 'pattern_metrics', ahead: 3, retainMonths: 12 }, // seed 003 REQ-T117 sets none; a year
  { table: 'webhook_deliveries', ahead: 3, retainMonths: 3 }, // seed 002: 3 months
  { table: 'webhook_events', ahead: 3, retainMonths: 3 }, // what the deliveries sent (redelivery reads it): as long
  // seed 004 sets none; seed 003 REQ-T134 keeps raw system metrics 90 days: the same for raw request figures
  // (whole months, so up to 4 are kept). The summaries over them (matviews) read the last 7 days.
  { table: 'performance_metrics', ahead: 3, retainMonths: 3 },
];

export const DAILY_PARTITIONED_TABLES: readonly DailyPartitionedTable[] = [
  { table: 'agent_metrics', aheadDays: 7, retainDays: 90 }, // seed 003 sets none; the decisions' 90 days
  { table: 'knowledge_metrics', aheadDays: 7, retainDays: 90 }, // seed 003 REQ-T132 sets none; as agent_metrics
  // seed 003 REQ-T137 sets none. The busiest of the operational tables (one row per kept request, with
  // client address and user agent): 30 days answers "what happened this month" and keeps personal data short.
  { table: 'api_requests', aheadDays: 7, retainDays: 30 },
];

// A run and its steps share partition bounds and retention, so they are dropped together.
export const WEEKLY_PARTITIONED_TABLES: readonly WeeklyPartitionedTable[] = [
  { table: 'workflow_executions', aheadWeeks: 4, retainWeeks: 53 }, // seed 003 sets none; a year
  { table: 'workflow_step_runs', aheadWeeks: 4, retainWeeks: 53 },
  { table: 'pattern_usage', aheadWeeks: 4, retainWeeks: 53 }, // seed 003 REQ-T133 sets none; a year
  // seed 001 §7.3: 90 days (13 whole weeks, 91 days); recording refuses signals older than 90 days
  { table: 'market_signals', aheadWeeks: 4, retainWeeks: 13 },
  // seed 003 REQ-T136 sets none; 13 weeks (about 90 days, REQ-T134's raw retention): a bug's trail for a quarter
  { table: 'error_logs', aheadWeeks: 4, retainWeeks: 13 },
];

export interface MaintenanceResult {
  created: number;
  dropped: number;
}

export async function maintainPartitions(
  db: Database,
  now = new Date(),
  tables: readonly PartitionedTable[] = PARTITIONED_TABLES,
  daily: readonly DailyPartitionedTable[] = DAILY_PARTITIONED_TABLES,
  weekly: readonly WeeklyPartitionedTable[] = WEEKLY_PARTITIONED_TABLES,
): Promise<MaintenanceResult> {
  let created = 0;
  let dropped = 0;
  for (const t of tables) {
    await db.admin.transaction(async (sql) => {
      const c = await sql.query<{ n: number }>(
        `SELECT ensure_monthly_partitions($1::regclass, $2::timestamptz, $3) AS n`,
        [t.table, now.toISOString(), t.ahead + 1],
      );
      created += c.rows[0]?.n ?? 0;
      const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - t.retainMonths, 1));
      const d = await sql.query<{ n: number }>(
        `SELECT drop_partitions_before($1::regclass, $2::timestamptz) AS n`,
        [t.table, cutoff.toISOString()],
      );
      dropped += d.rows[0]?.n ?? 0;
    });
  }
  for (const t of daily) {
    await db.admin.transaction(async (sql) => {
      const c = await sql.query<{ n: number }>(
        `SELECT ensure_daily_partitions($1::regclass, $2::timestamptz, $3) AS n`,
        [t.table, now.toISOString(), t.aheadDays + 1],
      );
      created += c.rows[0]?.n ?? 0;
      const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - t.retainDays));
      const d = await sql.query<{ n: number }>(
        `SELECT drop_partitions_before($1::regclass, $2::timestamptz) AS n`,
        [t.table, cutoff.toISOString()],
      );
      dropped += d.rows[0]?.n ?? 0;
    });
  }
  for (const t of weekly) {
    await db.admin.transaction(async (sql) => {
      const c = await sql.query<{ n: number }>(
        `SELECT ensure_weekly_partitions($1::regclass, $2::timestamptz, $3) AS n`,
        [t.table, now.toISOString(), t.aheadWeeks + 1],
      );
      created += c.rows[0]?.n ?? 0;
      // Whole weeks: the cutoff is the Monday retainWeeks before this week's.
      const monday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - ((now.getUTCDay() + 6) % 7));
      const cutoff = new Date(monday - t.retainWeeks * 7 * 86_400_000);
      const d = await sql.query<{ n: number }>(
        `SELECT drop_partitions_before($1::regclass, $2::timestamptz) AS n`,
        [t.table, cutoff.toISOString()],
      );
      dropped += d.rows[0]?.n ?? 0;
    });
  }
  return { created, dropped };
}

/** Creates (if missing) the daily partition of each table holding the given day. */
export async function ensureDayPartitions(db: Database, wanted: readonly { table: string; day: Date }[]): Promise<void> {
  if (!wanted.length) return;
  await db.admin.transaction(async (sql) => {
    for (const w of wanted) {
      await sql.query(`SELECT ensure_daily_partitions($1::regclass, $2::timestamptz, 1)`, [w.table, w.day.toISOString()]);
    }
  });
}

/** Creates (if missing) the monthly partition of each table holding the given month: DDL as the owner, no tenant data. */
export async function ensureMonthPartitions(db: Database, wanted: readonly { table: string; month: Date }[]): Promise<void> {
  if (!wanted.length) return;
  await db.admin.transaction(async (sql) => {
    for (const w of wanted) {
      await sql.query(`SELECT ensure_monthly_partitions($1::regclass, $2::timestamptz, 1)`, [w.table, w.month.toISOString()]);
    }
  });
}
