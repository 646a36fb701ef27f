import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/config.js';
import { Worker } from '../../../src/jobs/index.js';
import { createService, type Service } from '../../../src/server.js';
import { client, ok } from '../../agents/fixtures.js';
import { signupUser, TEST_SECRET, type SignedUp } from '../../helpers/app.js';
import { freshDatabase, type TestDb } from '../../helpers/db.js';
import { until } from '../../helpers/until.js';
import { startReceiver, verifyStandardWebhook, type Receiver } from './receiver.js';

/**
 * A retry pending when the service stops is not lost: it is a job in the
 * database, and a new service on the same database delivers it.
 */

let db: TestDb;
let recv: Receiver;
beforeAll(async () => {
  db = await freshDatabase();
  recv = await startReceiver();
});
afterAll(async () => {
  await recv?.close();
  await db?.drop();
});

const config = () => parseConfig({
  AGENTBASE_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', AGENTBASE_MEMORY_EMBEDDER: 'hashed',
  AGENTBASE_WEBHOOKS_ALLOW_PRIVATE: 'true', AGENTBASE_WEBHOOK_RETRY_SCHEDULE: '0,3s',
});
const startWorker = (svc: Service) => {
  const w = new Worker({ db: db.db, handlers: svc.jobHandlers, pollIntervalMs: 20, prefetch: 0 });
  w.start();
  return w;
};

describe('webhook delivery across a restart', () => {
  it('delivers a retry that was pending when the service and its worker stopped', async () => {
    const first = await createService(config(), db.db, false);
    let worker = startWorker(first);
    const owner: SignedUp = await signupUser(first.app);
    const w = ok(await client({ app: first.app } as never).post('/v1/webhooks', owner.auth, { url: recv.url('/restart'), events: ['*'] }), 201);
    recv.respond = (_r, n) => (n === 1 ? 500 : 200);
    const { eventId } = ok(await client({ app: first.app } as never).post(`/v1/webhooks/${w.id}/test`, owner.auth), 202);

    // The first attempt failed and its retry is scheduled: stop everything now.
    await until(async () => {
      const r = await db.db.admin.query(`SELECT 1 FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'failed' AND next_retry_at IS NOT NULL`, [w.id]);
      return r.rows.length > 0;
    }, 'the failed first attempt');
    await worker.stop({ timeoutMs: 5000 });
    await first.close();
    expect(recv.received).toHaveLength(1);
    const pending = await db.db.admin.query(`SELECT 1 FROM background_jobs WHERE task = 'webhook.deliver' AND status = 'queued' AND payload->>'webhookId' = $1`, [w.id]);
    expect(pending.rows).toHaveLength(1);

    // A new service on the same database, and a worker: the retry arrives.
    const second = await createService(config(), db.db, false);
    worker = startWorker(second);
    try {
      await until(() => recv.received.length >= 2, 'the retried delivery', 30_000);
      const r = recv.received[1]!;
      expect(r.headers['webhook-id']).toBe(eventId);
      expect(verifyStandardWebhook(w.secret, r.headers, r.body)).toBe(true);
      const rows = await until(async () => {
        const d = ok(await client({ app: second.app } as never).get(`/v1/webhooks/${w.id}/deliveries`, owner.auth)).data;
        return d.length === 2 ? d : null;
      }, 'two delivery rows');
      expect(rows.map((d: { attemptNumber: number; status: string }) => [d.attemptNumber, d.status])).toEqual([[2, 'success'], [1, 'failed']]);
    } finally {
      await worker.stop({ timeoutMs: 5000 });
      await second.close();
    }
  });
});
