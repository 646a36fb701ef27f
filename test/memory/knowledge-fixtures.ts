import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { SignedUp, TestApp } from '../helpers/app.js';
import { client, createAgent, ok, type Auth, type Body } from '../agents/fixtures.js';

export { client, createAgent, ok, type Auth, type Body };

/** A knowledge item made over HTTP (201 asserted). */
export async function createItem(t: TestApp, auth: Auth, sourceAgentId: string, over: Record<string, unknown> = {}): Promise<Body> {
  return ok(
    await client(t).post('/v1/knowledge', auth, {
      domain: 'travel',
      content: { title: 'Visa rules for Japan', description: 'Citizens of many countries enter Japan visa-free for 90 days.' },
      sourceAgentId,
      ...over,
    }),
    201,
  );
}

export interface MemoryRow {
  id: string;
  agent_id: string;
  knowledge_id: string | null;
  memory_type: string;
  content: string;
  importance_score: number;
  tags: string[];
  metadata: Record<string, unknown>;
  embedding_model: string | null;
  embedding_dims: number | null;
  has_embedding: boolean;
}

/**
 * The agent's memories as stored (read as the owner, bypassing RLS): the
 * memories API is another module's, so transfers are checked at the table.
 */
export async function memoriesOf(t: TestApp, agentId: string): Promise<MemoryRow[]> {
  const hasColumn = await t.db.admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'agent_memories' AND column_name = 'embedding'`,
  );
  const emb = hasColumn.rows[0]!.n > 0 ? 'embedding IS NOT NULL' : 'false';
  const r = await t.db.admin.query<MemoryRow>(
    `SELECT id, agent_id, knowledge_id, memory_type, content, importance_score, tags, metadata, embedding_model, embedding_dims,
       ${emb} AS has_embedding
     FROM agent_memories WHERE agent_id = $1 ORDER BY created_at, id`,
    [agentId],
  );
  return r.rows;
}

/** Audit rows about one resource, oldest first. */
export async function auditActions(t: TestApp, orgId: string, resourceId: string): Promise<string[]> {
  const r = await t.db.admin.query<{ action: string }>(
    `SELECT action FROM audit_logs WHERE org_id = $1 AND resource_id = $2 ORDER BY seq`,
    [orgId, resourceId],
  );
  return r.rows.map((x) => x.action);
}

/** Asserts a 4xx in the one error shape and returns its code. */
export function codeOf(res: LightMyRequestResponse, status?: number): string {
  if (status !== undefined) expect(res.statusCode, res.body).toBe(status);
  else expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, res.body).toBeLessThan(500);
  const b = res.json() as { error?: { code?: unknown } };
  expect(typeof b.error?.code, res.body).toBe('string');
  return b.error!.code as string;
}

export type Owner = SignedUp;
