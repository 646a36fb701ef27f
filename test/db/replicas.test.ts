import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ServerDatabaseConfig } from '../../src/config/config.js';
import { openServerDatabase, type Database } from '../../src/db/index.js';
import { lsnValue } from '../../src/db/replicas.js';
import { createService, type Service } from '../../src/server.js';
import { signupUser, TEST_SECRET, type SignedUp } from '../helpers/app.js';
import { driver, freshDatabase, type TestDb } from '../helpers/db.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { until } from '../helpers/until.js';
import { makeAgent } from '../runs/fixtures.js';

// A real streaming replica of the test server (a base backup, started on its own port).
describe.skipIf(driver !== 'postgres')('read replicas (server PostgreSQL only: PGlite has no replication)', () => {
  let replica: Replica;
  let t: TestDb;
  let dbConfig: ServerDatabaseConfig;
  let db: Database;
  let svc: Service;
  let app: FastifyInstance;
  let a: SignedUp;
  let b: SignedUp;
  let agentA: string;

  const replicaSql = async (text: string) => {
    const c = new pg.Client({ connectionString: replica.url('postgres') });
    await c.connect();
    try {
      return (await c.query(text)).rows;
    } finally {
      await c.end();
    }
  };
  const primaryLsn = async () => lsnValue((await t.db.admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn);
  /** until the router has seen the replica replay everything the primary had written by now */
  const caughtUp = async (d: Database) => {
    const target = await primaryLsn();
    await until(() => {
      const s = d.replicaStatus()[0]!;
      return s.healthy && s.replayLsn !== null && lsnValue(s.replayLsn) >= target;
    }, 'the replica to replay the primary\'s writes', 60_000);
  };
  const counts = () => ({ replica: db.replicaStatus()[0]!.reads });
  const list = (who: SignedUp) => app.inject({ method: 'GET', url: '/v1/executions', headers: who.auth });
  const ingest = (clientId: string) => app.inject({
    method: 'POST', url: '/v1/ingest/batch', headers: a.auth,
    payload: { executions: [{ clientId, agentId: agentA, status: 'completed' }] },
  });
  const served = (d: Database, orgId: string) =>
    d.tenantRead(orgId, async (sql) => (await sql.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')).rows[0]!.standby);

  beforeAll(async () => {
    replica = await startReplica(process.env.TEST_DATABASE_URL!);
    t = await freshDatabase();
    const name = new URL(t.url!).pathname.slice(1);
    const config = parseConfig({
      AGENTBASE_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', AGENTBASE_MEMORY_EMBEDDER: 'hashed',
      DATABASE_URL: t.url, DATABASE_REPLICA_URLS: replica.url(name),
      // A long window and lag bound: the read-your-writes test must be decided by the replay position, not by the clock.
      AGENTBASE_REPLICA_READ_YOUR_WRITES_MS: '600000', AGENTBASE_REPLICA_MAX_LAG_MS: '600000', AGENTBASE_REPLICA_SAMPLE_INTERVAL_MS: '100',
    });
    if (config.database.mode !== 'server') throw new Error('expected server mode');
    dbConfig = config.database;
    db = await openServerDatabase(dbConfig);
    svc = await createService(config, db, false);
    app = svc.app;
    a = await signupUser(app);
    b = await signupUser(app);
    agentA = await makeAgent(app, a.auth, 'planner');
    await caughtUp(db);
  }, 180_000);

  afterAll(async () => {
    await replicaSql('SELECT pg_wal_replay_resume()').catch(() => {});
    await svc?.close();
    await db?.close();
    await t?.drop();
    await replica?.destroy();
  }, 60_000);

  it('reports the replica: healthy, its lag and replay position', () => {
    const [s] = db.replicaStatus();
    expect(s).toMatchObject({ healthy: true, error: null });
    expect(s!.url).toContain(`:${replica.port}/`);
    expect(s!.lagMs).toBeGreaterThanOrEqual(0);
    expect(s!.replayLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  });

  it('a write is read back at once by its organization (primary) while the replica has not replayed it; another organization reads from the replica', async () => {
    await replicaSql('SELECT pg_wal_replay_pause()');
    try {
      const before = counts();
      expect((await ingest('ryw-1')).statusCode).toBe(200);
      const mine = await list(a);
      expect(mine.statusCode).toBe(200);
      expect((mine.json() as { data: { clientId: string }[] }).data.map((e) => e.clientId)).toContain('ryw-1');
      // The replica is healthy but has not replayed the write: the primary answered.
      expect(counts().replica).toBe(before.replica);
      expect(await served(db, a.orgId)).toBe(false);
      // The other organization wrote nothing since the replica last replayed: it reads from the replica.
      expect((await list(b)).statusCode).toBe(200);
      expect(counts().replica).toBe(before.replica + 1);
      expect(await served(db, b.orgId)).toBe(true);
    } finally {
      await replicaSql('SELECT pg_wal_replay_resume()');
    }
    // Once replayed, the writer's reads go to the replica too, and it has the write.
    await caughtUp(db);
    const before = counts();
    const again = await list(a);
    expect((again.json() as { data: { clientId: string }[] }).data.map((e) => e.clientId)).toContain('ryw-1');
    expect(counts().replica).toBe(before.replica + 1);
    expect(await served(db, a.orgId)).toBe(true);
  });

  it('replica transactions are read only and scoped to the organization like the primary\'s', async () => {
    await caughtUp(db);
    const rows = await db.tenantRead(a.orgId, async (sql) =>
      (await sql.query<{ standby: boolean; org: string; role: string; ro: string }>(
        `SELECT pg_is_in_recovery() AS standby, current_setting('app.org_id') AS org, current_user AS role, current_setting('transaction_read_only') AS ro`,
      )).rows[0]);
    expect(rows).toEqual({ standby: true, org: a.orgId, role: 'agentbase_app', ro: 'on' });
    // Row-level security on the replica: a's executions are invisible in b's transaction.
    const seen = await db.tenantRead(b.orgId, async (sql) => (await sql.query('SELECT 1 FROM executions WHERE agent_id = $1', [agentA])).rowCount);
    expect(seen).toBe(0);
    // The fallback to the primary is read only as well.
    await expect(t.db.tenantRead(a.orgId, (sql) => sql.query('DELETE FROM executions'))).rejects.toThrow(/read-only transaction/);
  });

  it('a stopped replica: reads still succeed from the primary, and it serves again once back', async () => {
    await replica.stop();
    try {
      const res = await list(a);
      expect(res.statusCode).toBe(200);
      expect((res.json() as { data: { clientId: string }[] }).data.map((e) => e.clientId)).toContain('ryw-1');
      expect(await served(db, b.orgId)).toBe(false);
      await until(() => db.replicaStatus()[0]!.error?.startsWith('unreachable'), 'the replica to be reported unreachable');
      expect(db.replicaStatus()[0]!.healthy).toBe(false);
    } finally {
      await replica.start();
    }
    await caughtUp(db);
    expect(await served(db, b.orgId)).toBe(true);
  });

  it('a replica lagging past AGENTBASE_REPLICA_MAX_LAG_MS is skipped until it catches up', async () => {
    const tight = await openServerDatabase({ ...dbConfig, poolMax: 2, replicas: { ...dbConfig.replicas, maxLagMs: 200, readYourWritesMs: 0 } });
    try {
      await caughtUp(tight);
      expect(await served(tight, b.orgId)).toBe(true);
      await replicaSql('SELECT pg_wal_replay_pause()');
      try {
        // Something to replay: the primary moves on, the paused replica falls behind.
        await until(async () => {
          await t.db.admin.query('SELECT txid_current()');
          return /lagging \d+ ms, more than AGENTBASE_REPLICA_MAX_LAG_MS \(200\)/.test(tight.replicaStatus()[0]!.error ?? '');
        }, 'the replica to be reported lagging');
        expect(tight.replicaStatus()[0]).toMatchObject({ healthy: false });
        expect(await served(tight, b.orgId)).toBe(false);
      } finally {
        await replicaSql('SELECT pg_wal_replay_resume()');
      }
      await caughtUp(tight);
      expect(await served(tight, b.orgId)).toBe(true);
    } finally {
      await tight.close();
    }
  });
});
