/**
 * The eval gate on promotion. Promoting version v of an agent makes it the
 * version the agent runs (the agents module's rollback, in this
 * transaction), unless a suite of the agent says v is not good enough:
 *
 * - each live suite of the agent with gate `required` or `if_run` and at least
 *   one live case is checked (a suite with gate `off`, or no cases, never
 *   gates);
 * - the evidence is v's latest completed run of the suite (cancelled and
 *   running runs do not count);
 * - the suite's figure (pass_rate or average_score, its gateMetric) must be at
 *   least its passThreshold — the suite's threshold now, so raising a
 *   threshold holds back versions that passed the old one;
 * - no completed run: a `required` suite refuses, an `if_run` suite allows.
 *
 * A refusal is 409 eval_gate_failed naming each failing suite, its run and
 * figures. `force: true` (with a reason, and the evals:override permission)
 * promotes anyway; the audit row (agent.promoted) records the gate's report,
 * forced: true and the reason.
 */
import { requireAgent, resolveVersionIn } from '../../agents/index.js';
import { rollbackIn } from '../../agents/index.js';
import type { Actor } from '../../audit/index.js';
import type { Sql } from '../../db/index.js';
import { AppError, forbidden, validationFailed } from '../../errors.js';
import type { EvalsDeps } from './deps.js';
import { latestCompletedRun } from './runs-repo.js';
import { gateValue } from './runs-service.js';
import { gatingSuites } from './suites-repo.js';

export interface SuiteVerdict {
  suiteId: string;
  suiteName: string;
  gate: string;
  metric: string;
  threshold: number;
  runId: string | null;
  value: number | null;
  passed: boolean;
  reason: string;
}

export interface GateReport {
  agentId: string;
  agentVersionId: string;
  version: string;
  passed: boolean;
  suites: SuiteVerdict[];
}

async function gateReport(sql: Sql, orgId: string, agentId: string, version: { id: string; version: string }): Promise<GateReport> {
  const verdicts: SuiteVerdict[] = [];
  for (const s of await gatingSuites(sql, orgId, agentId)) {
    if (s.caseCount === 0) continue;
    const base = { suiteId: s.id, suiteName: s.name, gate: s.gate, metric: s.gateMetric, threshold: s.passThreshold };
    const run = await latestCompletedRun(sql, orgId, s.id, version.id);
    if (!run) {
      const passed = s.gate === 'if_run';
      verdicts.push({ ...base, runId: null, value: null, passed, reason: passed ? 'no completed run (the suite gates only versions it has run)' : `no completed run of version ${version.version}` });
      continue;
    }
    const value = gateValue(run, s);
    const passed = value !== null && value >= s.passThreshold;
    verdicts.push({
      ...base, runId: run.id, value, passed,
      reason: `run ${run.id}: ${s.gateMetric} ${value ?? 'none'} ${passed ? '≥' : '<'} ${s.passThreshold} (${run.passedTests}/${run.totalTests} passed)`,
    });
  }
  return { agentId, agentVersionId: version.id, version: version.version, passed: verdicts.every((v) => v.passed), suites: verdicts };
}

/** How version v stands against the agent's suites, without promoting it. */
export function checkGate(deps: EvalsDeps, orgId: string, agentRef: string, version: string): Promise<GateReport> {
  return deps.db.tenant(orgId, async (sql) => {
    const agent = await requireAgent(sql, agentRef);
    const v = await resolveVersionIn(sql, agent, version);
    return gateReport(sql, orgId, agent.id, v);
  });
}

export interface PromoteInput {
  force: boolean;
  reason?: string | undefined;
}

export async function promoteVersion(
  deps: EvalsDeps, actor: Actor, agentRef: string, version: string, input: PromoteInput, held: ReadonlySet<string>,
) {
  if (input.force && !held.has('evals:override')) throw forbidden('evals:override');
  if (input.force && !input.reason) {
    throw validationFailed('reason: forcing a promotion past the eval gate needs a reason (it is audited)', [{ path: 'body.reason', message: 'required with force' }]);
  }
  return deps.db.tenant(actor.orgId, async (sql) => {
    // Locked first: a concurrent promote or publish of this agent waits for this one.
    const agent = await requireAgent(sql, agentRef, 'update');
    const v = await resolveVersionIn(sql, agent, version);
    const gate = await gateReport(sql, actor.orgId, agent.id, v);
    if (!gate.passed && !input.force) {
      const failing = gate.suites.filter((s) => !s.passed);
      throw new AppError(
        409, 'eval_gate_failed',
        `version ${v.version} fails the eval gate: ${failing.map((s) => `suite "${s.suiteName}" (${s.suiteId}): ${s.reason}`).join('; ')}. ` +
          'Run the suites on this version (POST /v1/eval-suites/{id}/runs), or promote with force and a reason',
        { gate },
      );
    }
    const forced = input.force && !gate.passed;
    const after = await rollbackIn(sql, actor, agent.id, v.version, {
      action: 'agent.promoted',
      newValues: {
        gatePassed: gate.passed,
        forced,
        ...(input.reason ? { reason: input.reason } : {}),
        suites: gate.suites.map((s) => ({ suiteId: s.suiteId, runId: s.runId, value: s.value, threshold: s.threshold, passed: s.passed })),
      },
    });
    return { agent: after, gate, forced };
  });
}
