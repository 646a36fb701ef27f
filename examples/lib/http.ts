// examples/lib/http.ts — what the TypeScript examples share: one JSON request to the API
// (a 4xx/5xx throws, naming the route and the answer), and the agents they create.

export const baseUrl = process.env.AGENTBASE_URL ?? 'http://127.0.0.1:4100';
const apiKey = process.env.AGENTBASE_API_KEY;
if (!apiKey) throw new Error('set AGENTBASE_API_KEY (examples/quickstart.sh prints one)');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** One request; `auth` overrides the API key (another user's token, or none). Answers status and body. */
export async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, auth: string | null = apiKey!) {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : undefined };
}

/** One request that must succeed (2xx); answers the body. */
export async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, auth: string | null = apiKey!): Promise<Json> {
  const r = await call(method, path, body, headers, auth);
  if (r.status >= 400) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * An active agent with this slug, created unless the organization has it
 * already (slugs are unique in an organization, and the scripts name them).
 * It replays examples/scripts/<script>.json, or with AGENTBASE_EXAMPLE_LLM=service
 * calls the server's model endpoint (AGENTBASE_LLM_BASE_URL) with AGENTBASE_EXAMPLE_MODEL.
 */
export async function ensureAgent(slug: string, script: string, opts: { tools?: string[]; systemPrompt?: string } = {}): Promise<string> {
  const live = process.env.AGENTBASE_EXAMPLE_LLM === 'service';
  const r = await call('POST', '/v1/agents', {
    name: slug, slug, status: 'active',
    model: live ? (process.env.AGENTBASE_EXAMPLE_MODEL ?? 'gpt-4o-mini') : 'gpt-4o-mini',
    ...(live ? {} : { modelSettings: { provider: 'scripted', script } }),
    ...(opts.systemPrompt ? { systemPrompt: opts.systemPrompt } : {}),
    tools: opts.tools ?? [],
  });
  if (r.status === 201) return r.body.id;
  if (r.status === 409) return (await api('GET', `/v1/agents/${slug}`)).id;
  throw new Error(`POST /v1/agents answered ${r.status}: ${JSON.stringify(r.body)}`);
}
