import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgErrorCode } from '../../src/db/index.js';
import { client, ok } from '../agents/fixtures.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { driver } from '../helpers/db.js';

/**
 * The database's own guard on a campaign's channel mix: the deferred
 * constraint trigger channel_plans_allocation_total (0018) refuses, at commit,
 * allocations adding up to more than 100 %, and it locks the campaign's row
 * first, so two transactions adding channels to one campaign are checked one
 * after the other and cannot both commit.
 */

let t: TestApp;
let owner: SignedUp;
let c: ReturnType<typeof client>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await signupUser(t.app);
  c = client(t);
});
afterAll(async () => t?.close());

const newCampaign = async (channelPlans: unknown[] = []) => ok(await c.post('/v1/campaigns', owner.auth, {
  name: `Mix ${randomUUID().slice(0, 8)}`, theme: 'mix', startDate: '2027-01-01', endDate: '2027-01-31', totalBudget: 1000, expectedRoi: 10, channelPlans,
}), 201).id as string;

const insertChannel = (planId: string, pct: number, position = 0) => (sql: { query: (q: string, p: unknown[]) => Promise<unknown> }) => sql.query(
  `INSERT INTO channel_plans (id, org_id, plan_id, position, channel, budget_allocation, strategy)
   VALUES ($1, app_current_org(), $2, $3, 'ch', $4, 's')`,
  [randomUUID(), planId, position, pct],
);

const total = async (planId: string) => Number((await t.db.admin.query<{ n: string }>(
  `SELECT coalesce(sum(budget_allocation), 0)::text AS n FROM channel_plans WHERE plan_id = $1`, [planId])).rows[0]!.n);

describe('channel_plans_allocation_total (database)', () => {
  it('refuses, at commit, one transaction that takes a campaign over 100 %', async () => {
    const id = await newCampaign();
    const err = await t.db.tenant(owner.orgId, async (sql) => {
      await insertChannel(id, 60)(sql);
      await insertChannel(id, 50, 1)(sql); // accepted here: the check is deferred to commit
    }).then(() => undefined, (e: unknown) => e);
    expect(pgErrorCode(err)).toBe('23514');
    expect(String((err as Error).message)).toContain('110');
    expect(await total(id)).toBe(0);
  });

  it('refuses an update of an allocation that takes the total over 100 %', async () => {
    const id = await newCampaign([{ channel: 'email', budgetAllocation: 50, strategy: 's' }, { channel: 'tv', budgetAllocation: 50, strategy: 's' }]);
    const err = await t.db.tenant(owner.orgId, (sql) => sql.query(
      `UPDATE channel_plans SET budget_allocation = 51 WHERE plan_id = $1 AND channel = 'email'`, [id],
    )).then(() => undefined, (e: unknown) => e);
    expect(pgErrorCode(err)).toBe('23514');
    expect(await total(id)).toBe(100);
  });

  it('lets only one of two concurrent transactions each adding 60 % to one campaign commit', async () => {
    const id = await newCampaign();
    let results: PromiseSettledResult<unknown>[];
    if (driver === 'postgres') {
      // Both insert before either commits (a barrier), then both commit.
      let arrived = 0;
      let release!: () => void;
      const bothIn = new Promise<void>((r) => { release = r; });
      const add = () => t.db.tenant(owner.orgId, async (sql) => {
        await insertChannel(id, 60)(sql);
        if (++arrived === 2) release();
        await bothIn;
      });
      results = await Promise.allSettled([add(), add()]);
      expect(arrived).toBe(2);
    } else {
      // PGlite has one connection: the transactions run one after the other.
      results = await Promise.allSettled([0, 1].map(() => t.db.tenant(owner.orgId, (sql) => insertChannel(id, 60)(sql))));
    }
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(pgErrorCode(rejected[0]!.reason)).toBe('23514');
    expect(await total(id)).toBe(60);
  });

  it('through the API, two concurrent replacements of one version: one wins, the other is 409, the total stays ≤ 100', async () => {
    const id = await newCampaign();
    const put = (pct: number) => c.put(`/v1/campaigns/${id}/channel-plans`, owner.auth, { version: 1, channelPlans: [{ channel: `c${pct}`, budgetAllocation: pct, strategy: 's' }] });
    const [a, b] = await Promise.all([put(60), put(70)]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    const tot = await total(id);
    expect([60, 70]).toContain(tot);
    expect(ok(await c.get(`/v1/campaigns/${id}`, owner.auth)).version).toBe(2);
  });
});
