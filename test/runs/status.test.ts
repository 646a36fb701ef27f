import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXECUTION_STATUSES } from '../../src/runs/ingest-schemas.js';
import { canTransition, type ExecutionStatus } from '../../src/runs/index.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

/** The lifecycle table in TypeScript and the trigger in SQL agree on every pair. */

let t: TestApp;
let a: SignedUp;
beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
});
afterAll(async () => t?.close());

async function sqlAllows(from: ExecutionStatus, to: ExecutionStatus): Promise<boolean> {
  const id = randomUUID();
  const createdAt = new Date().toISOString();
  try {
    await t.db.tenant(a.orgId, async (sql) => {
      await sql.query(`INSERT INTO executions (id, org_id, agent_id, status, created_at) VALUES ($1, $2, $3, $4, $5)`,
        [id, a.orgId, randomUUID(), from, createdAt]);
      await sql.query(`UPDATE executions SET status = $1 WHERE id = $2 AND created_at = $3`, [to, id, createdAt]);
    });
    return true;
  } catch (err) {
    expect(String(err)).toMatch(/cannot go from/);
    return false;
  }
}

describe('execution status lifecycle', () => {
  it('the trigger and canTransition allow exactly the same changes', async () => {
    const mismatches: string[] = [];
    for (const from of EXECUTION_STATUSES) {
      for (const to of EXECUTION_STATUSES) {
        if (canTransition(from, to) !== (await sqlAllows(from, to))) mismatches.push(`${from}→${to}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('a completed execution cannot be reopened', () => {
    expect(canTransition('completed', 'running')).toBe(false);
    expect(canTransition('failed', 'queued')).toBe(true);
  });
});
