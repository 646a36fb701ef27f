import type { FastifyInstance } from 'fastify';

/** Creates an agent in the caller's organization (ingested executions must name one) and returns its id. */
export async function makeAgent(app: FastifyInstance, auth: { authorization: string }, slug: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/agents', headers: auth, payload: { name: slug, slug } });
  if (res.statusCode !== 201) throw new Error(`agent ${slug}: ${res.statusCode} ${res.body}`);
  return (res.json() as { id: string }).id;
}

/** Publishes a version of the agent and returns the version's id (ingested executions may name it). */
export async function publishVersion(app: FastifyInstance, auth: { authorization: string }, agentId: string, version = '1.0.0'): Promise<string> {
  const res = await app.inject({ method: 'POST', url: `/v1/agents/${agentId}/versions`, headers: auth, payload: { version } });
  if (res.statusCode !== 201) throw new Error(`version ${version}: ${res.statusCode} ${res.body}`);
  return (res.json() as { id: string }).id;
}
