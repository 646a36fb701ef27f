import { z } from 'zod';
import { SEMVER_RE } from '../semver.js';
import { SLUG_RE } from '../slug.js';

import { JsonObject, MetadataObject, Text, Uuid } from '../../http/json-schemas.js';

export { JsonObject, MetadataObject, Text, Uuid };

const NUL = '\u0000';
export const Name = z.string().trim().min(1).max(255).refine((s) => !s.includes(NUL), 'must not contain NUL characters');

export const Semver = z.string().max(50).regex(SEMVER_RE, 'must be a semantic version such as 1.2.0 or 2.0.0-rc.1');
export const Slug = z.string().min(1).max(100).regex(SLUG_RE, 'lower-case letters, digits and "-", not starting or ending with "-"');
export const Version = z.number().int().min(1).describe('the version you read; a stale one gets 409 version_conflict');

export const IdParams = z.strictObject({ id: Uuid });
