/**
 * An agent's `tools` lists stored tools by id and built-in tools (registered
 * in code by the runtime and later modules) by name. The runtime tells this
 * module which names exist (AgentsDeps.builtinTools); nothing else here knows
 * what a built-in does.
 */
import { z } from 'zod';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The shape of a built-in's name (its registry decides whether it exists). */
export const BuiltinToolName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a tool id (UUID) or a built-in tool name such as call_agent');

export const isUuid = (s: string): boolean => UUID_RE.test(s);

/** A stored tool is listed by its id; anything else is a built-in's name. */
export const isToolId = isUuid;

/** Splits a tools list into stored tool ids and built-in names, in their order. */
export function splitToolRefs(refs: readonly string[]): { ids: string[]; builtins: string[] } {
  return { ids: refs.filter(isToolId), builtins: refs.filter((r) => !isToolId(r)) };
}

/** How a built-in is frozen into a version: by name only (its code is the runtime's). */
export const builtinDefinition = (name: string) => ({ name, toolType: 'builtin' as const });
