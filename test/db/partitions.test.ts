import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintainPartitions, PARTITIONED_TABLES, type PartitionedTable } from '../../src/db/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * audit_logs is range-partitioned by UTC month: partitions are created ahead
 * and whole partitions past retention (84 months) are dropped. Dates here are
 * far from the clock so the migration's own partitions do not interfere.
 */

let t: TestApp;
let audit: PartitionedTable[];
beforeAll(async () => {
  t = await createTestApp();
  audit = PARTITIONED_TABLES.filter((p) => p.table === 'audit_logs');
});
afterAll(async () => t?.close());

interface Part {
  name: string;
  from: string;
  to: string;
}

/** audit_logs partitions with their bounds as UTC ISO strings, whatever the session time zone. */
async function partitions(): Promise<Part[]> {
  return t.db.admin.transaction(async (sql) => {
    await sql.query(`SET LOCAL TimeZone = 'UTC'`);
    const r = await sql.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'audit_logs'::regclass ORDER BY c.relname`,
    );
    return r.rows.map(({ name, bound }) => {
      const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(bound);
      if (!m) throw new Error(`unexpected bound for ${name}: ${bound}`);
      return { name, from: new Date(m[1]!.replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString(), to: new Date(m[2]!.replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString() };
    });
  });
}

const names = async () => (await partitions()).map((p) => p.name);

async function insertAt(createdAt: string): Promise<string> {
  const id = randomUUID();
  await t.db.admin.query(
    `INSERT INTO audit_logs (id, org_id, seq, actor_type, action, resource_type, prev_hash, hash, created_at)
     VALUES ($1, $2, 1, 'system', 'test.partition', 'test', repeat('0', 64), repeat('0', 64), $3)`,
    [id, randomUUID(), createdAt],
  );
  return id;
}

async function partitionOf(id: string): Promise<string | undefined> {
  const r = await t.db.admin.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM audit_logs WHERE id = $1`, [id]);
  return r.rows[0]?.p;
}

describe('maintainPartitions', () => {
  it('audit_logs keeps 3 months ahead and 84 months (7 years) back', () => {
    expect(audit).toEqual([{ table: 'audit_logs', ahead: 3, retainMonths: 84 }]);
  });

  it('the migration and start-up leave partitions for the current month and 3 ahead', async () => {
    await maintainPartitions(t.db, new Date(), audit, [], []);
    const have = new Set(await names());
    const now = new Date();
    for (let i = 0; i <= 3; i++) {
      const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1));
      expect(have).toContain(`audit_logs_p${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
    }
  });

  it('creates the month of `now` and 3 ahead, named audit_logs_pYYYYMM with UTC month bounds', async () => {
    const r = await maintainPartitions(t.db, new Date('2031-11-17T22:30:00Z'), audit, [], []);
    expect(r).toEqual({ created: 4, dropped: 0 });
    const made = (await partitions()).filter((p) => p.name.startsWith('audit_logs_p2031') || p.name.startsWith('audit_logs_p2032'));
    expect(made).toEqual([
      { name: 'audit_logs_p203111', from: '2031-11-01T00:00:00.000Z', to: '2031-12-01T00:00:00.000Z' },
      { name: 'audit_logs_p203112', from: '2031-12-01T00:00:00.000Z', to: '2032-01-01T00:00:00.000Z' },
      { name: 'audit_logs_p203201', from: '2032-01-01T00:00:00.000Z', to: '2032-02-01T00:00:00.000Z' },
      { name: 'audit_logs_p203202', from: '2032-02-01T00:00:00.000Z', to: '2032-03-01T00:00:00.000Z' },
    ]);
  });

  it('uses the UTC month even when the instant is already next month elsewhere', async () => {
    // 23:30 UTC on the last day of the month is the 1st in Auckland: still the UTC month.
    const r = await maintainPartitions(t.db, new Date('2035-01-31T23:30:00Z'), audit, [], []);
    expect(r.created).toBe(4);
    expect((await names()).filter((n) => n.startsWith('audit_logs_p2035'))).toEqual([
      'audit_logs_p203501',
      'audit_logs_p203502',
      'audit_logs_p203503',
      'audit_logs_p203504',
    ]);
  });

  it('bounds are UTC months whatever the session time zone', async () => {
    await t.db.admin.transaction(async (sql) => {
      await sql.query(`SET LOCAL TimeZone = 'Pacific/Auckland'`);
      await sql.query(`SELECT ensure_monthly_partitions('audit_logs', '2040-01-15T00:00:00Z', 1)`);
    });
    expect((await partitions()).find((p) => p.name === 'audit_logs_p204001')).toEqual({
      name: 'audit_logs_p204001',
      from: '2040-01-01T00:00:00.000Z',
      to: '2040-02-01T00:00:00.000Z',
    });
  });

  it('is idempotent: running again creates and drops nothing', async () => {
    const before = await partitions();
    expect(await maintainPartitions(t.db, new Date('2031-11-17T22:30:00Z'), audit, [], [])).toEqual({ created: 0, dropped: 0 });
    expect(await maintainPartitions(t.db, new Date('2031-12-02T00:00:00Z'), audit, [], [])).toEqual({ created: 1, dropped: 0 });
    expect(await maintainPartitions(t.db, new Date('2031-12-02T00:00:00Z'), audit, [], [])).toEqual({ created: 0, dropped: 0 });
    expect((await names()).filter((n) => !before.some((p) => p.name === n))).toEqual(['audit_logs_p203203']);
  });

  it('concurrent maintenance runs agree (the advisory lock serializes them)', async () => {
    const at = new Date('2045-06-10T00:00:00Z');
    const keepAll = [{ ...audit[0]!, retainMonths: 1200 }]; // only creation is under test here
    const results = await Promise.all([maintainPartitions(t.db, at, keepAll, [], []), maintainPartitions(t.db, at, keepAll, [], [])]);
    expect(results.reduce((n, r) => n + r.created, 0)).toBe(4);
    expect(results.reduce((n, r) => n + r.dropped, 0)).toBe(0);
    expect((await names()).filter((n) => n.startsWith('audit_logs_p2045'))).toHaveLength(4);
  });
});

describe('rows land in their month', () => {
  it('an insert goes to the partition of its UTC month, bounds inclusive below and exclusive above', async () => {
    expect(await partitionOf(await insertAt('2031-11-20T10:00:00Z'))).toBe('audit_logs_p203111');
    expect(await partitionOf(await insertAt('2031-12-01T00:00:00Z'))).toBe('audit_logs_p203112');
    expect(await partitionOf(await insertAt('2031-11-30T23:59:59.999999Z'))).toBe('audit_logs_p203111');
    // 2031-12-01 05:00 in UTC+13 is still November in UTC
    expect(await partitionOf(await insertAt('2031-12-01T05:00:00+13:00'))).toBe('audit_logs_p203111');
  });

  it('an insert for a month without a partition is refused (23514), nothing is written', async () => {
    await expect(insertAt('2099-07-01T00:00:00Z')).rejects.toMatchObject({ code: '23514' });
    const r = await t.db.admin.query(`SELECT 1 FROM audit_logs WHERE created_at >= '2099-01-01'`);
    expect(r.rows).toEqual([]);
  });
});

describe('retention', () => {
  it('drops partitions wholly older than 84 months, keeps the one that straddles the cutoff, and their rows go with them', async () => {
    // Partitions around the cutoff of a run on 2041-05-17: 84 months back is 2034-05-01.
    expect((await maintainPartitions(t.db, new Date('2034-03-10T00:00:00Z'), audit, [], [])).created).toBe(4); // 2034-03 .. 2034-06
    const gone = await insertAt('2034-04-30T23:00:00Z');
    const kept = await insertAt('2034-05-01T00:00:00Z');
    const before = await names();
    expect(before).toEqual(expect.arrayContaining(['audit_logs_p203111', 'audit_logs_p203403', 'audit_logs_p203404', 'audit_logs_p203405']));

    const r = await maintainPartitions(t.db, new Date('2041-05-17T12:00:00Z'), audit, [], []);
    const after = await names();
    const cutoff = '2034-05-01T00:00:00.000Z';
    const parts = await partitions();
    // Everything whose upper bound is at or before the cutoff is gone, nothing else.
    expect(parts.filter((p) => p.to <= cutoff)).toEqual([]);
    expect(after).toEqual(expect.arrayContaining(['audit_logs_p203405', 'audit_logs_p203406', 'audit_logs_p204105', 'audit_logs_p204108']));
    const dropped = before.filter((n) => !after.includes(n));
    expect(dropped).toEqual(expect.arrayContaining(['audit_logs_p203111', 'audit_logs_p203403', 'audit_logs_p203404']));
    expect(r).toEqual({ created: 4, dropped: dropped.length });
    expect(await partitionOf(gone)).toBeUndefined();
    expect(await partitionOf(kept)).toBe('audit_logs_p203405');
  });

  it('ten years on, the partitions of today are gone too and the run is idempotent', async () => {
    const now = new Date();
    const later = new Date(Date.UTC(now.getUTCFullYear() + 10, now.getUTCMonth(), 15));
    await maintainPartitions(t.db, later, audit, [], []);
    const cutoff = new Date(Date.UTC(later.getUTCFullYear(), later.getUTCMonth() - 84, 1)).toISOString();
    const parts = await partitions();
    expect(parts.filter((p) => p.to <= cutoff)).toEqual([]);
    const thisMonth = `audit_logs_p${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    expect(parts.map((p) => p.name)).not.toContain(thisMonth);
    expect(await maintainPartitions(t.db, later, audit, [], [])).toEqual({ created: 0, dropped: 0 });
  });
});

describe('daily partitions (agent_metrics)', () => {
  const metrics = [{ table: 'agent_metrics', aheadDays: 7, retainDays: 90 }];
  const dayNames = async () =>
    (await t.db.admin.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'agent_metrics'::regclass ORDER BY 1`,
    )).rows.map((r) => r.name);

  it('creates the UTC day of `now` and 7 ahead, named agent_metrics_pYYYYMMDD, across a month end', async () => {
    const r = await maintainPartitions(t.db, new Date('2036-02-27T23:59:00Z'), [], metrics, []);
    expect(r.created).toBe(8);
    expect((await dayNames()).filter((n) => n.startsWith('agent_metrics_p2036'))).toEqual([
      'agent_metrics_p20360227', 'agent_metrics_p20360228', 'agent_metrics_p20360229', 'agent_metrics_p20360301',
      'agent_metrics_p20360302', 'agent_metrics_p20360303', 'agent_metrics_p20360304', 'agent_metrics_p20360305',
    ]);
    expect(await maintainPartitions(t.db, new Date('2036-02-27T23:59:00Z'), [], metrics, [])).toEqual({ created: 0, dropped: 0 });
  });

  it('drops days older than 90 days and keeps the rest', async () => {
    const r = await maintainPartitions(t.db, new Date('2036-05-30T12:00:00Z'), [], metrics, []);
    const left = (await dayNames()).filter((n) => n.startsWith('agent_metrics_p2036'));
    // 2036-05-30 minus 90 days is 2036-03-01: partitions ending on or before it are gone.
    expect(left).not.toContain('agent_metrics_p20360229');
    expect(left).toContain('agent_metrics_p20360301');
    expect(r.dropped).toBeGreaterThanOrEqual(3);
  });
});

describe('weekly partitions (workflow_executions)', () => {
  const runs = [{ table: 'workflow_executions', aheadWeeks: 2, retainWeeks: 53 }];
  const weekNames = async () =>
    (await t.db.admin.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'workflow_executions'::regclass ORDER BY 1`,
    )).rows.map((r) => r.name);

  it('creates this UTC week (from Monday) and the weeks ahead, named after their Monday, idempotently', async () => {
    // 2037-01-04 is a Sunday: its week began on Monday 2036-12-29.
    const r = await maintainPartitions(t.db, new Date('2037-01-04T23:30:00Z'), [], [], runs);
    expect(r.created).toBe(3); // (and the migration's weeks of today are dropped: older than a year)
    expect((await weekNames()).filter((n) => n >= 'workflow_executions_w20361')).toEqual([
      'workflow_executions_w20361229', 'workflow_executions_w20370105', 'workflow_executions_w20370112',
    ]);
    expect(await maintainPartitions(t.db, new Date('2037-01-04T23:30:00Z'), [], [], runs)).toEqual({ created: 0, dropped: 0 });
  });

  it('drops weeks wholly older than the retention, keeps the week that straddles it', async () => {
    // 53 weeks before the week of 2038-01-06 (Wednesday; Monday 2038-01-04) is Monday 2036-12-29.
    await maintainPartitions(t.db, new Date('2036-12-16T00:00:00Z'), [], [], [{ ...runs[0]!, retainWeeks: 10_000 }]);
    expect(await weekNames()).toEqual(expect.arrayContaining(['workflow_executions_w20361215', 'workflow_executions_w20361222']));
    const r = await maintainPartitions(t.db, new Date('2038-01-06T12:00:00Z'), [], [], runs);
    const left = await weekNames();
    expect(left).toContain('workflow_executions_w20361229');
    expect(left.filter((n) => n < 'workflow_executions_w20361229')).toEqual([]);
    expect(r.dropped).toBe(2);
  });
});
