import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { PASSWORD, signupUser, uniqueEmail, type SignedUp, type TestApp } from '../helpers/app.js';

export type Auth = { authorization: string };
type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** A small HTTP client bound to one test app. */
export function client(t: TestApp) {
  const call = (method: Method, url: string, auth: Auth, payload?: unknown): Promise<LightMyRequestResponse> => {
    const req: InjectOptions = { method, url, headers: auth };
    if (payload !== undefined) req.payload = payload as InjectOptions['payload'];
    return t.app.inject(req);
  };
  return {
    get: (url: string, auth: Auth) => call('GET', url, auth),
    post: (url: string, auth: Auth, payload?: unknown) => call('POST', url, auth, payload),
    patch: (url: string, auth: Auth, payload?: unknown) => call('PATCH', url, auth, payload),
    put: (url: string, auth: Auth, payload?: unknown) => call('PUT', url, auth, payload),
    del: (url: string, auth: Auth) => call('DELETE', url, auth),
  };
}

/** A parsed JSON body, typed as loosely as res.json() is everywhere else in the tests. */
export type Body = ReturnType<typeof JSON.parse>;

/** Asserts the status (showing the body when it differs) and returns the JSON body. */
export function ok<T = Body>(res: LightMyRequestResponse, status = 200): T {
  expect(res.statusCode, res.body).toBe(status);
  return (res.body ? res.json() : undefined) as T;
}

export const searchTool = (name = `search_${Math.random().toString(36).slice(2, 8)}`) => ({
  name,
  description: 'Search the web',
  toolType: 'api',
  config: { url: 'https://search.example.com/q', method: 'GET' },
  inputSchema: { type: 'object', properties: { q: { type: 'string', minLength: 1 } }, required: ['q'], additionalProperties: false },
  outputSchema: { type: 'object', properties: { results: { type: 'array', items: { type: 'string' } } } },
});

export async function createTool(t: TestApp, auth: Auth, over: Record<string, unknown> = {}) {
  return ok(await client(t).post('/v1/tools', auth, { ...searchTool(), ...over }), 201);
}

export async function createAgent(t: TestApp, auth: Auth, over: Record<string, unknown> = {}) {
  return ok(await client(t).post('/v1/agents', auth, { name: 'Trip Planner', systemPrompt: 'Plan trips.', ...over }), 201);
}

export async function publish(t: TestApp, auth: Auth, agentId: string, version: string, changelog?: string) {
  return ok(await client(t).post(`/v1/agents/${agentId}/versions`, auth, { version, ...(changelog ? { changelog } : {}) }), 201);
}

/** The agent's current optimistic-lock version (it moves on publish and rollback too). */
export async function lockVersion(t: TestApp, auth: Auth, agentId: string): Promise<number> {
  return ok(await client(t).get(`/v1/agents/${agentId}`, auth)).version as number;
}

export async function setStatus(t: TestApp, auth: Auth, agentId: string, status: string) {
  const version = await lockVersion(t, auth, agentId);
  return client(t).post(`/v1/agents/${agentId}/status`, auth, { status, version });
}

/** Invites someone with a role into owner's organization and returns their auth. */
export async function joinAs(t: TestApp, owner: SignedUp, role: string): Promise<{ userId: string; auth: Auth }> {
  const inv = await t.app.inject({ method: 'POST', url: '/v1/invitations', headers: owner.auth, payload: { email: uniqueEmail(role), role } });
  expect(inv.statusCode, inv.body).toBe(201);
  const acc = await t.app.inject({ method: 'POST', url: '/v1/auth/invitations/accept', payload: { token: inv.json().token, password: PASSWORD } });
  expect(acc.statusCode, acc.body).toBe(201);
  return { userId: acc.json().userId, auth: { authorization: `Bearer ${acc.json().tokens.accessToken}` } };
}

export interface AuditEntry {
  action: string;
  resource_type: string;
  resource_id: string | null;
  agent_id: string | null;
  old_values: Body;
  new_values: Body;
}

/** Audit rows of one organization, oldest first (read as the owner, bypassing RLS). */
export async function auditRows(t: TestApp, orgId: string, resourceId?: string): Promise<AuditEntry[]> {
  const r = await t.db.admin.query<AuditEntry>(
    `SELECT action, resource_type, resource_id, agent_id, old_values, new_values FROM audit_logs
     WHERE org_id = $1 AND ($2::text IS NULL OR resource_id = $2) ORDER BY seq`,
    [orgId, resourceId ?? null],
  );
  return r.rows;
}

export const AGENT_TABLES = ['agents', 'agent_versions', 'agent_tools', 'agent_capabilities', 'agent_states', 'audit_logs'] as const;

/** Row counts of every table this module writes, across tenants. */
export async function counts(t: TestApp): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of AGENT_TABLES) {
    const r = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    out[table] = r.rows[0]!.n;
  }
  return out;
}

/**
 * A new organization whose owner can create many agents: these tests create
 * more than the default limit of 10 (seed 002), which has its own test.
 */
export async function signupBuilder(t: TestApp): Promise<SignedUp> {
  const u = await signupUser(t.app);
  const org = await t.app.inject({ method: 'GET', url: '/v1/org', headers: u.auth });
  const res = await t.app.inject({ method: 'PATCH', url: '/v1/org', headers: u.auth, payload: { version: org.json().version, maxAgents: 1000 } });
  if (res.statusCode !== 200) throw new Error(`raising maxAgents failed: ${res.body}`);
  return u;
}
