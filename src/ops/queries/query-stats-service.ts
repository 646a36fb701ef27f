import { isPgError, pgErrorCode, uuidv7, type Database } from '../../db/index.js';
import { AppError } from '../../errors.js';
import { appendPlatformAudit } from '../../platform/index.js';
import * as repo from './query-stats-repo.js';
import type { ExtensionState, QuerySort, StatementRow } from './query-stats-repo.js';

/**
 * pg_stat_statements, surfaced for platform administrators.
 *
 * Whether it works is decided by what PostgreSQL answers, at each request: the
 * counters are read, and only when that fails for a reason the extension
 * explains (no view: not created; "must be loaded via
 * shared_preload_libraries": not preloaded) are the catalogs asked why, and
 * the answer is 409 pg_stat_statements_unavailable with the steps that fix it.
 */

export interface Statement extends StatementRow {
  /** shared_blks_hit / (hit + read): how much of what it read was already in shared buffers; null when it read no blocks */
  hitRatio: number | null;
}

export interface TopQueries {
  database: string;
  sort: QuerySort;
  limit: number;
  /** when the counters were last reset (server-wide reset, or this database's) */
  since: Date | null;
  /** entries evicted since, because pg_stat_statements.max was reached: when > 0, rarely run statements may be missing */
  deallocations: number;
  statements: Statement[];
}

/** SQLSTATEs the counters' read fails with when the extension is absent or not loaded. */
const UNAVAILABLE = new Set(['42P01', '42883', '55000', '58P01']);

/**
 * At startup (like memory's enableVectors): creates the extension in this
 * database when the server has it and the owner role may. Idempotent. A server
 * where it cannot be created still starts; the route answers 409 and says why.
 */
export async function enableQueryStats(db: Database): Promise<ExtensionState> {
  const state = await db.admin.transaction((sql) => repo.extensionState(sql));
  if (state.createdVersion || !state.installed) return state;
  try {
    await db.admin.transaction((sql) => repo.createExtension(sql));
  } catch (err) {
    // 42501: the owner is not a superuser. 23505: another process created it at the same moment.
    if (pgErrorCode(err) === undefined) throw err;
  }
  return db.admin.transaction((sql) => repo.extensionState(sql));
}

/** The steps that make the counters readable, from what the server reports (exported for the CLI and tests). */
export function queryStatsUnavailableMessage(s: ExtensionState): string {
  const steps: string[] = [];
  if (!s.installed) {
    steps.push('install PostgreSQL\'s contrib modules on the server (pg_stat_statements ships with them; on Debian the postgresql-N package has it)');
  }
  if (!s.preloaded) {
    steps.push(
      'as a superuser: ALTER SYSTEM SET shared_preload_libraries = \'pg_stat_statements\' ' +
        '(append it, comma-separated, when the setting already lists libraries: SHOW shared_preload_libraries), then restart PostgreSQL',
    );
  }
  if (!s.createdVersion) {
    steps.push(
      `as a superuser, in database ${s.database}: CREATE EXTENSION pg_stat_statements ` +
        '(agentbase does this itself at startup when its owner role may, so restarting agentbase also does it)',
    );
  }
  if (steps.length === 0) {
    steps.push('the extension is installed, preloaded and created, but its counters could not be read; check the PostgreSQL log');
  }
  return `pg_stat_statements is not available in this database: ${steps.map((t, i) => `${i + 1}) ${t}`).join('; ')}`;
}

async function unavailable(db: Database, cause: unknown): Promise<AppError> {
  const state = await db.admin.transaction((sql) => repo.extensionState(sql));
  return new AppError(409, 'pg_stat_statements_unavailable', queryStatsUnavailableMessage(state), {
    installed: state.installed, preloaded: state.preloaded, created: state.createdVersion !== null, sqlstate: pgErrorCode(cause) ?? null,
  });
}

function withRatio(r: StatementRow): Statement {
  const blocks = r.sharedBlksHit + r.sharedBlksRead;
  return { ...r, hitRatio: blocks > 0 ? r.sharedBlksHit / blocks : null };
}

export async function topQueries(db: Database, sort: QuerySort, limit: number): Promise<TopQueries> {
  try {
    return await db.admin.transaction(async (sql) => {
      const rows = await repo.topStatements(sql, sort, limit);
      const info = await repo.statsInfo(sql);
      const database = await repo.databaseName(sql);
      return { database, sort, limit, since: info.since, deallocations: info.deallocations, statements: rows.map(withRatio) };
    });
  } catch (err) {
    if (UNAVAILABLE.has(pgErrorCode(err) ?? '')) throw await unavailable(db, err);
    throw err;
  }
}

export interface ResetBy {
  userId: string;
  requestId: string | null;
}

/**
 * Resets this database's counters, audited in platform_audit in the same
 * transaction (the audit row first: the reset itself cannot be rolled back, so
 * it is the last statement, and a refused reset leaves no audit row behind).
 */
export async function resetQueryStats(db: Database, by: ResetBy): Promise<{ database: string; resetAt: Date }> {
  try {
    return await db.admin.transaction(async (sql) => {
      const database = await repo.databaseName(sql);
      await appendPlatformAudit(sql, {
        id: uuidv7(), actor: `user:${by.userId}`, actorUserId: by.userId, action: 'ops.query_stats_reset',
        resourceType: 'database', resourceId: database, orgId: null, details: { requestId: by.requestId },
      });
      await repo.resetStatements(sql);
      return { database, resetAt: new Date() };
    });
  } catch (err) {
    if (isPgError(err, '42501')) {
      throw new AppError(409, 'pg_stat_statements_unavailable',
        'the database owner role agentbase connects as may not reset pg_stat_statements: as a superuser, ' +
        'GRANT EXECUTE ON FUNCTION pg_stat_statements_reset TO <that role>, or reset it yourself with SELECT pg_stat_statements_reset()');
    }
    if (UNAVAILABLE.has(pgErrorCode(err) ?? '')) throw await unavailable(db, err);
    throw err;
  }
}
