import type { FastifyInstance } from 'fastify';

/** Creates an agent in the caller's organization (ingested executions must name one) and returns its id. */
export async function makeAgent(app: FastifyInstance, auth: { authorization: string }, slug: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/agents', headers: auth, payload: { name: slug, slug } });
  if (res.statusCode !== 201) throw new Error(`agent ${slug}: ${res.statusCode} ${res.body}`);
  return (res.json() as { id: string }).id;
}
