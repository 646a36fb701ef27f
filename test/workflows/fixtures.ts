import { expect } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { Worker } from '../../src/jobs/index.js';
import { workflowJobHandlers, type AgentRunner, type ToolRunner } from '../../src/workflows/index.js';
import type { TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { client, ok, type Auth, type Body } from '../agents/fixtures.js';

export { client, ok, until, type Auth, type Body };

/** A stored tool (the definition's tool steps name it). */
export async function storedTool(t: TestApp, auth: Auth, name: string) {
  return ok(await client(t).post('/v1/tools', auth, {
    name,
    description: `the ${name} tool`,
    toolType: 'api',
    config: { url: 'https://tools.example.com/run', method: 'POST' },
    inputSchema: { type: 'object' },
  }), 201);
}

export async function createWorkflow(t: TestApp, auth: Auth, steps: unknown[], over: Record<string, unknown> = {}) {
  return ok(await client(t).post('/v1/workflows', auth, {
    name: `wf-${Math.random().toString(36).slice(2, 10)}`, status: 'active', steps, ...over,
  }), 201);
}

export async function startRun(t: TestApp, auth: Auth, workflowId: string, input: Record<string, unknown> = {}) {
  return ok(await client(t).post(`/v1/workflows/${workflowId}/executions`, auth, { input }), 202);
}

export const getRun = async (t: TestApp, auth: Auth, id: string) => ok(await client(t).get(`/v1/workflow-executions/${id}`, auth));


/** Waits until the run's status is one of these, and returns the run with its steps. */
export function runReaches(t: TestApp, auth: Auth, id: string, ...statuses: string[]): Promise<Body> {
  return until(async () => {
    const run = await getRun(t, auth, id);
    return statuses.includes(run.status) ? run : null;
  }, `run ${id} to be ${statuses.join(' or ')}`);
}

export const stepOf = (run: Body, key: string): Body => {
  const s = run.steps.find((x: { stepKey: string }) => x.stepKey === key);
  expect(s, `step ${key} of ${JSON.stringify(run.steps.map((x: { stepKey: string }) => x.stepKey))}`).toBeDefined();
  return s;
};

/** A worker running the workflow engine, with runners that call the test's peer. */
export function engine(db: Database, runners: { runAgent: AgentRunner; runTool: ToolRunner }, errors: unknown[]): Worker {
  const w = new Worker({
    db,
    handlers: workflowJobHandlers({ db, ...runners }),
    queues: ['workflows'],
    pollIntervalMs: 20,
    prefetch: 0,
    concurrency: 4,
    retryDelayMs: () => 10,
    onError: (err) => errors.push(err),
  });
  w.start();
  return w;
}
