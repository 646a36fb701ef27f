import { z } from 'zod';
import { SEMVER_RE } from '../semver.js';
import { AGENT_REF_RE, isAgentId } from '../agent-ref.js';
import { SLUG_RE } from '../slug.js';

import { JsonObject, MetadataObject, Text, Uuid } from '../../http/json-schemas.js';

export { JsonObject, MetadataObject, Text, Uuid };

const NUL = '\u0000';
export const Name = z.string().trim().min(1).max(255).refine((s) => !s.includes(NUL), 'must not contain NUL characters');

export const Semver = z.string().max(50).regex(SEMVER_RE, 'must be a semantic version such as 1.2.0 or 2.0.0-rc.1');
export const Slug = z.string().min(1).max(100).regex(SLUG_RE, 'lower-case letters, digits and "-", not starting or ending with "-"')
  .refine((s) => !isAgentId(s), 'must not have the shape of a UUID: paths name an agent by id or slug, and this slug would read as an id');
export const Version = z.number().int().min(1).describe('the version you read; a stale one gets 409 version_conflict');

export const IdParams = z.strictObject({ id: Uuid });

/** An agent in a path: its id or its slug (agent-ref.ts reads which). */
export const AgentRef = z.string().max(100)
  .regex(AGENT_REF_RE, 'must be the agent\'s id (a UUID) or its slug (lower-case letters, digits and "-", such as trip-planner)')
  .describe('the agent\'s id or its slug');
export const AgentParams = z.strictObject({ id: AgentRef });
