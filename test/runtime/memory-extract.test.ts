/**
 * Extraction after a run (memory.extract): the agent's own model is asked for
 * facts and preferences, which become memories; a near-duplicate supersedes
 * the memory it repeats; a malformed answer fails the job with its reason and
 * writes nothing. The worker runs the service's own job handlers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../src/jobs/index.js';
import { EXTRACT_INSTRUCTIONS } from '../../src/runtime/index.js';
import type { SignedUp } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { call, ok, runAgent, runtimeApp, scriptedAgent, type Body, type RuntimeTest } from './run-fixtures.js';

let rt: RuntimeTest;
let owner: SignedUp;
let worker: Worker;
let agent: { id: string; slug: string };

// A phrase of the extraction prompt: the run's own requests never contain it (and offer tools).
const EXTRACTING = EXTRACT_INSTRUCTIONS.slice(0, 40);
const json = (memories: unknown[]) => JSON.stringify({ memories });

beforeAll(async () => {
  rt = await runtimeApp();
  owner = rt.owner;
  rt.scripts.write('extracts', [
    {
      when: { noTools: true, anyContains: 'I live in Lisbon' },
      content: json([
        { type: 'fact', content: 'The user lives in Lisbon', importance: 0.8 },
        { type: 'preference', content: 'The user prefers window seats' },
      ]),
      usage: { promptTokens: 300, completionTokens: 40 },
    },
    {
      when: { noTools: true, anyContains: 'I moved' },
      // A code fence around the JSON is tolerated.
      content: '```json\n' + json([
        { type: 'fact', content: 'The user now lives in Lisbon', importance: 0.9 },
        { type: 'fact', content: "The user's sister lives in Porto" },
      ]) + '\n```',
    },
    { when: { noTools: true, anyContains: 'garbled' }, content: 'Sure! The user likes tea.' },
    { when: { noTools: true, anyContains: 'wrong shape' }, content: json([{ type: 'opinion', content: 'Tea is nice' }]) },
    { content: 'Noted.', expect: { tools: ['memory_search', 'memory_save'], noneContains: EXTRACTING } },
  ]);
  agent = await scriptedAgent(rt.t, owner.auth, 'extracts');
  ok(await call(rt.t, 'PUT', `/v1/agents/${agent.id}/memory/config`, owner.auth, { extractAfterRun: true, dedupeThreshold: 0.9 }));
  worker = new Worker({ db: rt.t.db, handlers: rt.t.service.jobHandlers, pollIntervalMs: 20, prefetch: 0, concurrency: 1 });
  worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await rt?.close();
});

const spansOf = (e: { spans: Body[] }): Body[] => e.spans.flatMap(function flat(s: Body): Body[] { return [s, ...s.children.flatMap(flat)]; });

async function extractionJobOf(executionId: string): Promise<Body | undefined> {
  const jobs = ok(await call(rt.t, 'GET', '/v1/jobs?queue=memory&limit=100', owner.auth)).data as Body[];
  return jobs.find((j) => j.task === 'memory.extract' && j.payload.executionId === executionId);
}

/** Runs the agent and waits for its extraction job to finish. */
async function runAndExtract(input: string, sessionToken?: string): Promise<{ run: Body; job: Body }> {
  const run = ok(await runAgent(rt.t, owner.auth, agent.id, { input, ...(sessionToken ? { sessionToken } : {}) }));
  expect(run).toMatchObject({ status: 'completed', output: { content: 'Noted.' } });
  const job = await until(async () => {
    const j = await extractionJobOf(run.id);
    return j && (j.status === 'succeeded' || j.status === 'dead') ? j : undefined;
  }, `the extraction job of ${run.id}`);
  return { run, job };
}

const live = async () => ok(await call(rt.t, 'GET', `/v1/agents/${agent.id}/memories?limit=100`, owner.auth)).data as Body[];

describe('memory extraction after a run', () => {
  let lisbonId: string;

  it('asks the agent model for facts and preferences and saves each, traced as a child execution with a priced llm span', async () => {
    const { run, job } = await runAndExtract('I live in Lisbon and I always take a window seat', 'extract-session');
    expect(job.status, job.lastError).toBe('succeeded');
    expect(job.result.saved).toHaveLength(2);
    expect(job.result.superseded).toEqual([]);
    const memories = await live();
    expect(memories.map((x) => [x.memoryType, x.content]).sort()).toEqual([
      ['fact', 'The user lives in Lisbon'],
      ['preference', 'The user prefers window seats'],
    ]);
    const lisbon = memories.find((x) => x.content === 'The user lives in Lisbon')!;
    lisbonId = lisbon.id;
    expect(lisbon).toMatchObject({ importance: 0.8, executionId: run.id, sessionId: run.sessionId, metadata: { extractedFrom: run.id } });

    const x = ok(await call(rt.t, 'GET', `/v1/executions/${job.result.extractionExecutionId}`, owner.auth));
    expect(x).toMatchObject({
      agentId: agent.id, parentExecutionId: run.id, traceId: run.traceId, status: 'completed', input: { extractFrom: run.id },
      promptTokens: 300, completionTokens: 40, metadata: { runtime: { kind: 'memory.extract' } },
    });
    expect(x.costUsd).toBeGreaterThan(0);
    const llm = spansOf(x).find((s) => s.kind === 'llm_call');
    expect(llm).toMatchObject({ model: 'gpt-4o-mini', provider: 'openai', promptTokens: 300, completionTokens: 40, status: 'ok' });
    expect(JSON.stringify(llm.input)).toContain('I live in Lisbon and I always take a window seat');
    expect(JSON.stringify(llm.input)).toContain('assistant: Noted.');
    const save = spansOf(x).find((s) => s.kind === 'memory_access');
    expect(save).toMatchObject({ name: 'memory_extract_save', status: 'ok' });
    expect(save.attributes.hits.map((h: Body) => h.id).sort()).toEqual([...job.result.saved].sort());
    // The run itself is as its caller saw it.
    const again = ok(await call(rt.t, 'GET', `/v1/executions/${run.id}`, owner.auth));
    expect(again).toMatchObject({ status: 'completed', costUsd: run.costUsd, totalTokens: run.totalTokens });
  });

  it('a near-duplicate supersedes the memory it repeats instead of adding one; a different fact is added', async () => {
    const { job } = await runAndExtract('Note: I moved, and my sister lives in Porto');
    expect(job.status, job.lastError).toBe('succeeded');
    expect(job.result.saved).toHaveLength(2);
    expect(job.result.superseded).toHaveLength(1);
    const [sup] = job.result.superseded;
    expect(sup.id).toBe(lisbonId);
    expect(sup.similarity).toBeGreaterThanOrEqual(0.9);
    const memories = await live();
    expect(memories.map((m) => m.content).sort()).toEqual([
      'The user now lives in Lisbon',
      'The user prefers window seats',
      "The user's sister lives in Porto",
    ]);
    const old = ok(await call(rt.t, 'GET', `/v1/agents/${agent.id}/memories/${lisbonId}`, owner.auth));
    const now = memories.find((m) => m.content === 'The user now lives in Lisbon')!;
    expect(old).toMatchObject({ content: 'The user lives in Lisbon', supersededBy: now.id });
    expect(old.supersededAt).not.toBeNull();
  });

  it('a malformed answer fails the job with its reason, records a failed extraction, and writes nothing', async () => {
    const before = await live();
    for (const [input, reason] of [['This is garbled', 'not JSON'], ['The wrong shape', 'memories.0.type']] as const) {
      const { run, job } = await runAndExtract(input);
      expect(job.status).toBe('dead');
      expect(job.lastError).toContain('could not be used');
      expect(job.lastError).toContain(reason);
      const executionId = /extraction execution ([0-9a-f-]{36})/.exec(job.lastError)![1];
      const x = ok(await call(rt.t, 'GET', `/v1/executions/${executionId}`, owner.auth));
      expect(x).toMatchObject({ parentExecutionId: run.id, status: 'failed', errorCode: 'malformed_output' });
      expect(spansOf(x).map((s) => s.kind)).toEqual(['llm_call']);
    }
    expect(await live()).toEqual(before);
  });

  it('queues nothing when extractAfterRun is off', async () => {
    rt.scripts.write('no-extract', [{ content: 'Noted.' }]);
    const quiet = await scriptedAgent(rt.t, owner.auth, 'no-extract');
    const run = ok(await runAgent(rt.t, owner.auth, quiet.id, { input: 'I live in Lisbon' }));
    // Queued (or not) before the run's answer is sent.
    expect(await extractionJobOf(run.id)).toBeUndefined();
  });
});
