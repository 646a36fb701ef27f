/**
 * Everything a run needs, resolved before anything is written: the agent and
 * the version to run, its model endpoint, its tools, its session and its
 * limits. Any problem here is the caller's to fix (4xx) and leaves no trace.
 */
import { getAgent, getAgentVersion, type AgentRow, type VersionRow } from '../agents/index.js';
import { badRequest, conflict } from '../errors.js';
import { findModelPrice } from '../runs/index.js';
import type { RuntimeDeps } from './deps.js';
import { notConfigured, providerForAgent, type ResolvedProvider } from './provider-for-agent.js';
import { runMemoryOf, type RunMemory } from './run-memory.js';
import { runsDeps } from './run-recorder.js';
import { toolsForVersion, type RunnableTool } from './run-tools.js';
import type { RunInput, RunLimits } from './run-types.js';
import { resolveRunSession, type RunSession, type SessionRef } from './sessions-service.js';

export interface PreparedRun {
  orgId: string;
  agent: AgentRow;
  version: VersionRow;
  modelSettings: Record<string, unknown>;
  provider: ResolvedProvider;
  priceProvider: string | undefined;
  tools: RunnableTool[];
  /** what memory the run has (run-memory.ts); undefined: none */
  memory: RunMemory | undefined;
  session: RunSession | undefined;
  limits: RunLimits;
  input: RunInput;
}

/** Only these agent statuses run: a run runs a published version of a live agent. */
const RUNNING = new Set(['active', 'learning']);

export interface PrepareInput {
  agentId: string;
  /** semver or version id; the current version when absent */
  version?: string | undefined;
  input: RunInput;
  session?: SessionRef | undefined;
  limits: RunLimits;
}

/** 409 unless the agent is in a running status. */
export function assertRunnable(agent: AgentRow): void {
  if (!RUNNING.has(agent.status)) {
    throw conflict(
      `agent ${agent.slug} is ${agent.status}; only an active (or learning) agent runs: publish a version (POST /v1/agents/${agent.id}/versions) and set its status to active (POST /v1/agents/${agent.id}/status)`,
      { status: agent.status },
    );
  }
}

export async function prepareRun(deps: RuntimeDeps, orgId: string, p: PrepareInput, now: Date): Promise<PreparedRun> {
  const agentsDeps = { db: deps.db };
  const agent = await getAgent(agentsDeps, orgId, p.agentId);
  assertRunnable(agent);
  return prepareVersion(deps, orgId, agent, await getAgentVersion(agentsDeps, orgId, agent.id, p.version), p, now);
}

/** The same for a version already loaded (a queued run names its version by id). */
export async function prepareVersion(
  deps: RuntimeDeps,
  orgId: string,
  agent: AgentRow,
  version: VersionRow,
  p: Pick<PrepareInput, 'input' | 'session' | 'limits'>,
  now: Date,
): Promise<PreparedRun> {
  const config = version.config as { modelSettings?: Record<string, unknown> };
  const modelSettings = config.modelSettings ?? {};
  const callable = modelSettings.callableAgents;
  if (callable !== undefined && !(Array.isArray(callable) && callable.every((x) => typeof x === 'string'))) {
    throw notConfigured(`agent ${agent.slug}: modelSettings.callableAgents must be a list of agent slugs`, { field: 'modelSettings.callableAgents' });
  }
  const provider = await providerForAgent(deps, orgId, agent.slug, modelSettings, version.model);
  const memory = runMemoryOf(deps, agent, version);
  const tools = toolsForVersion(deps, agent.slug, version, memory);
  const session = p.session ? await resolveRunSession(deps, orgId, p.session, now) : undefined;
  // Spans name the provider whose price list prices the model (gpt-4o → openai), so the ledger
  // finds that price whichever endpoint served the call; an unpriced model records the runtime's provider.
  const price = await findModelPrice(runsDeps(deps), orgId, version.model, now.toISOString());
  return { orgId, agent, version, modelSettings, provider, priceProvider: price?.provider, tools, memory, session, limits: p.limits, input: p.input };
}

/**
 * The limits of a new top-level run: what the request asks, within what the
 * service allows (AGENTBASE_RUN_MAX_STEPS, AGENTBASE_RUN_TIMEOUT_SECONDS).
 */
export function resolveLimits(deps: RuntimeDeps, asked: Partial<RunLimits> = {}): RunLimits {
  const { maxSteps, timeoutMs } = deps.config;
  if (asked.maxSteps !== undefined && asked.maxSteps > maxSteps) {
    throw badRequest(`limits.maxSteps may be at most ${maxSteps} on this service (AGENTBASE_RUN_MAX_STEPS)`, { field: 'limits.maxSteps', max: maxSteps });
  }
  if (asked.timeoutMs !== undefined && asked.timeoutMs > timeoutMs) {
    throw badRequest(`limits.timeoutMs may be at most ${timeoutMs} on this service (AGENTBASE_RUN_TIMEOUT_SECONDS)`, { field: 'limits.timeoutMs', max: timeoutMs });
  }
  return {
    maxSteps: asked.maxSteps ?? maxSteps,
    timeoutMs: asked.timeoutMs ?? timeoutMs,
    ...(asked.maxTokens !== undefined ? { maxTokens: asked.maxTokens } : {}),
    ...(asked.maxCostUsd !== undefined ? { maxCostUsd: asked.maxCostUsd } : {}),
  };
}

const posInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined);
const posNum = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);

/**
 * The limits of a queued run, as stored on its execution when it was
 * accepted, checked again when the worker takes it: whatever the row holds,
 * the run gets limits resolveLimits would give, within what the service
 * allows now (a value it cannot use falls back to the default).
 */
export function storedLimits(deps: RuntimeDeps, stored: unknown): RunLimits {
  const s = (stored !== null && typeof stored === 'object' ? stored : {}) as Record<string, unknown>;
  const steps = posInt(s.maxSteps);
  const timeout = posInt(s.timeoutMs);
  return resolveLimits(deps, {
    maxSteps: steps === undefined ? undefined : Math.min(steps, deps.config.maxSteps),
    timeoutMs: timeout === undefined ? undefined : Math.min(timeout, deps.config.timeoutMs),
    maxTokens: posInt(s.maxTokens),
    maxCostUsd: posNum(s.maxCostUsd),
  });
}
