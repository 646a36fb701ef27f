import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneIngestKeys } from '../../src/runs/index.js';
import { maintain } from '../../src/server.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { makeAgent } from './fixtures.js';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  b = await signupUser(t.app);
  for (const who of [a, b]) {
    await makeAgent(t.app, who.auth, 'planner');
    const res = await t.app.inject({
      method: 'POST', url: '/v1/ingest/batch', headers: who.auth,
      payload: {
        executions: [{ clientId: 'e1', agentSlug: 'planner' }],
        spans: [{ clientId: 's1', executionClientId: 'e1', kind: 'other', name: 'step', startedAt: new Date().toISOString() }],
        messages: [{ clientId: 'm1', messageType: 'ask', messageData: {}, sentAt: new Date().toISOString() }],
      },
    });
    expect(res.json().accepted).toBe(3);
  }
});
afterAll(async () => t?.close());

const keys = (orgId: string) => t.db.tenant(orgId, async (sql) =>
  (await sql.query<{ kind: string }>(`SELECT kind FROM ingest_keys ORDER BY kind`)).rows.map((r) => r.kind));

describe('ingestion key pruning', () => {
  it('keeps keys whose items are within retention', async () => {
    expect(await pruneIngestKeys(t.db)).toBe(0);
    expect(await keys(a.orgId)).toEqual(['execution', 'message', 'span']);
  });

  it('drops span keys after 6 months and execution keys after 12, in every organization; message keys stay', async () => {
    const now = new Date();
    const in8Months = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 8, 1));
    expect(await pruneIngestKeys(t.db, in8Months)).toBe(2); // one span key per organization
    expect(await keys(a.orgId)).toEqual(['execution', 'message']);
    expect(await keys(b.orgId)).toEqual(['execution', 'message']);
    const in14Months = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 14, 1));
    expect(await pruneIngestKeys(t.db, in14Months)).toBe(2);
    expect(await keys(a.orgId)).toEqual(['message']);
  });

  it('runs as part of maintenance', async () => {
    const r = await maintain(t.db);
    expect(r).toEqual(expect.objectContaining({ keysPruned: 0 }));
  });
});
