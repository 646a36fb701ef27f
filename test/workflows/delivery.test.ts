import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { claimJobs, failJob, reclaimExpiredJobs, releaseJobs, type ClaimedJob } from '../../src/jobs/index.js';
import { workflowJobHandlers } from '../../src/workflows/index.js';
import { createTestApp, signupUser, type SignedUp, type TestApp } from '../helpers/app.js';
import { createWorkflow, getRun, startRun, stepOf, storedTool, until } from './fixtures.js';
import { echo, peerRunners, startPeer, type Peer, type PeerHandler } from './peer.js';

/**
 * How step jobs behave when delivered more than once, given back, or spent.
 * No Worker runs here: the test claims the jobs itself and hands them to the
 * engine's handlers, so which delivery happens when is exact. "Redelivery" is
 * what the queue does after a crash: the lease expires, is reclaimed, and the
 * job is claimed again (its attempt number one higher).
 */

const W = 'delivery-test';
let t: TestApp;
let a: SignedUp;
let peer: Peer;
const routes = new Map<string, PeerHandler>();
let n = 0;

beforeAll(async () => {
  t = await createTestApp();
  a = await signupUser(t.app);
  peer = await startPeer((call, k) => (routes.get(call.name) ?? echo)(call, k));
});
// Jobs a test left claimed or queued (nothing records their outcomes here) are not the next test's.
afterEach(async () => {
  await t.db.admin.query(`UPDATE background_jobs SET status = 'cancelled', finished_at = now(), locked_by = NULL, locked_until = NULL
    WHERE status IN ('queued', 'running', 'failed')`);
});
afterAll(async () => {
  await peer?.close();
  await t?.close();
});

async function tool(name: string, answer?: PeerHandler): Promise<string> {
  const unique = `${name}_${++n}`;
  await storedTool(t, a.auth, unique);
  if (answer) routes.set(unique, answer);
  return unique;
}

const handlers = () => workflowJobHandlers({ db: t.db, ...peerRunners(peer.url) });
/** One delivery of the job to the engine; aborted: the worker has given the job up. */
function deliver(job: ClaimedJob, signal: AbortSignal = new AbortController().signal): Promise<unknown> {
  return Promise.resolve(handlers()[job.task]!(job, { signal, workerId: W }));
}
const claim = () => claimJobs(t.db, W, ['workflows'], 10, 60_000);
async function claimOne(): Promise<ClaimedJob> {
  const jobs = await claim();
  expect(jobs).toHaveLength(1);
  return jobs[0]!;
}
/** The worker holding the job died: its lease expires and is reclaimed; the next claim redelivers it. */
async function crash(job: ClaimedJob): Promise<void> {
  await t.db.admin.query(`UPDATE background_jobs SET locked_until = now() - interval '1 second' WHERE id = $1`, [job.id]);
  expect(await reclaimExpiredJobs(t.db)).toBe(1);
}
const stepJobs = async (runId: string) =>
  (await t.db.admin.query<{ id: string; attempt: number | null; status: string }>(
    `SELECT id, (payload->>'attempt')::int AS attempt, status FROM background_jobs WHERE payload->>'runId' = $1 ORDER BY id`, [runId],
  )).rows;

describe('a step job runs only its own attempt', () => {
  it('an earlier attempt\'s job delivered again after the retry was enqueued does nothing, before or during the retry', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const flaky = await tool('flaky', async (_call, k) => {
      if (k === 1) return { body: { isError: true, output: 'try again' } };
      await gate;
      return { body: { output: 'second time' } };
    });
    // A back-off of an hour: the retry's job is not due, as when job 1 is redelivered early in the wait.
    const w = await createWorkflow(t, a.auth, [{ key: 'flaky', type: 'tool', tool: flaky, retries: 2, backoffMs: 3_600_000 }]);
    const run = await startRun(t, a.auth, w.id);

    const job1 = await claimOne();
    expect(job1.payload).toMatchObject({ stepKey: 'flaky', attempt: 1 });
    expect(await deliver(job1)).toMatchObject({ attempt: 1, outcome: expect.stringMatching(/^retrying after/) });
    expect(stepOf(await getRun(t, a.auth, run.id), 'flaky')).toMatchObject({ status: 'pending', attempts: 1 });
    expect((await stepJobs(run.id)).map((j) => j.attempt)).toEqual([1, 2]);

    // The worker died before job 1's outcome was recorded: job 1 comes again while attempt 2 waits out its back-off.
    await crash(job1);
    const again = await claimOne();
    expect(again).toMatchObject({ id: job1.id, attempts: 2 });
    expect(await deliver(again)).toEqual({ step: 'flaky', outcome: 'superseded: the step waits for attempt 2, this job is for attempt 1' });
    expect(peer.count(run.id, 'flaky')).toBe(1);
    expect(stepOf(await getRun(t, a.auth, run.id), 'flaky')).toMatchObject({ status: 'pending', attempts: 1 });

    // Attempt 2's job comes due and runs; job 1, delivered once more meanwhile, does not start attempt 3 beside it.
    const job2 = (await stepJobs(run.id)).find((j) => j.attempt === 2)!;
    await t.db.admin.query(`UPDATE background_jobs SET run_at = now() WHERE id = $1`, [job2.id]);
    await crash(again);
    const both = await claim();
    expect(both.map((j) => j.id).sort()).toEqual([job1.id, job2.id].sort());
    const second = deliver(both.find((j) => j.id === job2.id)!);
    await until(async () => peer.count(run.id, 'flaky') === 2, 'attempt 2 to call the tool');
    expect(stepOf(await getRun(t, a.auth, run.id), 'flaky')).toMatchObject({ status: 'running', attempts: 2, jobId: job2.id });
    expect(await deliver(both.find((j) => j.id === job1.id)!)).toEqual({
      step: 'flaky', outcome: `superseded: attempt 2 of the step runs under job ${job2.id}`,
    });
    release();
    expect(await second).toMatchObject({ attempt: 2, outcome: 'completed' });
    const done = await getRun(t, a.auth, run.id);
    expect(done.status).toBe('completed');
    expect(stepOf(done, 'flaky')).toMatchObject({ status: 'completed', attempts: 2, output: 'second time' });
    expect(peer.count(run.id, 'flaky')).toBe(2);
  });
});

describe('interrupted attempts', () => {
  const given = () => AbortSignal.abort(new Error('the worker gave the job back'));

  it('a job given back at shutdown keeps its attempt number, and restarts of its step are not counted against it', async () => {
    const step = await tool('patient');
    const w = await createWorkflow(t, a.auth, [{ key: 'patient', type: 'tool', tool: step }]);
    const run = await startRun(t, a.auth, w.id);
    // More shutdowns than a step may be interrupted (2 beyond its first start).
    for (let i = 1; i <= 5; i++) {
      const job = await claimOne();
      expect(job.attempts).toBe(1);
      await expect(deliver(job, given())).rejects.toThrow(/was interrupted/);
      expect(await releaseJobs(t.db, W, [job])).toEqual([job.id]);
    }
    const mid = await getRun(t, a.auth, run.id);
    expect(mid.status).toBe('running');
    expect(stepOf(mid, 'patient')).toMatchObject({ status: 'running', attempts: 5 });
    expect(await deliver(await claimOne())).toMatchObject({ attempt: 6, outcome: 'completed' });
    expect((await getRun(t, a.auth, run.id)).status).toBe('completed');
  });

  it('a job delivered again after crashes restarts its step twice, then fails the run', async () => {
    const step = await tool('crashy');
    const w = await createWorkflow(t, a.auth, [{ key: 'crashy', type: 'tool', tool: step }]);
    const run = await startRun(t, a.auth, w.id);
    for (let i = 1; i <= 3; i++) {
      const job = await claimOne();
      expect(job.attempts).toBe(i);
      await expect(deliver(job, given())).rejects.toThrow(/was interrupted/);
      await crash(job);
    }
    expect(await deliver(await claimOne())).toEqual({ step: 'crashy', outcome: 'failed' });
    const failed = await getRun(t, a.auth, run.id);
    expect(failed).toMatchObject({ status: 'failed', errorMessage: expect.stringMatching(/^step "crashy" failed: interrupted 3 times without finishing/) });
    expect(stepOf(failed, 'crashy')).toMatchObject({ status: 'failed', attempts: 3 });
  });
});

describe('a step job that runs out of attempts', () => {
  it('fails the run on its last attempt instead of leaving it running behind a dead job', async () => {
    const step = await tool('orphan');
    const w = await createWorkflow(t, a.auth, [{ key: 'orphan', type: 'tool', tool: step }]);
    const run = await startRun(t, a.auth, w.id);
    // The version the run executes is gone: every delivery of its step job throws.
    await t.db.admin.query(`DELETE FROM workflow_versions WHERE workflow_id = $1`, [w.id]);
    let last: ClaimedJob | undefined;
    for (;;) {
      const job = await claimOne();
      await expect(deliver(job)).rejects.toThrow(/version 1 of workflow .* is missing/);
      const status = await failJob(t.db, W, job, 'thrown', true, 0);
      if (status === 'dead') {
        last = job;
        break;
      }
      expect((await getRun(t, a.auth, run.id)).status).toBe('running');
    }
    expect(last).toMatchObject({ attempts: 10, maxAttempts: 10 });
    const failed = await getRun(t, a.auth, run.id);
    expect(failed).toMatchObject({
      status: 'failed', errorMessage: expect.stringMatching(/^step "orphan" failed: its job failed 10 times, last with: Error: version 1 of workflow .* is missing/),
    });
    expect(stepOf(failed, 'orphan').status).toBe('failed');
  });

  it('does not fail the run when the worker gave the job up (it is not dead, it runs again)', async () => {
    const step = await tool('given_up');
    const w = await createWorkflow(t, a.auth, [{ key: 'given_up', type: 'tool', tool: step }]);
    const run = await startRun(t, a.auth, w.id);
    await t.db.admin.query(`UPDATE background_jobs SET max_attempts = 1 WHERE payload->>'runId' = $1`, [run.id]);
    const job = await claimOne();
    await expect(deliver(job, AbortSignal.abort(new Error('stopping')))).rejects.toThrow(/was interrupted/);
    expect((await getRun(t, a.auth, run.id)).status).toBe('running');
    await releaseJobs(t.db, W, [job]);
    expect(await deliver(await claimOne())).toMatchObject({ outcome: 'completed' });
  });
});

describe('migration 0011', () => {
  it('partition functions are the owner\'s: the app role may not run them', async () => {
    const r = await t.db.admin.query<{ f: string; ok: boolean }>(
      `SELECT f, has_function_privilege('agentbase_app', f, 'EXECUTE') AS ok FROM unnest($1::text[]) AS f`,
      [[
        'ensure_weekly_partitions(regclass, timestamptz, integer)', 'ensure_monthly_partitions(regclass, timestamptz, integer)',
        'ensure_daily_partitions(regclass, timestamptz, integer)', 'drop_partitions_before(regclass, timestamptz)',
      ]],
    );
    expect(r.rows.filter((x) => x.ok)).toEqual([]);
  });
});
