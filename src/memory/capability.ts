import type { MemoryConfig } from '../config/config.js';
import type { Database } from '../db/index.js';

/**
 * Whether memories can be searched by vector here. With pgvector on the
 * server (always in embedded mode) this adds the extension and the embedding
 * columns (idempotent, owner role); without it memories are stored and
 * searched by full text only, and vector mode answers 409 vector_unavailable.
 */
export async function enableVectors(db: Database, config: Pick<MemoryConfig, 'vectors'>): Promise<boolean> {
  if (config.vectors === 'off') return false;
  return db.admin.transaction(async (sql) => {
    // A database not yet migrated this far (the service answers not_ready until it is) has no vectors yet.
    const fn = await sql.query<{ f: string | null }>(`SELECT to_regprocedure('memory_enable_vectors()')::text AS f`);
    if (!fn.rows[0]?.f) return false;
    const r = await sql.query<{ ok: boolean }>('SELECT memory_enable_vectors() AS ok');
    return r.rows[0]?.ok === true;
  });
}

export const VECTOR_UNAVAILABLE_HINT =
  'this database has no pgvector: install pgvector on the PostgreSQL server (on Debian, build the pgvector source ' +
  'package against postgresql-server-dev-N as .ci/install-pgvector.sh does) and restart agentbase; ' +
  'until then search with mode "text" or "hybrid"';
