import { afterAll, describe, expect, it } from 'vitest';
import { driver } from '../helpers/db.js';
import { cleanupProcesses, PROCESS_TIMEOUT, spawnCli, tempDir, waitForOutput } from '../helpers/processes.js';

/**
 * Embedded mode after kill -9: the next start takes the data folder over at
 * once (its holder is gone), says so in the log, and serves everything the
 * killed process had acknowledged.
 */

afterAll(cleanupProcesses);

const PASSWORD = 'correct horse battery staple';

async function json(res: Response): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
}

describe.runIf(driver === 'pglite')('restart after the server was killed with SIGKILL', () => {
  it(
    'takes the folder over at once, logs it, and keeps every acknowledged write',
    async () => {
      const dir = await tempDir();
      const first = spawnCli(['start'], dir, { PORT: '0', LOG_LEVEL: 'warn' });
      const [, url] = await waitForOutput(first.child, /listening on (http:\/\/\S+) \(pglite\)/);

      // Acknowledged writes: an account, an agent, and a batch of telemetry.
      const email = `crash-${Date.now()}@example.com`;
      const signup = await json(await fetch(`${url}/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: PASSWORD, organizationName: 'Crash Co' }),
      }));
      const auth = { authorization: `Bearer ${(signup.tokens as { accessToken: string }).accessToken}`, 'content-type': 'application/json' };
      const agent = await json(await fetch(`${url}/v1/agents`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'Survivor' }) }));
      const spans = Array.from({ length: 50 }, (_, i) => ({
        clientId: `s-${i}`, executionClientId: 'e-1', kind: 'other', name: `step ${i}`, startedAt: new Date().toISOString(),
      }));
      const batch = await json(await fetch(`${url}/v1/ingest/batch`, {
        method: 'POST', headers: auth, body: JSON.stringify({ executions: [{ clientId: 'e-1', agentId: agent.id }], spans }),
      }));
      expect(batch.accepted).toBe(51);

      first.child.kill('SIGKILL');
      expect((await first.done).signal).toBe('SIGKILL');

      const second = spawnCli(['start'], dir, { PORT: '0', LOG_LEVEL: 'warn' });
      const restarted = waitForOutput(second.child, /listening on (http:\/\/\S+) \(pglite\)/);
      const takeover = waitForOutput(second.child, /"msg":"(the data folder was held by pid \d+[^"]*)"/);
      const [, url2] = await restarted;
      const [, message] = await takeover;
      expect(message).toContain(`held by pid ${first.child.pid}, which is no longer running`);

      const login = await json(await fetch(`${url2}/v1/auth/login`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }),
      }));
      const auth2 = { authorization: `Bearer ${(login.tokens as { accessToken: string }).accessToken}` };
      expect((await json(await fetch(`${url2}/v1/agents/${agent.id as string}`, { headers: auth2 }))).name).toBe('Survivor');
      const executions = await json(await fetch(`${url2}/v1/executions?agentId=${agent.id as string}`, { headers: auth2 }));
      const [execution] = executions.data as { id: string }[];
      const detail = await json(await fetch(`${url2}/v1/executions/${execution!.id}`, { headers: auth2 }));
      expect(detail.spans as unknown[]).toHaveLength(50);

      second.child.kill('SIGTERM');
      expect(await second.done).toMatchObject({ code: 0, signal: null });
    },
    PROCESS_TIMEOUT,
  );
});
