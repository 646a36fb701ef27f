/**
 * The worker process of the kill -9 test (crash.test.ts): runs the workflow
 * engine on the database named by CRASH_DB_URL, its tool and agent steps
 * calling the test's peer at CRASH_PEER_URL, until it is killed. Short leases
 * so a job held by a killed child is reclaimed within about a second.
 */
import { createDatabase, createPgDriver } from '../../src/db/index.js';
import { Worker } from '../../src/jobs/index.js';
import { workflowJobHandlers } from '../../src/workflows/index.js';
import { peerRunners } from './peer.js';

const url = process.env.CRASH_DB_URL;
const peerUrl = process.env.CRASH_PEER_URL;
if (!url || !peerUrl) throw new Error('set CRASH_DB_URL and CRASH_PEER_URL');

const db = createDatabase(createPgDriver({ connectionString: url, max: 4 }));
const worker = new Worker({
  db,
  handlers: workflowJobHandlers({ db, ...peerRunners(peerUrl) }),
  queues: ['workflows'],
  workerId: `crash-child-${process.pid}`,
  leaseMs: 1000,
  heartbeatMs: 250,
  pollIntervalMs: 50,
  prefetch: 0,
  concurrency: 2,
  onError: (err, info) => process.stderr.write(`worker ${info.operation}: ${String(err)}\n`),
});
worker.start();
process.stdout.write(`ready ${worker.id}\n`);
