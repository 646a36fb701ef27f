import { z } from 'zod';
import { Json, JsonObject, Text, Uuid } from '../../http/json-schemas.js';
import { EventName, MAX_STEPS, STEP_KEY_RE } from '../definition-schema.js';

export { EventName, Json, JsonObject, Text, Uuid };

export const IdParams = z.strictObject({ id: Uuid });
export const StepKey = z.string().regex(STEP_KEY_RE, 'must be a step key: a letter then up to 63 letters, digits, "_" or "-"');
export const Name = z.string().trim().min(1).max(100).refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
export const Description = Text(10_000).nullable();
export const Version = z.number().int().min(1).max(2_147_483_647).describe('the version you read; a stale one gets 409 version_conflict');
export const VersionParam = z.coerce.number().int().min(1).max(2_147_483_647);
export const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z' });

// Each step is checked by the service (dag.ts), so that a refusal names the
// step by its key; here only that it is JSON the database can store.
export const Steps = z
  .array(Json)
  .min(1)
  .max(MAX_STEPS)
  .describe(
    'the steps, a DAG: {key, type: agent|tool|wait|approval|fan_out|fan_in, dependsOn?: [keys], …}; ' +
      'agent {agent: id or slug, version?, input?, retries?, backoffMs?, timeoutMs?}; tool {tool: stored tool name, input?, retries?, backoffMs?, timeoutMs?}; ' +
      'wait {event, timeoutMs?}; approval {approvers: [user ids] | role, message, timeoutMs?}; fan_out {over: mapping to an array, step: agent or tool template}; ' +
      'fan_in {from: fan_out key}. Inputs are mappings such as "$.input.city" or "$.steps.search.output.items[0]".',
  );
