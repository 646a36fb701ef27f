/**
 * Evals tests: an app whose scripted agents read scripts from a temporary
 * folder, a Worker running the service's own job handlers (the wiring
 * `agentbase start` uses), and helpers for suites, cases and runs.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { Worker } from '../../../src/jobs/index.js';
import type { ScriptTurn } from '../../../src/runtime/index.js';
import { joinAs } from '../../agents/fixtures.js';
import { until } from '../../helpers/until.js';
import { call, ok, runtimeApp, scriptedAgent, type Auth, type Body, type RuntimeTest } from '../../runtime/run-fixtures.js';

export { call, ok, until, type Auth, type Body };

export interface EvalsHarness {
  rt: RuntimeTest;
  owner: Auth;
  orgId: string;
  member: { userId: string; auth: Auth };
  viewer: { userId: string; auth: Auth };
  worker: Worker | null;
  /** a scripted agent answering by rules: each [text the input contains, answer] */
  agent(answers: Array<[string, string]>, over?: Record<string, unknown>): Promise<{ id: string; slug: string }>;
  /** the answers as a script of `when` rules (for publishing another version with another script) */
  script(name: string, answers: Array<[string, string]>): void;
}

let n = 0;
export const rules = (answers: Array<[string, string]>): ScriptTurn[] =>
  answers.map(([when, content]) => ({ when: { anyContains: when }, content, usage: { promptTokens: 10, completionTokens: 5 } }));

/** One test file's app, users and (when asked) a worker. */
export function useEvals(opts: { worker?: boolean; env?: Record<string, string> } = {}): EvalsHarness {
  const errors: unknown[] = [];
  const h = {
    worker: null,
    async agent(answers: Array<[string, string]>, over: Record<string, unknown> = {}) {
      const name = `script-${++n}`;
      h.script(name, answers);
      return scriptedAgent(h.rt.t, h.owner, name, over);
    },
    script(name: string, answers: Array<[string, string]>) {
      h.rt.scripts.write(name, rules(answers));
    },
  } as unknown as EvalsHarness;
  beforeAll(async () => {
    h.rt = await runtimeApp(opts.env);
    h.owner = h.rt.owner.auth;
    h.orgId = h.rt.owner.orgId;
    h.member = await joinAs(h.rt.t, h.rt.owner, 'member');
    h.viewer = await joinAs(h.rt.t, h.rt.owner, 'viewer');
    if (opts.worker) {
      h.worker = new Worker({
        db: h.rt.t.db, handlers: h.rt.t.service.jobHandlers, pollIntervalMs: 20, prefetch: 0, concurrency: 8,
        retryDelayMs: () => 10, onError: (err) => errors.push(err),
      });
      h.worker.start();
    }
  });
  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await h.worker?.stop({ timeoutMs: 5000 });
    await h.rt?.close();
  });
  return h;
}

export async function createSuite(h: EvalsHarness, agentId: string, over: Record<string, unknown> = {}, auth = h.owner): Promise<Body> {
  return ok(await call(h.rt.t, 'POST', '/v1/eval-suites', auth, { agentId, name: `suite ${++n}`, ...over }), 201);
}

export async function addCase(h: EvalsHarness, suiteId: string, body: Record<string, unknown>, auth = h.owner): Promise<Body> {
  return ok(await call(h.rt.t, 'POST', `/v1/eval-suites/${suiteId}/cases`, auth, { name: `case ${++n}`, ...body }), 201);
}

export async function startRun(h: EvalsHarness, suiteId: string, body: Record<string, unknown> = {}, auth = h.owner): Promise<Body> {
  return ok(await call(h.rt.t, 'POST', `/v1/eval-suites/${suiteId}/runs`, auth, body), 202);
}

export async function finished(h: EvalsHarness, runId: string): Promise<Body> {
  return until(async () => {
    const r = ok(await call(h.rt.t, 'GET', `/v1/eval-runs/${runId}`, h.owner));
    return ['completed', 'failed', 'cancelled'].includes(r.status) ? r : null;
  }, `eval run ${runId} to finish`, 60_000);
}

/** Row counts of the evals tables, across tenants. */
export async function evalCounts(h: EvalsHarness): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['eval_suites', 'eval_test_cases', 'eval_runs', 'eval_results', 'background_jobs', 'audit_logs']) {
    const r = await h.rt.t.db.admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    out[table] = r.rows[0]!.n;
  }
  return out;
}

export async function auditActions(h: EvalsHarness, resourceId: string): Promise<Array<{ action: string; new_values: Body; actor_type: string }>> {
  const r = await h.rt.t.db.admin.query<{ action: string; new_values: Body; actor_type: string }>(
    `SELECT action, new_values, actor_type FROM audit_logs WHERE org_id = $1 AND resource_id = $2 ORDER BY seq`, [h.orgId, resourceId],
  );
  return r.rows;
}
