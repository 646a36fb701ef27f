import { appendAudit, type Actor } from '../audit/index.js';
import { isPgError } from '../db/index.js';
import { conflict, notFound, versionConflict } from '../errors.js';
import { clock, type MemoryDeps } from './deps.js';
import * as repo from './patterns-repo.js';
import type { PatternFields, PatternFilter, PatternRow, PatternType } from './patterns-repo.js';

export type PatternsDeps = Pick<MemoryDeps, 'db' | 'now'>;

export type { PatternRow, PatternSort, PatternType } from './patterns-repo.js';
export { PATTERN_SORTS, PATTERN_TYPES, sortKeyOf } from './patterns-repo.js';

const nameTaken = (name: string) =>
  conflict(`a pattern named ${name} already exists in this organization; choose another name`, { field: 'name', name });
export const patternMissing = (id: string) => notFound('pattern', id);

export async function createPattern(
  deps: PatternsDeps,
  actor: Actor,
  input: { type: PatternType; name: string; patternData: Record<string, unknown>; metadata?: Record<string, unknown> | undefined },
): Promise<PatternRow> {
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      if (await repo.patternNameOwner(sql, actor.orgId, input.name)) throw nameTaken(input.name);
      const row = await repo.insertPattern(sql, actor.orgId, input.type, {
        name: input.name,
        patternData: input.patternData,
        metadata: input.metadata ?? {},
      }, clock(deps));
      await appendAudit(sql, actor, { action: 'pattern.created', resourceType: 'pattern', resourceId: row.id, newValues: row });
      return row;
    });
  } catch (err) {
    // Two concurrent creates of one name: unique_pattern_name_per_org decides.
    if (isPgError(err, '23505')) throw nameTaken(input.name);
    throw err;
  }
}

export async function getPattern(deps: PatternsDeps, orgId: string, id: string): Promise<PatternRow> {
  const row = await deps.db.tenant(orgId, (sql) => repo.getPattern(sql, orgId, id));
  if (!row) throw patternMissing(id);
  return row;
}

export function listPatterns(deps: PatternsDeps, orgId: string, f: PatternFilter): Promise<PatternRow[]> {
  return deps.db.tenant(orgId, (sql) => repo.listPatterns(sql, orgId, f));
}

/** Changes the definition; send the version you read. Uses recorded meanwhile do not make it stale. */
export async function updatePattern(
  deps: PatternsDeps,
  actor: Actor,
  id: string,
  input: Partial<PatternFields> & { version: number },
): Promise<PatternRow> {
  const { version, ...patch } = input;
  try {
    return await deps.db.tenant(actor.orgId, async (sql) => {
      const before = await repo.getPattern(sql, actor.orgId, id, true);
      if (!before) throw patternMissing(id);
      if (before.version !== version) throw versionConflict('pattern', version);
      if (patch.name !== undefined && patch.name !== before.name && (await repo.patternNameOwner(sql, actor.orgId, patch.name))) {
        throw nameTaken(patch.name);
      }
      const after = await repo.updatePattern(sql, actor.orgId, id, version, patch, clock(deps));
      if (!after) throw versionConflict('pattern', version);
      await appendAudit(sql, actor, { action: 'pattern.updated', resourceType: 'pattern', resourceId: id, oldValues: before, newValues: after });
      return after;
    });
  } catch (err) {
    if (isPgError(err, '23505') && patch.name !== undefined) throw nameTaken(patch.name);
    throw err;
  }
}

/** Soft delete: uses and metrics stay, the name is free again, and the pattern is no longer anyone's default. */
export async function deletePattern(deps: PatternsDeps, actor: Actor, id: string): Promise<void> {
  await deps.db.tenant(actor.orgId, async (sql) => {
    const before = await repo.softDeletePattern(sql, actor.orgId, id, clock(deps));
    if (!before) throw patternMissing(id);
    await appendAudit(sql, actor, { action: 'pattern.deleted', resourceType: 'pattern', resourceId: id, oldValues: before });
  });
}
