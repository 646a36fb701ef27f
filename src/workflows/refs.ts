import { findAgentRefs, findLiveTools, getAgent, getAgentVersion } from '../agents/index.js';
import type { Sql } from '../db/index.js';
import { AppError, validationFailed, type Issue } from '../errors.js';
import { getRoleByName, listMembersIn } from '../identity/index.js';
import type { Definition, Step } from './definition-schema.js';
import type { WorkflowsDeps } from './deps.js';

/**
 * What a definition names outside itself — agents, stored tools, approvers,
 * roles — must exist when it is saved. (It can still vanish later; the engine
 * then fails the step with the reason.)
 */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID_RE.test(s);

interface Named {
  step: string;
  path: string;
}
interface AgentUse extends Named {
  agent: string;
  version?: string;
}

function uses(steps: Step[]) {
  const agents: AgentUse[] = [];
  const tools: Array<Named & { tool: string }> = [];
  const approvers: Array<Named & { userId: string }> = [];
  const roles: Array<Named & { role: string }> = [];
  steps.forEach((s, i) => {
    const at = `steps.${i}`;
    const runner = s.type === 'fan_out' ? { def: s.step, path: `${at}.step` } : { def: s, path: at };
    if (runner.def.type === 'agent') agents.push({ step: s.key, path: `${runner.path}.agent`, agent: runner.def.agent, version: runner.def.version });
    if (runner.def.type === 'tool') tools.push({ step: s.key, path: `${runner.path}.tool`, tool: runner.def.tool });
    if (s.type === 'approval') {
      s.approvers?.forEach((userId, j) => approvers.push({ step: s.key, path: `${at}.approvers.${j}`, userId }));
      if (s.role !== undefined) roles.push({ step: s.key, path: `${at}.role`, role: s.role });
    }
  });
  return { agents, tools, approvers, roles };
}

/** Throws validation_failed naming every step whose agent, tool, approver or role does not exist. */
export async function assertRefsExist(deps: WorkflowsDeps, orgId: string, def: Definition): Promise<void> {
  const u = uses(def.steps);
  const issues: Issue[] = [];
  const bySlug = await deps.db.tenant(orgId, async (sql) => {
    const slugs = [...new Set(u.agents.map((a) => a.agent).filter((a) => !isUuid(a)))];
    const found = new Map((await findAgentRefs(sql, [], slugs)).map((a) => [a.slug, a.id]));
    const liveTools = await findLiveTools(sql, orgId, [...new Set(u.tools.map((t) => t.tool))]);
    const toolNames = new Set(liveTools.flatMap((t) => [t.name, t.id]));
    for (const t of u.tools) {
      if (!toolNames.has(t.tool)) {
        issues.push({ path: t.path, message: `step "${t.step}": tool "${t.tool}" is not a stored tool of this organization; create it with POST /v1/tools` });
      }
    }
    for (const a of u.approvers) {
      if (!(await isActiveMember(sql, a.userId))) {
        issues.push({ path: a.path, message: `step "${a.step}": approver ${a.userId} is not an active member of this organization` });
      }
    }
    for (const r of u.roles) {
      if (!(await getRoleByName(sql, r.role))) issues.push({ path: r.path, message: `step "${r.step}": role "${r.role}" does not exist` });
    }
    return found;
  });
  // Agents by id and versions through the agents module's own reads (each its
  // own short transaction): they answer not_found for deleted agents too.
  const agentsDeps = { db: deps.db };
  for (const a of u.agents) {
    const id = isUuid(a.agent) ? a.agent : bySlug.get(a.agent);
    const missing = `step "${a.step}": agent "${a.agent}" does not exist in this organization; give a live agent's id or slug`;
    if (!id) {
      issues.push({ path: a.path, message: missing });
      continue;
    }
    try {
      if (a.version === undefined) await getAgent(agentsDeps, orgId, id);
      else await getAgentVersion(agentsDeps, orgId, id, a.version);
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 404) throw err;
      issues.push({
        path: a.version === undefined ? a.path : a.path.replace(/agent$/, 'version'),
        message: a.version === undefined ? missing : `step "${a.step}": agent "${a.agent}" has no version ${a.version}; ${err.message}`,
      });
    }
  }
  if (issues.length) throw validationFailed(issues[0]!.message, issues);
}

async function isActiveMember(sql: Sql, userId: string): Promise<boolean> {
  const [m] = await listMembersIn(sql, { userId, limit: 1 });
  return m?.status === 'active';
}

// Enough for any team that approves things; a bigger role is refused at the step rather than notifying thousands.
const MAX_ROLE_APPROVERS = 200;

/** The active members holding a role now (who an approval step with `role` asks). */
export async function membersWithRole(sql: Sql, role: string): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listMembersIn(sql, { afterUserId: after, limit: 500 });
    for (const m of page) if (m.status === 'active' && m.roles.includes(role)) out.push(m.userId);
    if (page.length < 500 || out.length > MAX_ROLE_APPROVERS) break;
    after = page.at(-1)!.userId;
  }
  return out.slice(0, MAX_ROLE_APPROVERS);
}
