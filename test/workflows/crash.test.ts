import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { driver } from '../helpers/db.js';
import { client, createWorkflow, getRun, ok, runReaches, startRun, stepOf, storedTool, until, type Body } from './fixtures.js';
import { startPeer, type Peer } from './peer.js';

/**
 * kill -9 of a real worker process in the middle of a workflow. The child
 * (crash-child.ts) runs the engine; its tool steps call the peer in this
 * process, which holds step "c" unanswered so the child is mid-step when it is
 * killed. A second child then finishes the run.
 *
 * Why the step in flight runs twice and no other step does: its step run was
 * recorded as "running" (attempt 1) before the call, and nothing after that
 * was committed, so the job is delivered again once the dead child's lease
 * expires (at-least-once delivery) and the step is attempted again. Steps a
 * and b had committed their outputs, so they are never called again; d and e
 * had not started.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KEYS = ['a', 'b', 'c', 'd', 'e'];

describe.skipIf(driver !== 'postgres')('kill -9 of a worker mid-workflow (server PostgreSQL only: a second process cannot open an in-memory PGlite database)', () => {
  let t: TestApp;
  let a: SignedUp;
  let peer: Peer;
  let answerC = false;
  const children: ChildProcess[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    a = await signupUser(t.app);
    await storedTool(t, a.auth, 'crash_step');
    peer = await startPeer(async (call, n) => {
      // The first call of c never answers while the first child lives.
      if (call.stepKey === 'c' && !answerC) await new Promise(() => {});
      return { body: { output: { step: call.stepKey, call: n, got: call.input } } };
    });
  });
  afterAll(async () => {
    for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
    await peer?.close();
    await t?.close();
  });

  function child(): { proc: ChildProcess; exited: Promise<NodeJS.Signals | number | null> } {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'test/workflows/crash-child.ts'], {
      cwd: ROOT,
      env: { ...process.env, CRASH_DB_URL: t.url!, CRASH_PEER_URL: peer.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(proc);
    proc.stdout!.on('data', (b: Buffer) => logs.push(b.toString()));
    proc.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => proc.on('exit', (code, signal) => resolve(signal ?? code)));
    return { proc, exited };
  }

  it('a restarted worker resumes the run; completed steps never run again, the one in flight at most twice', async () => {
    const w = await createWorkflow(t, a.auth, KEYS.map((key, i) => ({
      key, type: 'tool', tool: 'crash_step', ...(i ? { dependsOn: [KEYS[i - 1]], input: { prev: `$.steps.${KEYS[i - 1]}.output` } } : { input: '$.input' }),
    })));
    const run = await startRun(t, a.auth, w.id, { trip: 'Lisbon' });

    const first = child();
    await until(async () => peer.count(run.id, 'c') === 1, 'the first child to be calling step c', 30_000);
    const mid = await getRun(t, a.auth, run.id);
    expect(mid.status).toBe('running');
    expect(['a', 'b'].map((k) => stepOf(mid, k).status)).toEqual(['completed', 'completed']);
    expect(stepOf(mid, 'c')).toMatchObject({ status: 'running', attempts: 1 });

    first.proc.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    answerC = true;

    child();
    const done = await runReaches(t, a.auth, run.id, 'completed', 'failed');
    expect(done.status, logs.join('')).toBe('completed');

    // Calls the peer received, per step: once each, twice for c (in flight at the kill).
    expect(KEYS.map((k) => peer.count(run.id, k))).toEqual([1, 1, 2, 1, 1]);
    // Every step's output is persisted, and each is what the peer answered to its last call.
    for (const [i, k] of KEYS.entries()) {
      const s = stepOf(done, k);
      expect(s).toMatchObject({ status: 'completed', attempts: k === 'c' ? 2 : 1, output: { step: k, call: k === 'c' ? 2 : 1 } });
      expect(s.input).toEqual(i === 0 ? { trip: 'Lisbon' } : { prev: stepOf(done, KEYS[i - 1]!).output });
    }
    expect(done.output).toEqual({ e: stepOf(done, 'e').output });
    // The job of c was reclaimed from the dead child: two deliveries, one job.
    const jobs = ok(await client(t).get('/v1/jobs?queue=workflows&limit=100', a.auth)).data as Body[];
    const ofRun = jobs.filter((j) => j.payload.runId === run.id);
    expect(ofRun.map((j) => j.payload.stepKey).sort()).toEqual(KEYS);
    expect(ofRun.find((j) => j.payload.stepKey === 'c')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(ofRun.filter((j) => j.payload.stepKey !== 'c').every((j) => j.attempts === 1)).toBe(true);
  }, 60_000);
});
