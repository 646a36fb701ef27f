import { Worker } from 'node:worker_threads';
import { stats, type Stats } from './bench-db.js';

/**
 * The load generator of the batch benchmark: `concurrency` keep-alive
 * connections, each posting the next prepared body as soon as its previous
 * answer arrives. It runs in a worker thread so the client's work (sending
 * and parsing answers) does not share the server's event loop, like
 * autocannon in identity-bench; autocannon itself is not used because it
 * cycles one fixed list of requests per connection, which would repeat
 * client ids. The worker is plain JavaScript passed as source (`eval`)
 * because worker threads do not inherit tsx's TypeScript loader on Node 20.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, authorization, bodies, concurrency } = workerData;
(async () => {
  let next = 0, accepted = 0, notAccepted = 0, firstProblem = null;
  const latencies = [];
  const lane = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const t = performance.now();
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body });
      const text = await res.text();
      latencies.push(performance.now() - t);
      if (res.status !== 200) throw new Error('HTTP ' + res.status + ': ' + text.slice(0, 500));
      const r = JSON.parse(text);
      accepted += r.accepted;
      notAccepted += r.duplicate + r.rejected;
      if (!firstProblem && (r.duplicate || r.rejected)) firstProblem = r.results.find((x) => x.status !== 'accepted');
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, lane));
  parentPort.postMessage({ ms: performance.now() - t0, accepted, notAccepted, firstProblem, latencies });
})().catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
`;

export interface SendResult {
  seconds: number;
  accepted: number;
  latency: Stats;
}

/** Posts every body to url and returns the wall time from the first request to the last answer. */
export function sendBatches(url: string, authorization: string, bodies: string[], concurrency: number): Promise<SendResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { url, authorization, bodies, concurrency } });
    w.once('error', reject);
    w.once('message', (m: { error?: string; ms: number; accepted: number; notAccepted: number; firstProblem: unknown; latencies: number[] }) => {
      void w.terminate();
      if (m.error) return reject(new Error(`batch client: ${m.error}`));
      if (m.notAccepted) return reject(new Error(`batch client: ${m.notAccepted} items not accepted, e.g. ${JSON.stringify(m.firstProblem)}`));
      resolve({ seconds: m.ms / 1000, accepted: m.accepted, latency: stats(m.latencies) });
    });
  });
}
