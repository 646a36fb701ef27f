import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signupUser, type TestApp } from '../helpers/app.js';
import { createKey } from '../helpers/identity.js';
import { createAgent } from '../agents/fixtures.js';

const run = promisify(execFile);
const SDK = path.resolve(import.meta.dirname, '../../src/sdk');

let t: TestApp;
let url: string;
let apiKey: string;
let agentId: string;
let out: string;

beforeAll(async () => {
  t = await createTestApp();
  url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const owner = await signupUser(t.app);
  apiKey = (await createKey(t.app, owner.auth, { name: 'sdk', scopes: ['executions:write', 'executions:read'], rateLimit: 100_000 })).key;
  agentId = (await createAgent(t, owner.auth)).id as string;
  // The SDK alone, compiled as tsc compiles it (type-only imports vanish), in a folder with nothing else.
  out = await mkdtemp(path.join(tmpdir(), 'agentbase-sdk-'));
  for (const f of (await readdir(SDK)).filter((f) => f.endsWith('.ts'))) {
    const js = ts.transpileModule(await readFile(path.join(SDK, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: f,
    }).outputText;
    await writeFile(path.join(out, f.replace(/\.ts$/, '.js')), js);
  }
});
afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
  await t?.close();
});

describe('the SDK needs none of the server', () => {
  it('its compiled JavaScript imports only node: built-ins and its own files', async () => {
    const specs = new Set<string>();
    for (const f of await readdir(out)) {
      const js = await readFile(path.join(out, f), 'utf8');
      expect(js).not.toMatch(/\brequire\(/);
      for (const m of js.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) specs.add(m[1]!);
    }
    expect(specs.size).toBeGreaterThan(0);
    const foreign = [...specs].filter((s) => !/^\.\/[a-z-]+\.js$/.test(s) && !s.startsWith('node:'));
    expect(foreign).toEqual([]);
    expect(specs.has('./client.js')).toBe(true);
  });

  it('runs in a plain node process from that folder: a round trip, an exporter flush, and the process exits on its own', async () => {
    const script = `
      import { AgentbaseClient, BatchExporter } from ${JSON.stringify(path.join(out, 'index.js'))};
      const [url, apiKey, agentId] = process.argv.slice(1);
      const exp = new BatchExporter({ baseUrl: url, apiKey, flushIntervalMs: 20 });
      const run = exp.startExecution({ agentId, sessionId: 'isolated' });
      run.span({ kind: 'tool_call', name: 'lookup' });
      run.end('completed');
      await exp.flush();
      const client = new AgentbaseClient({ baseUrl: url, apiKey });
      const page = await client.listExecutions({ sessionId: 'isolated' });
      const detail = await client.getExecution(page.data[0].id);
      // Left running on purpose, with a queued item and a dead peer: its timer must not hold the process.
      const idle = new BatchExporter({ baseUrl: 'http://127.0.0.1:1', apiKey });
      idle.recordExecution({ agentId });
      console.log(JSON.stringify({ stats: exp.stats(), spans: detail.spans.length, status: detail.status, clientId: page.data[0].clientId === run.clientId }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, url, apiKey, agentId], { timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({ stats: { sent: 3, rejected: 0, dropped: 0, retries: 0, batches: 2, queued: 0 }, spans: 1, status: 'completed', clientId: true });
  });
});
