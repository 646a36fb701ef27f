import { resolveAgentRef } from '../agents/index.js';
import { appendAudit, type Actor } from '../audit/index.js';
import type { Sql } from '../db/index.js';
import { AppError, validationFailed } from '../errors.js';
import { clock } from './deps.js';
import * as uses from './pattern-uses-repo.js';
import type { DailyMetrics, PatternUseRow, UseFilter } from './pattern-uses-repo.js';
import * as patterns from './patterns-repo.js';
import type { PatternRow } from './patterns-repo.js';
import { patternMissing, type PatternsDeps } from './patterns-service.js';

export type { DailyMetrics, PatternUseRow };

export interface UseInput {
  success: boolean;
  executionTimeMs?: number | undefined;
  errorType?: string | undefined;
  executionId?: string | undefined;
  context?: Record<string, unknown> | undefined;
}

const DAY_MS = 86_400_000;
/** The metrics read's default window and its longest (a year of days). */
export const DEFAULT_METRICS_DAYS = 30;
export const MAX_METRICS_DAYS = 366;

const noDefault = (agent: { id: string; slug: string }, type: string) =>
  new AppError(
    404,
    'no_default_pattern',
    `agent ${agent.slug} has cognitivePattern ${type}, and this organization has no ${type} pattern; `
      + `create one with POST /v1/patterns {"type": "${type}", …} or change the agent's cognitivePattern`,
    { agentId: agent.id, cognitivePattern: type },
  );

/**
 * Timings live in pattern_metrics, whose rows name an agent; pattern_usage has
 * no column for either. So a time or an error type without an agent (or an
 * error type without a time) would be dropped: refused instead, saying what to add.
 */
function assertStorable(input: UseInput, hasAgent: boolean): void {
  const issue = (path: string, message: string) => validationFailed(`${path}: ${message}`, [{ path, message }]);
  if (input.executionTimeMs !== undefined && !hasAgent) {
    throw issue('body.executionTimeMs', 'is stored per agent (pattern_metrics): send agentId with it');
  }
  if (input.errorType !== undefined && input.executionTimeMs === undefined) {
    throw issue('body.errorType', 'is stored with the timing of a use (pattern_metrics): send executionTimeMs (and agentId) with it');
  }
}

/**
 * In one transaction: the pattern's counters (one UPDATE, which also proves
 * the pattern live and holds its row lock), the pattern_usage row, the
 * pattern_metrics row for a timed use of an agent, and the audit row.
 */
async function recordUse(sql: Sql, actor: Actor, patternId: string, agentId: string | null, input: UseInput, at: Date) {
  const pattern = await patterns.countUse(sql, actor.orgId, patternId, input.success);
  if (!pattern) return undefined;
  const use = await uses.insertUse(sql, actor.orgId, patternId, {
    agentId,
    executionId: input.executionId ?? null,
    success: input.success,
    context: input.context ?? {},
    executionTimeMs: input.executionTimeMs ?? null,
    errorType: input.errorType ?? null,
  }, at);
  await appendAudit(sql, actor, {
    action: 'pattern.used',
    resourceType: 'pattern',
    resourceId: patternId,
    agentId,
    newValues: { useId: use.id, success: use.success, usageCount: pattern.usageCount, successCount: pattern.successCount, accuracy: pattern.accuracy },
  });
  return { use, pattern };
}

export async function recordPatternUse(
  deps: PatternsDeps,
  actor: Actor,
  patternId: string,
  input: UseInput & { agentId?: string | undefined },
): Promise<{ use: PatternUseRow; pattern: PatternRow }> {
  assertStorable(input, input.agentId !== undefined);
  return deps.db.tenant(actor.orgId, async (sql) => {
    const agentId = input.agentId === undefined ? null : (await resolveAgentRef(sql, input.agentId)).id;
    const out = await recordUse(sql, actor, patternId, agentId, input, clock(deps));
    if (!out) throw patternMissing(patternId);
    return out;
  });
}

/** The agent and its default pattern: the live pattern whose type is the agent's cognitivePattern (see patterns-repo). */
async function agentDefault(sql: Sql, orgId: string, agentRef: string): Promise<{ agentId: string; pattern: PatternRow }> {
  const agent = await resolveAgentRef(sql, agentRef);
  const type = (await patterns.agentCognitivePattern(sql, orgId, agent.id))!;
  const pattern = await patterns.defaultPattern(sql, orgId, type);
  if (!pattern) throw noDefault(agent, type);
  return { agentId: agent.id, pattern };
}

export async function defaultPatternOf(deps: PatternsDeps, orgId: string, agentRef: string): Promise<PatternRow> {
  return (await deps.db.tenant(orgId, (sql) => agentDefault(sql, orgId, agentRef))).pattern;
}

/** Records a use of the agent's default pattern, by the agent. */
export async function recordAgentPatternUse(
  deps: PatternsDeps,
  actor: Actor,
  agentRef: string,
  input: UseInput,
): Promise<{ use: PatternUseRow; pattern: PatternRow }> {
  assertStorable(input, true);
  return deps.db.tenant(actor.orgId, async (sql) => {
    const { agentId, pattern } = await agentDefault(sql, actor.orgId, agentRef);
    const out = await recordUse(sql, actor, pattern.id, agentId, input, clock(deps));
    // Deleted between the choice and the count: the choice is no longer the default.
    if (!out) throw patternMissing(pattern.id);
    return out;
  });
}

export async function listPatternUses(
  deps: PatternsDeps,
  orgId: string,
  patternId: string,
  f: Omit<UseFilter, 'agentId'> & { agentRef?: string | undefined },
): Promise<PatternUseRow[]> {
  assertRange(f.from, f.to);
  return deps.db.tenant(orgId, async (sql) => {
    if (!(await patterns.getPattern(sql, orgId, patternId))) throw patternMissing(patternId);
    const agentId = f.agentRef === undefined ? undefined : (await resolveAgentRef(sql, f.agentRef)).id;
    return uses.listUses(sql, orgId, patternId, { ...f, agentId });
  });
}

/** Timed uses per UTC day over [from, to): by default the last 30 days, at most 366. */
export async function patternMetrics(
  deps: PatternsDeps,
  orgId: string,
  patternId: string,
  q: { from?: string | undefined; to?: string | undefined },
): Promise<{ patternId: string; from: Date; to: Date; data: DailyMetrics[] }> {
  assertRange(q.from, q.to);
  const to = q.to ? new Date(q.to) : clock(deps);
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - DEFAULT_METRICS_DAYS * DAY_MS);
  if (to.getTime() - from.getTime() > MAX_METRICS_DAYS * DAY_MS) {
    const message = `must be at most ${MAX_METRICS_DAYS} days before to`;
    throw validationFailed(`query.from: ${message}`, [{ path: 'query.from', message }]);
  }
  const data = await deps.db.tenant(orgId, async (sql) => {
    if (!(await patterns.getPattern(sql, orgId, patternId))) throw patternMissing(patternId);
    return uses.dailyMetrics(sql, orgId, patternId, from.toISOString(), to.toISOString());
  });
  return { patternId, from, to, data };
}

function assertRange(from: string | undefined, to: string | undefined): void {
  if (from && to && new Date(from).getTime() > new Date(to).getTime()) {
    throw validationFailed('query.from: must not be after to', [{ path: 'query.from', message: 'must not be after to' }]);
  }
}
