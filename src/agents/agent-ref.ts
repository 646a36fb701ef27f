/**
 * An agent reference: what a path names an agent by, its id or its slug.
 * This is the one place that decides which of the two a reference is, so
 * every route under /v1/agents/{id}/… (in this module, runs and runtime)
 * reads a reference the same way. A slug never has the shape of a UUID
 * (slug.ts avoids it, the Slug schema refuses it), so the shape alone decides.
 */
import type { Sql } from '../db/index.js';
import { notFound } from '../errors.js';
import * as repo from './agents-repo.js';
import { isUuid } from './builtin-tools.js';
import type { AgentRow } from './agents-repo.js';

/**
 * Whether a reference is an id (otherwise it is a slug): the UUID shape in
 * any case, version and variant, as PostgreSQL's uuid type reads it.
 */
export const isAgentId = (ref: string): boolean => isUuid(ref);

/**
 * The pattern of a reference as the routes check it: a slug (slug.ts's
 * pattern, which lower-case UUIDs also match) or a UUID in any case.
 */
export const AGENT_REF_RE = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$/;

/** The live agent a reference names, locked as asked; a missing, deleted or other tenant's agent is 404 alike. */
export async function requireAgent(sql: Sql, ref: string, lock?: 'update' | 'share'): Promise<AgentRow> {
  const by = isAgentId(ref) ? { id: ref } : { slug: ref };
  const agent = lock ? await repo.lockAgent(sql, by, lock) : await repo.getAgent(sql, by);
  if (!agent) throw notFound('agent', ref);
  return agent;
}

/**
 * The id and slug of the agent a reference names, for other modules' writes
 * about an agent (metrics): an id names any agent of the tenant, deleted ones
 * too (telemetry may describe an agent deleted since), a slug a live one.
 */
export async function resolveAgentRef(sql: Sql, ref: string): Promise<{ id: string; slug: string }> {
  const [found] = isAgentId(ref) ? await repo.findAgentRefs(sql, [ref], []) : await repo.findAgentRefs(sql, [], [ref]);
  if (!found) throw notFound('agent', ref);
  return found;
}
