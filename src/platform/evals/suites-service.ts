/** Suites and their test cases: create, read, change (optimistic lock), soft delete; every change audited. */
import { requireAgent } from '../../agents/index.js';
import { appendAudit, type Actor } from '../../audit/index.js';
import { uuidv7, type Sql } from '../../db/index.js';
import { AppError, notFound, validationFailed, versionConflict, conflict } from '../../errors.js';
import * as cases from './cases-repo.js';
import type { CaseFields, CaseRow } from './cases-repo.js';
import { clock, MAX_CASES_PER_SUITE, type EvalsDeps } from './deps.js';
import { caseProblem, DEFAULT_THRESHOLDS, type ScorerConfig } from './scorer-config.js';
import * as suites from './suites-repo.js';
import type { GateMetric, GateMode, SuiteFields, SuiteRow } from './suites-repo.js';

export interface NewSuiteInput {
  agentId: string;
  name: string;
  description?: string | null | undefined;
  passThreshold: number;
  gateMetric: GateMetric;
  gate: GateMode;
  config: Record<string, unknown>;
}
export type SuiteChange = Partial<NewSuiteInput> & { version: number };

export interface NewCaseInput {
  name: string;
  description?: string | null | undefined;
  input: unknown;
  expectedOutput?: unknown;
  scorer: ScorerConfig;
  scoringRubric?: unknown;
  passThreshold?: number | undefined;
}
export type CaseChange = Partial<NewCaseInput> & { version: number };

const isNotFound = (err: unknown) => err instanceof AppError && err.code === 'not_found';

/** The live agent a suite is for, named by id or slug; another tenant's reads as missing (400: the body names it). */
async function agentIdOf(sql: Sql, ref: string): Promise<string> {
  try {
    return (await requireAgent(sql, ref)).id;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    throw validationFailed(`agentId: no agent ${ref} in this organization`, [{ path: 'body.agentId', message: 'names no agent of this organization' }]);
  }
}

export async function requireSuite(sql: Sql, orgId: string, id: string, lock = false): Promise<SuiteRow> {
  const s = await suites.getSuite(sql, orgId, id, lock);
  if (!s) throw notFound('eval suite', id);
  return s;
}

const suiteValues = (s: SuiteRow | SuiteFields) => ({
  agentId: s.agentId, name: s.name, description: s.description, gate: s.gate, gateMetric: s.gateMetric, passThreshold: s.passThreshold,
});

export async function createSuite(deps: EvalsDeps, actor: Actor, input: NewSuiteInput): Promise<SuiteRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const fields: SuiteFields = { ...input, description: input.description ?? null, agentId: await agentIdOf(sql, input.agentId) };
    const row = await suites.insertSuite(sql, actor.orgId, uuidv7(), fields, actor.userId, clock(deps));
    await appendAudit(sql, actor, { action: 'eval_suite.created', resourceType: 'eval_suite', resourceId: row.id, agentId: row.agentId, newValues: suiteValues(row) });
    return row;
  });
}

export function getSuite(deps: EvalsDeps, orgId: string, id: string): Promise<SuiteRow> {
  return deps.db.tenant(orgId, (sql) => requireSuite(sql, orgId, id));
}

export function listSuites(deps: EvalsDeps, orgId: string, f: Parameters<typeof suites.listSuites>[2]): Promise<SuiteRow[]> {
  return deps.db.tenant(orgId, (sql) => suites.listSuites(sql, orgId, f));
}

export async function updateSuite(deps: EvalsDeps, actor: Actor, id: string, change: SuiteChange): Promise<SuiteRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const before = await requireSuite(sql, actor.orgId, id, true);
    if (before.version !== change.version) throw versionConflict('eval suite', change.version);
    const agentId = change.agentId === undefined ? before.agentId : await agentIdOf(sql, change.agentId);
    if (!agentId) throw validationFailed('agentId: the suite\'s agent was deleted; name another agent', [{ path: 'body.agentId', message: 'required' }]);
    const fields: SuiteFields = {
      agentId,
      name: change.name ?? before.name,
      description: change.description === undefined ? before.description : change.description,
      gate: change.gate ?? before.gate,
      gateMetric: change.gateMetric ?? before.gateMetric,
      passThreshold: change.passThreshold ?? before.passThreshold,
      config: change.config ?? before.config,
    };
    const after = await suites.updateSuite(sql, actor.orgId, id, fields, before.version + 1, clock(deps));
    await appendAudit(sql, actor, {
      action: 'eval_suite.updated', resourceType: 'eval_suite', resourceId: id, agentId: after.agentId,
      oldValues: suiteValues(before), newValues: suiteValues(after),
    });
    return after;
  });
}

export async function deleteSuite(deps: EvalsDeps, actor: Actor, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await requireSuite(sql, actor.orgId, id, true);
    await suites.softDeleteSuite(sql, actor.orgId, id, clock(deps));
    await appendAudit(sql, actor, { action: 'eval_suite.deleted', resourceType: 'eval_suite', resourceId: id, agentId: before.agentId, oldValues: suiteValues(before) });
  });
}

// ---------------------------------------------------------------- cases

function checkCase(f: CaseFields): void {
  const p = caseProblem(f);
  if (p) throw validationFailed(`${p.path}: ${p.message}`, [{ path: `body.${p.path}`, message: p.message }]);
}

const caseValues = (c: CaseRow | CaseFields) => ({ name: c.name, scorer: c.scorer, passThreshold: c.passThreshold });

export async function createCase(deps: EvalsDeps, actor: Actor, suiteId: string, input: NewCaseInput): Promise<CaseRow> {
  const fields: CaseFields = {
    name: input.name,
    description: input.description ?? null,
    input: input.input,
    expectedOutput: input.expectedOutput ?? null,
    scorer: input.scorer,
    scoringRubric: input.scoringRubric ?? null,
    passThreshold: input.passThreshold ?? DEFAULT_THRESHOLDS[input.scorer.type],
  };
  checkCase(fields);
  return deps.db.tenant(actor.orgId, async (sql) => {
    // Locked: concurrent adds to one suite count one after another against the cap.
    const suite = await requireSuite(sql, actor.orgId, suiteId, true);
    if (suite.caseCount >= MAX_CASES_PER_SUITE) throw conflict(`the suite already has ${MAX_CASES_PER_SUITE} cases, the most one suite holds; make another suite`);
    await assertJudge(sql, fields.scorer);
    const row = await cases.insertCase(sql, actor.orgId, uuidv7(), suiteId, fields, clock(deps));
    await appendAudit(sql, actor, { action: 'eval_case.created', resourceType: 'eval_test_case', resourceId: row.id, agentId: suite.agentId, newValues: { suiteId, ...caseValues(row) } });
    return row;
  });
}

/** An llm_judge's agent must exist now (it may still be deleted later: that case then errors). */
async function assertJudge(sql: Sql, s: ScorerConfig): Promise<void> {
  if (s.type !== 'llm_judge') return;
  try {
    await requireAgent(sql, s.judgeAgent);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    throw validationFailed(`scorer.judgeAgent: no agent ${s.judgeAgent} in this organization`, [{ path: 'body.scorer.judgeAgent', message: 'names no agent of this organization' }]);
  }
}

async function requireCase(sql: Sql, orgId: string, suiteId: string, id: string, lock = false): Promise<CaseRow> {
  const c = await cases.getCase(sql, orgId, suiteId, id, { lock });
  if (!c) throw notFound('eval test case', id);
  return c;
}

export function getCase(deps: EvalsDeps, orgId: string, suiteId: string, id: string): Promise<CaseRow> {
  return deps.db.tenant(orgId, async (sql) => {
    await requireSuite(sql, orgId, suiteId);
    return requireCase(sql, orgId, suiteId, id);
  });
}

export function listCases(deps: EvalsDeps, orgId: string, suiteId: string, f: Parameters<typeof cases.listCases>[3]): Promise<CaseRow[]> {
  return deps.db.tenant(orgId, async (sql) => {
    await requireSuite(sql, orgId, suiteId);
    return cases.listCases(sql, orgId, suiteId, f);
  });
}

export async function updateCase(deps: EvalsDeps, actor: Actor, suiteId: string, id: string, change: CaseChange): Promise<CaseRow> {
  return deps.db.tenant(actor.orgId, async (sql) => {
    const suite = await requireSuite(sql, actor.orgId, suiteId);
    const before = await requireCase(sql, actor.orgId, suiteId, id, true);
    if (before.version !== change.version) throw versionConflict('eval test case', change.version);
    const scorer = change.scorer ?? before.scorer;
    const fields: CaseFields = {
      name: change.name ?? before.name,
      description: change.description === undefined ? before.description : change.description,
      input: change.input ?? before.input,
      expectedOutput: change.expectedOutput === undefined ? before.expectedOutput : change.expectedOutput,
      scorer,
      scoringRubric: change.scoringRubric === undefined ? before.scoringRubric : change.scoringRubric,
      // A new scorer without a threshold gets that scorer's default.
      passThreshold: change.passThreshold ?? (change.scorer && change.scorer.type !== before.scorer.type ? DEFAULT_THRESHOLDS[scorer.type] : before.passThreshold),
    };
    checkCase(fields);
    await assertJudge(sql, fields.scorer);
    const after = await cases.updateCase(sql, actor.orgId, id, fields, before.version + 1, clock(deps));
    await appendAudit(sql, actor, {
      action: 'eval_case.updated', resourceType: 'eval_test_case', resourceId: id, agentId: suite.agentId,
      oldValues: caseValues(before), newValues: caseValues(after),
    });
    return after;
  });
}

export async function deleteCase(deps: EvalsDeps, actor: Actor, suiteId: string, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const suite = await requireSuite(sql, actor.orgId, suiteId);
    const before = await requireCase(sql, actor.orgId, suiteId, id, true);
    await cases.softDeleteCase(sql, actor.orgId, id, clock(deps));
    await appendAudit(sql, actor, { action: 'eval_case.deleted', resourceType: 'eval_test_case', resourceId: id, agentId: suite.agentId, oldValues: { suiteId, ...caseValues(before) } });
  });
}
