import { conflict } from '../errors.js';

export const AGENT_STATUSES = ['draft', 'active', 'paused', 'stopped', 'learning', 'archived'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/**
 * The lifecycle. An agent starts as a draft and can only run (active,
 * learning) once it has a published version, because running means running a
 * frozen configuration. Archived is terminal: the agent and its history stay
 * readable but nothing about it changes again (delete it to hide it).
 */
const TRANSITIONS: Readonly<Record<AgentStatus, readonly AgentStatus[]>> = {
  draft: ['active', 'archived'],
  active: ['paused', 'stopped', 'learning', 'archived'],
  paused: ['active', 'stopped', 'archived'],
  learning: ['active', 'paused', 'stopped', 'archived'],
  stopped: ['active', 'archived'],
  archived: [],
};

const RUNNING: ReadonlySet<AgentStatus> = new Set(['active', 'learning']);

export function allowedTransitions(from: AgentStatus): readonly AgentStatus[] {
  return TRANSITIONS[from];
}

/** Throws 409 naming from and to when the move is not allowed. */
export function assertTransition(from: AgentStatus, to: AgentStatus, hasPublishedVersion: boolean): void {
  const details = { from, to, allowed: TRANSITIONS[from] };
  if (from === to) throw conflict(`the agent is already ${to}`, details);
  if (!TRANSITIONS[from].includes(to)) {
    const allowed = TRANSITIONS[from].length ? `allowed from ${from}: ${TRANSITIONS[from].join(', ')}` : `${from} is final`;
    throw conflict(`an agent cannot go from ${from} to ${to} (${allowed})`, details);
  }
  if (RUNNING.has(to) && !hasPublishedVersion) {
    throw conflict(`an agent cannot go from ${from} to ${to} before a version is published; POST /v1/agents/:id/versions first`, details);
  }
}

/** Archived agents are read-only: every change other than delete is refused. */
export function assertNotArchived(status: AgentStatus, what: string): void {
  if (status === 'archived') throw conflict(`the agent is archived, so ${what} is not allowed`, { status });
}
