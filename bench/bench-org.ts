import type { FastifyInstance } from 'fastify';
import type { Database } from '../src/db/index.js';

export interface BenchOrg {
  orgId: string;
  userId: string;
  /** `Bearer <API key>` with every scope and a high rate limit: what an SDK sends */
  authorization: string;
  agentIds: string[];
  /** the published version 1.0.0 of each agent, when asked for */
  versionOf: Map<string, string>;
}

/**
 * An organization for a benchmark, set up through the API (signup, an API
 * key, agents), with its plan limits lifted by owner SQL (benchmarks only):
 * the bench writes far more than a plan allows.
 */
export async function benchOrg(app: FastifyInstance, db: Database, o: { name: string; agents: number; versions?: boolean }): Promise<BenchOrg> {
  const slug = o.name.toLowerCase().replaceAll(/[^a-z0-9]+/g, '-');
  const signup = await app.inject({
    method: 'POST', url: '/v1/auth/signup',
    payload: { email: `${slug}@example.com`, password: 'bench-password-1', organizationName: o.name },
  });
  if (signup.statusCode !== 201) throw new Error(`signup: ${signup.statusCode} ${signup.body}`);
  const orgId = signup.json().organization.id as string;
  const userId = signup.json().user.id as string;
  await db.admin.query(
    `UPDATE organizations SET max_agents = 1000, max_executions_per_month = 2000000000,
       max_ingested_spans_per_month = 1000000000000, max_ingested_spans_per_second = 10000000 WHERE id = $1`,
    [orgId],
  );
  const keyRes = await app.inject({
    method: 'POST', url: '/v1/api-keys', headers: { authorization: `Bearer ${signup.json().tokens.accessToken as string}` },
    payload: { name: slug, scopes: ['*'], rateLimit: 100_000 },
  });
  if (keyRes.statusCode !== 201) throw new Error(`API key: ${keyRes.statusCode} ${keyRes.body}`);
  const authorization = `Bearer ${keyRes.json().key as string}`;
  const agentIds: string[] = [];
  const versionOf = new Map<string, string>();
  for (let i = 0; i < o.agents; i++) {
    const a = await app.inject({ method: 'POST', url: '/v1/agents', headers: { authorization }, payload: { name: `Trip Planner ${i + 1}`, systemPrompt: 'Plan trips.' } });
    if (a.statusCode !== 201) throw new Error(`agent: ${a.statusCode} ${a.body}`);
    const id = a.json().id as string;
    agentIds.push(id);
    if (o.versions) {
      const v = await app.inject({ method: 'POST', url: `/v1/agents/${id}/versions`, headers: { authorization }, payload: { version: '1.0.0' } });
      if (v.statusCode !== 201) throw new Error(`version: ${v.statusCode} ${v.body}`);
      versionOf.set(id, v.json().id as string);
    }
  }
  return { orgId, userId, authorization, agentIds, versionOf };
}
