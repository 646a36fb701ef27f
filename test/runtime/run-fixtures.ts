/**
 * Helpers for the agent runtime's tests: scripts for the scripted provider in
 * a temporary folder, agents that are ready to run (published and active),
 * runs over HTTP, a server-sent-events reader, and row counts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { SseLineParser } from '../../src/runtime/providers/sse.js';
import type { ScriptTurn } from '../../src/runtime/index.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';

export type Auth = { authorization: string };
export type Body = ReturnType<typeof JSON.parse>;

export interface ScriptsDir {
  dir: string;
  write(name: string, turns: ScriptTurn[], model?: string): void;
  remove(): void;
}

export function scriptsDir(): ScriptsDir {
  const dir = mkdtempSync(join(tmpdir(), 'agentbase-scripts-'));
  return {
    dir,
    write: (name, turns, model) => writeFileSync(join(dir, `${name}.json`), JSON.stringify(model ? { model, turns } : turns)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface RuntimeTest {
  t: TestApp;
  scripts: ScriptsDir;
  owner: SignedUp;
  close(): Promise<void>;
}

/** A test app whose scripted agents read scripts from a fresh temporary folder. */
export async function runtimeApp(env: Record<string, string> = {}): Promise<RuntimeTest> {
  const scripts = scriptsDir();
  const t = await createTestApp({ AGENTBASE_SCRIPTS_DIR: scripts.dir, ...env });
  const owner = await signupUser(t.app);
  // These tests make more agents than the default limit of 10.
  const org = await t.app.inject({ method: 'GET', url: '/v1/org', headers: owner.auth });
  const res = await t.app.inject({ method: 'PATCH', url: '/v1/org', headers: owner.auth, payload: { version: org.json().version, maxAgents: 1000 } });
  expect(res.statusCode, res.body).toBe(200);
  return {
    t,
    scripts,
    owner,
    async close() {
      await t.close();
      scripts.remove();
    },
  };
}

export async function call(t: TestApp, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, auth: Auth, payload?: unknown) {
  return t.app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload: payload as object }) });
}

export function ok<T = Body>(res: LightMyRequestResponse, status = 200): T {
  expect(res.statusCode, res.body).toBe(status);
  return (res.body ? res.json() : undefined) as T;
}

let n = 0;
export const uniqueSlug = (base = 'agent') => `${base}-${++n}-${Math.random().toString(36).slice(2, 6)}`;

/** Creates an agent, publishes 1.0.0 and makes it active: ready to run. */
export async function readyAgent(t: TestApp, auth: Auth, over: Record<string, unknown> = {}): Promise<{ id: string; slug: string }> {
  const slug = (over.slug as string) ?? uniqueSlug();
  const agent = ok(await call(t, 'POST', '/v1/agents', auth, { name: slug, slug, systemPrompt: 'You help.', model: 'gpt-4o-mini', ...over, }), 201);
  ok(await call(t, 'POST', `/v1/agents/${agent.id}/versions`, auth, { version: '1.0.0' }), 201);
  const version = ok(await call(t, 'GET', `/v1/agents/${agent.id}`, auth)).version;
  ok(await call(t, 'POST', `/v1/agents/${agent.id}/status`, auth, { status: 'active', version }));
  return { id: agent.id, slug };
}

/** An agent that replays the named script. */
export const scriptedAgent = (t: TestApp, auth: Auth, script: string, over: Record<string, unknown> = {}) =>
  readyAgent(t, auth, { modelSettings: { provider: 'scripted', script }, ...over });

export const runAgent = (t: TestApp, auth: Auth, agentId: string, body: Record<string, unknown>) =>
  call(t, 'POST', `/v1/agents/${agentId}/executions`, auth, body);

export interface SseMessage {
  event: string;
  data: Body;
}

export function parseSse(text: string): SseMessage[] {
  const p = new SseLineParser();
  return [...p.push(text, true)].map((e) => ({ event: e.event, data: JSON.parse(e.data) }));
}

/** Rows of tables the runtime writes, across tenants (read as the owner). */
export async function rowCounts(t: TestApp): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['executions', 'spans', 'cost_ledger', 'agent_communications', 'user_sessions', 'background_jobs', 'ingest_keys', 'audit_logs', 'usage_counters']) {
    const r = await t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    out[table] = r.rows[0]!.n;
  }
  return out;
}

/** A plain HTTP API on loopback for http tools to call; records what it was sent. */
export async function startToolApi(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
