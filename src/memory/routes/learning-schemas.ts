import { z } from 'zod';
import { AgentRef } from '../../agents/index.js';
import { Uuid } from '../../http/json-schemas.js';

/** Field schemas the learning, pattern and learning-session routes share. */

export { AgentRef, Uuid };

const NUL = '\u0000';

/**
 * A short label (a category, a domain, a source type): trimmed, not blank, at
 * most `max` characters — the columns' varchar(max) and btrim CHECKs, so a bad
 * one is a 400 naming the field, not a constraint error.
 */
export const Label = (max: number) =>
  z.string().trim().min(1, 'must not be blank').max(max).refine((s) => !s.includes(NUL), 'must not contain NUL characters');

export const Score01 = z.number().min(0).max(1);

export const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, such as 2026-01-31T12:00:00Z' });

/** A boolean in a query string, where everything arrives as text. */
export const QueryBool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const AgentParams = z.strictObject({ agentId: AgentRef });
export const IdParams = z.strictObject({ id: Uuid });

export const Int32 = z.number().int().min(0).max(2_147_483_647);
