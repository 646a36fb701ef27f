import { z } from 'zod';
import { Text, Uuid } from '../../../http/json-schemas.js';
import { TASK_STATUSES } from '../tasks-repo.js';

/** Field schemas the project, list and task routes share. */

export { Uuid };

/** A name or title: trimmed, not blank, at most `max` characters (the columns' varchar and btrim CHECKs). */
export const Name = (max: number) => Text(max).transform((s) => s.trim()).refine((s) => s.length > 0, 'must not be blank');
export const Description = Text(20_000);
export const Color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a #rrggbb colour, such as #3b82f6');
export const Status = z.enum(TASK_STATUSES);
export const Priority = z.number().int().min(0).max(4);
export const DueDate = z.iso.date('must be a date YYYY-MM-DD, such as 2026-03-31');
export const Position = z.number().int().min(0).max(1_000_000);
export const ListOrder = z.number().int().min(0).max(2_147_483_647);
export const Version = z.number().int().min(1).max(2_147_483_647).describe('the version you read; a stale one answers 409 version_conflict');
export const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone' });

/** A boolean in a query string, where everything arrives as text. */
export const QueryBool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const IdParams = z.strictObject({ id: Uuid.describe('its id') });

export const CreatedCursor = z.strictObject({ createdAt: Instant, id: Uuid });

/** A PATCH must change something besides naming the version it read. */
export const changesSomething = (b: Record<string, unknown>) => Object.keys(b).some((k) => k !== 'version');
export const NOTHING_TO_CHANGE = 'send at least one field to change besides version';
